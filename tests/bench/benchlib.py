# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared parts of the Hangar benchmarks (see README.md here).

Each benchmark runs Hangar and QEMU side by side, repeats every measurement, and prints one
table: metric, Hangar, QEMU, ratio (Hangar/QEMU), target, PASS or MISS. A MISS is printed,
never fatal: a benchmark exits non-zero only when a VMM did not do what was asked of it.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

DEBUG_EXIT_PASS = 1  # isa-debug-exit: the guest wrote 0, status (0 << 1) | 1


class BenchError(Exception):
    """A VMM misbehaved: the benchmark cannot go on."""


def parse_args(description, add_arguments=None, default_repeat=10):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--engine', required=True, help='hangar-engine binary')
    parser.add_argument('--qemu', default=shutil.which('qemu-system-x86_64'),
                        help='qemu-system-x86_64 (default: from PATH; none: Hangar only)')
    parser.add_argument('--repeat', type=int, default=default_repeat,
                        help='runs per measurement (default %(default)s)')
    parser.add_argument('--workdir', default=None,
                        help='scratch directory on the disk to measure (default: a new one '
                             'in the current directory, removed afterwards)')
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args()
    args.engine = os.path.abspath(args.engine)
    if getattr(args, 'guest', None):
        args.guest = os.path.abspath(args.guest)
    if args.qemu in ('', 'none'):
        args.qemu = None
    return args


class Workdir:
    """A scratch directory, on disk (not tmpfs) unless the caller says otherwise."""

    def __init__(self, path, name):
        self.owned = path is None
        self.path = tempfile.mkdtemp(prefix=name + '-', dir='.') if path is None else path
        self.path = os.path.abspath(self.path)
        os.makedirs(self.path, exist_ok=True)

    def __call__(self, *parts):
        return os.path.join(self.path, *parts)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.owned:
            shutil.rmtree(self.path, ignore_errors=True)


def kvm_kind():
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        return 'absent'
    if os.path.exists('/sys/module/kvm_pvm'):
        return 'kvm_pvm'
    return 'hardware'


def print_header(title, args, notes=()):
    print(f'== {title}')
    print(f'   host: {os.cpu_count()} CPUs, /dev/kvm: {kvm_kind()}; '
          f'{args.repeat} runs per measurement, median (min)')
    load = os.getloadavg()[0]
    if load > 0.5:
        print(f'   warning: load average {load:.1f}: the host is busy, timings are noisy '
              '(README.md)')
    if not args.qemu:
        print('   QEMU: not used (--qemu none, or not found): Hangar only')
    for note in notes:
        print(f'   {note}')


# QEMU's common options here: KVM, the PC machine, no default devices, and QEMU's
# isa-debug-exit at the port the engine uses. The default CPU model: -cpu host aborts on kvm_pvm
# (an MSR that KVM refuses, see /work/shared/FACTS.md).
def qemu_base(qemu, memory_mib, cpus=1):
    return [qemu, '-accel', 'kvm', '-M', 'pc', '-nodefaults', '-display', 'none',
            '-m', str(memory_mib), '-smp', str(cpus), '-no-reboot',
            '-device', 'isa-debug-exit,iobase=0xf4,iosize=4']


def check_status(what, status, expected=DEBUG_EXIT_PASS, stderr=b''):
    if status != expected:
        detail = stderr.decode(errors='replace').strip() if stderr else ''
        raise BenchError(f'{what}: exit status {status}, expected {expected}'
                         + (f': {detail}' if detail else ''))


def time_run(argv, expected=DEBUG_EXIT_PASS, timeout=120):
    """Seconds from spawning argv to its exit (the exit status checked)."""
    start = time.perf_counter()
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, timeout=timeout)
    elapsed = time.perf_counter() - start
    check_status(os.path.basename(argv[0]), proc.returncode, expected, proc.stderr)
    return elapsed


def time_output_and_run(argv, expected=DEBUG_EXIT_PASS):
    """Seconds from spawning argv to the first byte on its stdout (the guest's serial port),
    and to its exit."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=errors)
        first = proc.stdout.read(1)
        output = time.perf_counter() - start
        proc.stdout.read()  # to EOF: the VMM exits
        proc.wait()
        elapsed = time.perf_counter() - start
        proc.stdout.close()
        errors.seek(0)
        check_status(os.path.basename(argv[0]), proc.returncode, expected, errors.read())
    if not first:
        raise BenchError(f'{os.path.basename(argv[0])}: no guest output')
    return output, elapsed


def repeat(n, fn):
    return [fn() for _ in range(n)]


def wait_for(predicate, what, timeout=120, proc=None, interval=0.005):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise BenchError(f'{what}: the process exited with status {proc.returncode}')
        if time.monotonic() > deadline:
            raise BenchError(f'{what}: not within {timeout} s')
        time.sleep(interval)


def wait_for_line(path, prefix, proc=None, timeout=120):
    """The first line of a growing text file (a serial log) that starts with prefix."""
    def find():
        try:
            with open(path, errors='replace') as f:
                for line in f:
                    if line.startswith(prefix) and line.endswith('\n'):
                        return line.strip()
        except FileNotFoundError:
            pass
        return None
    return wait_for(find, f'"{prefix}" in {os.path.basename(path)}', timeout, proc)


def stop_process(proc, timeout=10):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class JsonLines:
    """A unix-socket client for one-JSON-object-per-line protocols (Hangar's and QMP)."""

    def __init__(self, path, proc=None, timeout=60):
        def connect():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                return s
            except (FileNotFoundError, ConnectionRefusedError):
                s.close()
                return None
        self.sock = wait_for(connect, f'socket {path}', timeout, proc)
        self.file = self.sock.makefile('rb')
        self.next_id = 1
        self.greeting = self.read()

    def read(self):
        line = self.file.readline()
        if not line:
            raise BenchError('control connection closed')
        return json.loads(line)

    def send(self, obj):
        self.sock.sendall(json.dumps(obj).encode() + b'\n')

    def execute(self, command, arguments=None):
        """Sends a command and returns its "return" member; events are skipped."""
        request = {'execute': command, 'id': self.next_id}
        self.next_id += 1
        if arguments is not None:
            request['arguments'] = arguments
        self.send(request)
        while True:
            reply = self.read()
            if reply.get('id') != request['id']:
                continue  # an event
            if 'error' in reply:
                raise BenchError(f'{command}: {reply["error"].get("desc")}')
            return reply['return']

    def close(self):
        self.file.close()
        self.sock.close()


class Qmp(JsonLines):
    def __init__(self, path, proc=None, timeout=60):
        super().__init__(path, proc, timeout)
        self.execute('qmp_capabilities')


# --- the result table ----------------------------------------------------------------------

def median(values):
    return statistics.median(values) if values else None


def fmt_ms(seconds):
    return '—' if seconds is None else f'{seconds * 1000:.1f} ms'


def fmt_s(seconds):
    return '—' if seconds is None else f'{seconds:.2f} s'


def fmt_mib(kib):
    return '—' if kib is None else f'{kib / 1024:.1f} MiB'


class Table:
    """Rows of metric | Hangar | QEMU | ratio | target | result.

    Values are lists of samples (median and min are shown) or single numbers; fmt turns one
    number into text. passed is True (PASS), False (MISS) or None (no target).
    """

    HEAD = ('metric', 'Hangar', 'QEMU', 'Hangar/QEMU', 'target', 'result')

    def __init__(self):
        self.rows = []
        self.misses = 0

    @staticmethod
    def cell(values, fmt):
        if values is None or values == []:
            return '—'
        if isinstance(values, list):
            if len(values) == 1:
                return fmt(values[0])
            return f'{fmt(median(values))} ({fmt(min(values))})'
        return fmt(values)

    def add(self, metric, hangar, qemu=None, fmt=fmt_ms, target='', passed=None):
        h = median(hangar) if isinstance(hangar, list) else hangar
        q = median(qemu) if isinstance(qemu, list) else qemu
        ratio = f'{h / q:.3f}' if h is not None and q else '—'
        result = '' if passed is None else ('PASS' if passed else 'MISS')
        if passed is False:
            self.misses += 1
        self.rows.append((metric, self.cell(hangar, fmt), self.cell(qemu, fmt), ratio, target,
                          result))

    def print(self):
        rows = [self.HEAD] + self.rows
        widths = [max(len(r[i]) for r in rows) for i in range(len(self.HEAD))]
        for n, row in enumerate(rows):
            print('  '.join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
            if n == 0:
                print('  '.join('-' * w for w in widths))
        print(f'{self.misses} target(s) missed' if self.misses else 'all targets met')


def main(run):
    """Runs a benchmark body; a BenchError is the only failure."""
    try:
        run()
    except (BenchError, OSError, subprocess.SubprocessError) as e:
        sys.stdout.flush()
        print(f'bench: FAILED: {e}', file=sys.stderr)
        sys.exit(1)
    sys.stdout.flush()
