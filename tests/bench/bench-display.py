#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Display servers: VMM CPU per full-screen update and bytes per small change, Hangar and QEMU.

usage: bench-display.py --engine hangar-engine --guest guest-vbe-bench.elf
                        [--qemu qemu-system-x86_64|none] [--repeat N] [--workdir DIR]

The guest (tests/guests/vbe-bench.c) sets the std-VGA to 1920x1080x32 through the Bochs DISPI
ports, then, in two phases paced by the TSC at CPL3 (no VM exits): 20 repaints of the whole
screen 100 ms apart, and 20 changes of a 16x16 square 100 ms apart; it idles 1 s after each
phase and prints a line. A minimal RFB client (below: RFB 3.8, no authentication, Raw encoding
and the DesktopSize pseudo-encoding, 32-bit pixels) is connected over the VMM's unix socket
(Hangar --vnc PATH, QEMU -vnc unix:PATH) and keeps one incremental FramebufferUpdateRequest
outstanding, as viewers do. Per phase:

- VMM CPU: run time (/proc/PID/task/TID/schedstat) of the VMM's threads other than the vCPU
  threads (those with a guest_time): the guest's own drawing and spinning is not counted, and
  it makes no VM exits during the phases. It includes the VMM's idle work over the phase
  (timers; each phase is 3 s). Full-screen phase: divided by the full screens the client
  received (pixels / 1920x1080; a VMM may coalesce repaints); small phase: by the 20 changes.
- bytes: what the client received (message headers included), per full screen received, and
  per non-empty update received in the small phase.

Targets: CPU per full-screen update no more than QEMU's; bytes per small change at most 1% of
one full screen (damage-only updates: a full 1920x1080 Raw frame is 8.3 MB, a 16x16 square
about 1 KiB, or 16x32 where a server tracks 16-pixel columns).

SPICE, the same phases with spice-client-glib as the client (through PyGObject, in a child
process run by /usr/bin/python3 when this python3 lacks gi; package gir1.2-spiceclientglib-2.0)
on the VMM's unix socket (Hangar --spice PATH, QEMU -spice unix=on,addr=PATH,
disable-ticketing=on): full screens shown = display-invalidate pixels / 1920x1080; bytes are the
VMM's wchar (/proc/PID/io, every write(2): the SPICE socket's plus a few serial bytes). Compression: each VMM's
default. Without the client library (or --no-spice),
VNC only.
"""

import os
import socket
import struct
import subprocess
import sys
import threading
import time

import benchlib

WIDTH, HEIGHT = 1920, 1080
FULL_UPDATES = 20  # as in vbe-bench.c
SMALL_UPDATES = 20
FULL_FRAME_BYTES = WIDTH * HEIGHT * 4
CPU_RATIO_TARGET = 1.0
SMALL_BYTES_TARGET = FULL_FRAME_BYTES // 100
CLK_TCK = os.sysconf('SC_CLK_TCK')

ENCODING_RAW = 0
ENCODING_DESKTOP_SIZE = -223


class RfbClient:
    """RFB 3.8, security None, Raw + DesktopSize; a thread reads updates, counts bytes and
    asks for the next incremental update after each one."""

    def __init__(self, path, proc, timeout=60):
        def connect():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                return s
            except (FileNotFoundError, ConnectionRefusedError):
                s.close()
                return None
        self.sock = benchlib.wait_for(connect, f'VNC socket {path}', timeout, proc)
        self.sock.settimeout(timeout)
        self.file = self.sock.makefile('rb', buffering=1 << 20)
        self.lock = threading.Lock()
        self.bytes = 0
        self.updates = 0
        self.pixels = 0
        self.last_receive = time.monotonic()
        self.error = None
        self.closing = False
        self.handshake()
        self.thread = threading.Thread(target=self.reader, daemon=True)
        self.thread.start()

    def read(self, n):
        data = self.file.read(n)
        if len(data) != n:
            raise benchlib.BenchError('VNC: connection closed')
        return data

    def handshake(self):
        version = self.read(12)
        if not version.startswith(b'RFB 003.'):
            raise benchlib.BenchError(f'VNC: not an RFB server: {version!r}')
        self.sock.sendall(b'RFB 003.008\n')
        count = self.read(1)[0]
        if count == 0:
            raise benchlib.BenchError('VNC: server refused the connection')
        if 1 not in self.read(count):
            raise benchlib.BenchError('VNC: no "None" security type')
        self.sock.sendall(b'\x01')
        if struct.unpack('>I', self.read(4))[0] != 0:
            raise benchlib.BenchError('VNC: security handshake failed')
        self.sock.sendall(b'\x01')  # ClientInit: shared
        self.width, self.height = struct.unpack('>HH', self.read(4))
        self.read(16)  # the server's pixel format
        self.read(struct.unpack('>I', self.read(4))[0])  # name
        # SetPixelFormat: 32 bpp, depth 24, little endian, true colour, XRGB.
        self.sock.sendall(struct.pack('>BxxxBBBBHHHBBBxxx', 0, 32, 24, 0, 1,
                                      255, 255, 255, 16, 8, 0))
        encodings = (ENCODING_RAW, ENCODING_DESKTOP_SIZE)
        self.sock.sendall(struct.pack(f'>BxH{len(encodings)}i', 2, len(encodings), *encodings))
        self.request(incremental=False)

    def request(self, incremental=True):
        self.sock.sendall(struct.pack('>BBHHHH', 3, int(incremental), 0, 0,
                                      self.width, self.height))

    def reader(self):
        try:
            while True:
                kind = self.read(1)[0]
                size = 1
                if kind == 0:  # FramebufferUpdate
                    (count,) = struct.unpack('>xH', self.read(3))
                    size += 3
                    pixels = 0
                    resized = False
                    for _ in range(count):
                        x, y, w, h, encoding = struct.unpack('>HHHHi', self.read(12))
                        size += 12
                        if encoding == ENCODING_RAW:
                            left = w * h * 4
                            size += left
                            pixels += w * h
                            while left:
                                left -= len(self.read(min(left, 1 << 20)))
                        elif encoding == ENCODING_DESKTOP_SIZE:
                            self.width, self.height = w, h
                            resized = True
                        else:
                            raise benchlib.BenchError(f'VNC: unexpected encoding {encoding}')
                    with self.lock:
                        self.bytes += size
                        self.updates += pixels > 0
                        self.pixels += pixels
                        self.last_receive = time.monotonic()
                    self.request(incremental=not resized)
                    continue
                if kind == 1:  # SetColourMapEntries
                    _, _, n = struct.unpack('>BHH', self.read(5))
                    self.read(6 * n)
                    size += 5 + 6 * n
                elif kind == 2:  # Bell
                    pass
                elif kind == 3:  # ServerCutText
                    (n,) = struct.unpack('>xxxI', self.read(7))
                    self.read(n)
                    size += 7 + n
                else:
                    raise benchlib.BenchError(f'VNC: unexpected message type {kind}')
                with self.lock:
                    self.bytes += size
                    self.last_receive = time.monotonic()
        except (benchlib.BenchError, OSError, ValueError) as e:
            if not self.closing:
                self.error = e

    def counters(self):
        if self.error:
            raise benchlib.BenchError(f'VNC client: {self.error}')
        with self.lock:
            return self.bytes, self.updates, self.pixels

    def wait_idle(self, quiet=0.3, timeout=30):
        """Until nothing arrived for quiet seconds."""
        def idle():
            self.counters()
            with self.lock:
                return time.monotonic() - self.last_receive >= quiet
        benchlib.wait_for(idle, 'VNC client idle', timeout, interval=0.02)

    def close(self):
        self.closing = True
        self.sock.shutdown(socket.SHUT_RDWR)
        self.thread.join(5)
        self.file.close()
        self.sock.close()


def task_stat(pid, tid):
    with open(f'/proc/{pid}/task/{tid}/stat') as f:
        return f.read().rsplit(')', 1)[1].split()


def vmm_cpu(pid):
    """(VMM CPU, guest CPU) in seconds. VMM CPU is the run time (schedstat, nanoseconds) of
    every thread that never ran the guest (guest_time 0): vCPU threads are left out, as the
    guest's drawing and spinning is theirs and the guest makes no VM exits in the phases.
    Guest CPU is the process's guest_time (ticks)."""
    engine = 0
    for tid in os.listdir(f'/proc/{pid}/task'):
        try:
            # After the ')': field 3 is [0]; guest_time is field 43.
            if int(task_stat(pid, tid)[40]) == 0:
                with open(f'/proc/{pid}/task/{tid}/schedstat') as f:
                    engine += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that just ended
    with open(f'/proc/{pid}/stat') as f:
        guest = int(f.read().rsplit(')', 1)[1].split()[40])
    return engine / 1e9, guest / CLK_TCK


def one_run(argv, socket_path, work, label):
    """Runs the guest once with a client attached; returns (CPU s per full update,
    bytes per full update, CPU s per small change, bytes per small change, guest s)."""
    serial = work(f'{label}-serial.log')
    with open(serial, 'wb') as out, open(work(f'{label}-stderr.log'), 'wb') as err:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=out, stderr=err)
    client = None
    try:
        benchlib.wait_for_line(serial, 'mode set', proc, timeout=120)
        client = RfbClient(socket_path, proc)
        # The first, full picture at 1920x1080.
        benchlib.wait_for(lambda: client.counters()[2] >= WIDTH * HEIGHT
                          and (client.width, client.height) == (WIDTH, HEIGHT),
                          f'{label}: first 1920x1080 picture over VNC', 60, proc)
        client.wait_idle()
        marks = []

        def mark():
            marks.append(client.counters() + vmm_cpu(proc.pid))

        def step(line):
            proc.stdin.write(b'n')
            proc.stdin.flush()
            benchlib.wait_for_line(serial, line, proc, timeout=120)
            client.wait_idle()
            mark()

        mark()
        step('full done')
        step('small done')
        proc.stdin.write(b'n')
        proc.stdin.flush()
        proc.wait(60)
        benchlib.check_status(label, proc.returncode)
    finally:
        if client:
            client.close()
        benchlib.stop_process(proc)
    (b0, u0, p0, c0, g0), (b1, u1, p1, c1, g1), (b2, u2, p2, c2, g2) = marks
    frames = (p1 - p0) / (WIDTH * HEIGHT)  # full screens' worth of pixels received
    small = u2 - u1
    return (frames, (c1 - c0) / frames if frames else None, (b1 - b0) / frames if frames else None,
            small, (c2 - c1) / SMALL_UPDATES, (b2 - b1) / small if small else None, g2 - g0)


def measure(n, make_argv, work, label):
    runs = []
    for i in range(n):
        path = work(f'{label}-{i}.vnc')
        runs.append(one_run(make_argv(path), path, work, label))
    return [list(column) for column in zip(*runs)]



# A SPICE client (spice-client-glib through PyGObject) run as a child process, as the
# benchmark's own python3 may lack gi: it connects to a unix socket, prints "primary W H" when
# the display's primary surface exists, then counts display-invalidate events and their pixels;
# each line on stdin is answered with "count EVENTS PIXELS".
SPICE_CLIENT = r"""
import sys
import gi
gi.require_version('SpiceClientGLib', '2.0')
from gi.repository import GLib, GObject, SpiceClientGLib

state = {'events': 0, 'pixels': 0}
session = SpiceClientGLib.Session()
session.set_property('unix-path', sys.argv[1])
keep = []

def on_primary(channel, fmt, width, height, stride, shmid, imgdata):
    print('primary', width, height, flush=True)

def on_invalidate(channel, x, y, w, h):
    state['events'] += 1
    state['pixels'] += w * h

def on_channel(session, channel):
    keep.append(channel)
    if isinstance(channel, SpiceClientGLib.DisplayChannel):
        state['display'] = channel
        # Session.connect and Channel.connect are SPICE's own: signals go through GObject's.
        GObject.Object.connect(channel, 'display-primary-create', on_primary)
        GObject.Object.connect(channel, 'display-invalidate', on_invalidate)
    channel.connect()

def on_stdin(source, condition):
    line = sys.stdin.readline()
    if not line:
        loop.quit()
        return False
    print('count', state['events'], state['pixels'], flush=True)
    return True

GObject.Object.connect(session, 'channel-new', on_channel)
if not session.connect():
    sys.exit('cannot connect')
loop = GLib.MainLoop()
GLib.io_add_watch(sys.stdin, GLib.IO_IN | GLib.IO_HUP, on_stdin)
loop.run()
"""


def spice_python(own=None):
    """A python3 that has PyGObject and SpiceClientGLib (package gir1.2-spiceclientglib-2.0),
    or None."""
    check = ("import gi; gi.require_version('SpiceClientGLib', '2.0'); "
             "from gi.repository import SpiceClientGLib")
    for python in (sys.executable, '/usr/bin/python3'):
        if python and os.path.exists(python) and subprocess.run(
                [python, '-c', check], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL).returncode == 0:
            return python
    return None


class SpiceClient:
    def __init__(self, python, path, proc, timeout=60):
        benchlib.wait_for(lambda: os.path.exists(path), f'SPICE socket {path}', timeout, proc)
        self.child = subprocess.Popen([python, '-c', SPICE_CLIENT, path], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)
        self.width = self.height = 0

    def primary(self):
        self.counters()
        return self.width, self.height

    def counters(self):
        self.child.stdin.write('\n')
        self.child.stdin.flush()
        while True:
            line = self.child.stdout.readline()
            if not line:
                raise benchlib.BenchError('SPICE client exited')
            if line.startswith('primary'):
                self.width, self.height = map(int, line.split()[1:])
                continue
            _, events, pixels = line.split()
            return int(events), int(pixels)

    def wait_idle(self, quiet=0.3, timeout=30):
        last = [self.counters(), time.monotonic()]

        def idle():
            now = self.counters()
            if now != last[0]:
                last[0], last[1] = now, time.monotonic()
            return time.monotonic() - last[1] >= quiet
        benchlib.wait_for(idle, 'SPICE client idle', timeout, interval=0.05)

    def close(self):
        self.child.stdin.close()
        try:
            self.child.wait(5)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait()


def bytes_written(pid):
    """wchar of /proc/PID/io: every byte the VMM wrote (the SPICE socket's, and a few others)."""
    with open(f'/proc/{pid}/io') as f:
        for line in f:
            if line.startswith('wchar:'):
                return int(line.split()[1])
    raise benchlib.BenchError('no wchar in /proc/PID/io')


def spice_run(python, argv, socket_path, work, label):
    """One guest run with the SPICE client; returns (full screens shown, CPU per full screen
    shown, bytes per full screen shown, CPU per small change, bytes per small change)."""
    serial = work(f'{label}-serial.log')
    with open(serial, 'wb') as out, open(work(f'{label}-stderr.log'), 'wb') as err:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=out, stderr=err)
    client = None
    try:
        benchlib.wait_for_line(serial, 'mode set', proc, timeout=120)
        client = SpiceClient(python, socket_path, proc)
        benchlib.wait_for(lambda: client.primary() == (WIDTH, HEIGHT),
                          f'{label}: a 1920x1080 SPICE primary surface', 60, proc)
        client.wait_idle()
        marks = []

        def mark():
            marks.append(client.counters() + (bytes_written(proc.pid),) + vmm_cpu(proc.pid))

        def step(line):
            proc.stdin.write(b'n')
            proc.stdin.flush()
            benchlib.wait_for_line(serial, line, proc, timeout=120)
            client.wait_idle()
            mark()

        mark()
        step('full done')
        step('small done')
        proc.stdin.write(b'n')
        proc.stdin.flush()
        proc.wait(60)
        benchlib.check_status(label, proc.returncode)
    finally:
        if client:
            client.close()
        benchlib.stop_process(proc)
    (_, p0, b0, c0, _), (_, p1, b1, c1, _), (_, p2, b2, c2, _) = marks
    frames = (p1 - p0) / (WIDTH * HEIGHT)
    return (frames, (c1 - c0) / frames if frames else None, (b1 - b0) / frames if frames else None,
            (c2 - c1) / SMALL_UPDATES, (b2 - b1) / SMALL_UPDATES)


def spice_measure(n, python, make_argv, work, label):
    runs = []
    for i in range(n):
        path = work(f'{label}-{i}.spice')
        runs.append(spice_run(python, make_argv(path), path, work, label))
    return [list(column) for column in zip(*runs)]


def fmt_cpu(seconds):
    return '—' if seconds is None else f'{seconds * 1000:.1f} ms'


def fmt_bytes(n):
    if n is None:
        return '—'
    if n >= 1 << 20:
        return f'{n / (1 << 20):.2f} MiB'
    if n >= 1 << 10:
        return f'{n / 1024:.1f} KiB'
    return f'{n:.0f} B'


def add_arguments(parser):
    parser.add_argument('--guest', required=True, help='guest-vbe-bench.elf')
    parser.add_argument('--no-spice', action='store_true', help='measure VNC only')


def run():
    args = benchlib.parse_args(__doc__.splitlines()[0], add_arguments, default_repeat=3)
    benchlib.print_header('display over VNC and SPICE: 1920x1080x32, unix sockets', args, [
        f'{FULL_UPDATES} full-screen repaints and {SMALL_UPDATES} 16x16 changes, 100 ms apart;',
        'CPU = run time of the VMM threads other than vCPUs over the phase / updates',
        'SPICE: client spice-client-glib (PyGObject) on a unix socket; bytes = VMM wchar'])
    with benchlib.Workdir(args.workdir, 'bench-display') as work:
        hangar = measure(args.repeat, lambda path: [
            args.engine, '--debug-exit', '--memory', '64', '--serial', 'stdio',
            '--kernel', args.guest, '--vnc', path], work, 'hangar')
        qemu = None
        if args.qemu:
            qemu = measure(args.repeat, lambda path: [
                args.qemu, '-accel', 'kvm', '-M', 'pc', '-nodefaults', '-display', 'none',
                '-vga', 'std', '-m', '64', '-no-reboot',
                '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-serial', 'stdio',
                '-kernel', args.guest, '-vnc', f'unix:{path}'], work, 'qemu')
        python = None if args.no_spice else spice_python()
        h_spice = q_spice = None
        if python:
            h_spice = spice_measure(args.repeat, python, lambda path: [
                args.engine, '--debug-exit', '--memory', '64', '--serial', 'stdio',
                '--kernel', args.guest, '--spice', path], work, 'hangar-spice')
            if args.qemu:
                q_spice = spice_measure(args.repeat, python, lambda path: [
                    args.qemu, '-accel', 'kvm', '-M', 'pc', '-nodefaults', '-display', 'none',
                    '-vga', 'std', '-m', '64', '-no-reboot',
                    '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-serial', 'stdio',
                    '-kernel', args.guest,
                    '-spice', f'unix=on,addr={path},disable-ticketing=on'], work, 'qemu-spice')

    def col(results, i):
        return [v for v in results[i] if v is not None] if results else None

    def med(results, i):
        return benchlib.median(col(results, i)) if results else None

    table = benchlib.Table()
    table.add(f'VNC: full screens received (guest drew {FULL_UPDATES})', col(hangar, 0),
              col(qemu, 0), fmt=lambda v: f'{v:.1f}')
    h_cpu, q_cpu = med(hangar, 1), med(qemu, 1)
    table.add('VNC: VMM CPU per full screen sent', col(hangar, 1), col(qemu, 1), fmt=fmt_cpu,
              target='≤ QEMU',
              passed=None if h_cpu is None or q_cpu is None else h_cpu <= CPU_RATIO_TARGET * q_cpu)
    table.add('VNC: bytes per full screen sent', col(hangar, 2), col(qemu, 2), fmt=fmt_bytes,
              target=f'(Raw frame {fmt_bytes(FULL_FRAME_BYTES)})')
    table.add(f'VNC: small-change updates received (guest made {SMALL_UPDATES})', col(hangar, 3),
              col(qemu, 3), fmt=lambda v: f'{v:.0f}')
    table.add('VNC: VMM CPU per small change (guest side)', col(hangar, 4), col(qemu, 4),
              fmt=fmt_cpu)
    h_small = med(hangar, 5)
    table.add('VNC: bytes per small-change update', col(hangar, 5), col(qemu, 5), fmt=fmt_bytes,
              target=f'≤ 1% of a frame ({fmt_bytes(SMALL_BYTES_TARGET)})',
              passed=None if h_small is None else h_small <= SMALL_BYTES_TARGET)
    table.add('(guest CPU over both phases, for scale)', col(hangar, 6), col(qemu, 6),
              fmt=benchlib.fmt_s)
    if h_spice:
        table.add(f'SPICE: full screens shown (guest drew {FULL_UPDATES})', col(h_spice, 0),
                  col(q_spice, 0), fmt=lambda v: f'{v:.1f}')
        h_cpu, q_cpu = med(h_spice, 1), med(q_spice, 1)
        table.add('SPICE: VMM CPU per full screen shown', col(h_spice, 1), col(q_spice, 1),
                  fmt=fmt_cpu, target='≤ QEMU',
                  passed=None if h_cpu is None or q_cpu is None else h_cpu <= CPU_RATIO_TARGET * q_cpu)
        table.add('SPICE: bytes written per full screen shown', col(h_spice, 2), col(q_spice, 2),
                  fmt=fmt_bytes)
        table.add('SPICE: VMM CPU per small change', col(h_spice, 3), col(q_spice, 3),
                  fmt=fmt_cpu)
        h_small = med(h_spice, 4)
        table.add('SPICE: bytes written per small change', col(h_spice, 4), col(q_spice, 4),
                  fmt=fmt_bytes, target=f'≤ 1% of a frame ({fmt_bytes(SMALL_BYTES_TARGET)})',
                  passed=None if h_small is None else h_small <= SMALL_BYTES_TARGET)
    table.print()
    if not h_spice:
        print('SPICE: not measured: ' + ('--no-spice' if args.no_spice else
              'no python3 with gi and SpiceClientGLib (gir1.2-spiceclientglib-2.0)'))


if __name__ == '__main__':
    benchlib.main(run)
