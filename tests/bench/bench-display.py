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

- VMM CPU: utime + stime - guest_time of the whole VMM process (/proc/PID/stat), so the
  guest's own drawing and spinning on the vCPU thread is not counted, divided by the number of
  updates. It includes the VMM's idle work over the phase (timers, 3 s in all).
- bytes: what the client received (message headers included), divided by the number of
  updates.

Targets: CPU per full-screen update no more than QEMU's; bytes per small change at most 1% of
one full screen (damage-only updates: a full 1920x1080 Raw frame is 8.3 MB, a 16x16 square
about 1 KiB, or 16x32 where a server tracks 16-pixel columns).

SPICE is not measured yet (see README.md).
"""

import os
import socket
import struct
import subprocess
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
                        self.updates += 1
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


def vmm_cpu(pid):
    """Seconds of CPU of the whole process outside the guest: utime + stime - guest_time."""
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    # After the ')': field 3 is fields[0]; utime 14, stime 15, guest_time 43.
    utime, stime, guest = int(fields[11]), int(fields[12]), int(fields[40])
    return (utime + stime - guest) / CLK_TCK, guest / CLK_TCK


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
            b, _, _ = client.counters()
            cpu, guest = vmm_cpu(proc.pid)
            marks.append((b, cpu, guest))

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
    (b0, c0, g0), (b1, c1, g1), (b2, c2, g2) = marks
    return ((c1 - c0) / FULL_UPDATES, (b1 - b0) / FULL_UPDATES,
            (c2 - c1) / SMALL_UPDATES, (b2 - b1) / SMALL_UPDATES, g2 - g0)


def measure(n, make_argv, work, label):
    runs = []
    for i in range(n):
        path = work(f'{label}-{i}.vnc')
        runs.append(one_run(make_argv(path), path, work, label))
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


def run():
    args = benchlib.parse_args(__doc__.splitlines()[0], add_arguments, default_repeat=3)
    benchlib.print_header('display over VNC: 1920x1080x32, Raw encoding, unix socket', args, [
        f'{FULL_UPDATES} full-screen repaints and {SMALL_UPDATES} 16x16 changes, 100 ms apart;',
        'CPU = VMM process utime+stime-guest_time over the phase / updates (10 ms ticks)',
        'SPICE: not measured (not done yet)'])
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

    def col(results, i):
        return results[i] if results else None

    table = benchlib.Table()
    h_cpu, q_cpu = benchlib.median(hangar[0]), qemu and benchlib.median(qemu[0])
    table.add('VNC: VMM CPU per full-screen update', hangar[0], col(qemu, 0), fmt=fmt_cpu,
              target='≤ QEMU', passed=None if not qemu else h_cpu <= CPU_RATIO_TARGET * q_cpu)
    table.add('VNC: bytes per full-screen update', hangar[1], col(qemu, 1), fmt=fmt_bytes,
              target=f'(one frame {fmt_bytes(FULL_FRAME_BYTES)})')
    table.add('VNC: VMM CPU per small change', hangar[2], col(qemu, 2), fmt=fmt_cpu)
    h_small = benchlib.median(hangar[3])
    table.add('VNC: bytes per 16x16 change', hangar[3], col(qemu, 3), fmt=fmt_bytes,
              target=f'≤ 1% of a frame ({fmt_bytes(SMALL_BYTES_TARGET)})',
              passed=h_small <= SMALL_BYTES_TARGET)
    table.add('(guest CPU over both phases, for scale)', hangar[4], col(qemu, 4), fmt=benchlib.fmt_s)
    table.print()


if __name__ == '__main__':
    benchlib.main(run)
