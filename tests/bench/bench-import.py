#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Import: `hangarctl import` against qemu-img convert, side by side.

usage: bench-import.py --hangarctl hangarctl [--qemu-img qemu-img|none] [--repeat N]
                       [--workdir DIR]

Three sources, made once per run of the benchmark:
- a 4 GiB streamOptimized VMDK (qemu-img convert -o subformat=streamOptimized) of a sparse
  raw disk: of every 16 MiB, the first MiB holds data (part random, part the text of files
  from /usr/share, so that deflate has something to do), 256 MiB of data in all;
- the same VMDK in an OVA (tests/library/import/make-ova.py);
- a 1 GiB raw disk of the same shape (64 MiB of data) compressed with xz.

Hangar imports each into a new VM of a scratch library (the disk becomes a qcow2, synced).
QEMU converts the VMDK with `qemu-img convert -t writeback -O qcow2`; for the xz file, which
qemu-img cannot read, the reference is what a user would type: `xz -dc` to a raw file, then
the same qemu-img convert (the time of both counted); for the OVA, `tar -xf` of its disk,
then the convert. Throughput is the virtual disk size
over the time. Runs are interleaved, sources in the page cache, outputs removed and
os.sync() called before each. Every result is compared with `qemu-img compare` against the
source once.
"""

import argparse
import os
import shutil
import subprocess
import sys
import time

import benchlib

VMDK_SIZE = 4 << 30
XZ_SIZE = 1 << 30
STRIDE = 16 << 20
DATA_CHUNK = 1 << 20
TARGET_VS_QEMU = 1.0  # throughput: at least qemu-img's


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--hangarctl', required=True, help='hangarctl binary')
    parser.add_argument('--qemu-img', default=shutil.which('qemu-img'),
                        help='qemu-img (default: from PATH; none: Hangar only)')
    parser.add_argument('--repeat', type=int, default=3,
                        help='runs per measurement (default %(default)s)')
    parser.add_argument('--workdir', default=None,
                        help='scratch directory on the disk to measure (default: a new one '
                             'in the current directory, removed afterwards)')
    args = parser.parse_args()
    args.hangarctl = os.path.abspath(args.hangarctl)
    if args.qemu_img in ('', 'none'):
        args.qemu_img = None
    args.qemu = args.qemu_img  # what benchlib.print_header looks at
    return args


def text_bytes(n):
    """n bytes of real text (compressible as disks are), from /usr/share."""
    out = bytearray()
    for root, _, files in os.walk('/usr/share/doc'):
        for name in files:
            path = os.path.join(root, name)
            if os.path.islink(path) or name.endswith('.gz'):
                continue
            try:
                with open(path, 'rb') as f:
                    out += f.read(n - len(out))
            except OSError:
                continue
            if len(out) >= n:
                return bytes(out)
    while len(out) < n:  # a tiny /usr/share/doc: repeat what there is
        out += out[:n - len(out)] or b'hangar import benchmark\n'
    return bytes(out)


def make_sparse_raw(path, size):
    """Of every STRIDE, the first MiB: half random, half text; the rest holes."""
    text = text_bytes(DATA_CHUNK // 2)
    with open(path, 'wb') as f:
        f.truncate(size)
        for offset in range(0, size, STRIDE):
            f.seek(offset)
            f.write(os.urandom(DATA_CHUNK // 2))
            f.write(text)
        f.flush()
        os.fsync(f.fileno())


def run_checked(argv, **kwargs):
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, **kwargs)
    benchlib.check_status(os.path.basename(argv[0]), proc.returncode, 0, proc.stderr)


def clear(*paths):
    for path in paths:
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.unlink(path)


class Importer:
    """hangarctl import into a scratch library; each run a new VM name."""

    def __init__(self, hangarctl, work):
        self.hangarctl = hangarctl
        self.library = work('library')
        self.env = dict(os.environ, HANGAR_LIBRARY=self.library)
        self.runs = 0

    def __call__(self, source):
        """Seconds for one import; returns (seconds, path of the disk it made)."""
        clear(self.library)
        os.sync()
        self.runs += 1
        name = f'imported-{self.runs}'
        start = time.perf_counter()
        run_checked([self.hangarctl, 'import', '--name', name, source], env=self.env)
        elapsed = time.perf_counter() - start
        found = [os.path.join(root, f) for root, _, files in os.walk(self.library)
                 for f in files if f == 'disk.qcow2']
        if len(found) != 1:
            raise benchlib.BenchError(f'hangarctl import: expected one disk.qcow2, found {found}')
        return elapsed, found[0]


def qemu_convert(qemu_img, source, fmt, output):
    clear(output)
    os.sync()
    start = time.perf_counter()
    run_checked([qemu_img, 'convert', '-t', 'writeback', '-f', fmt, '-O', 'qcow2', source,
                 output])
    return time.perf_counter() - start


def qemu_unxz_convert(qemu_img, source, unpacked, output):
    clear(unpacked, output)
    os.sync()
    start = time.perf_counter()
    with open(unpacked, 'wb') as out:
        proc = subprocess.run(['xz', '-dc', source], stdout=out, stderr=subprocess.PIPE)
    benchlib.check_status('xz -dc', proc.returncode, 0, proc.stderr)
    run_checked([qemu_img, 'convert', '-t', 'writeback', '-f', 'raw', '-O', 'qcow2', unpacked,
                 output])
    return time.perf_counter() - start


def qemu_untar_convert(qemu_img, ova, member, scratch, output):
    unpacked = os.path.join(scratch, member)
    clear(scratch, output)
    os.makedirs(scratch)
    os.sync()
    start = time.perf_counter()
    run_checked(['tar', '-C', scratch, '-xf', ova, member])
    run_checked([qemu_img, 'convert', '-t', 'writeback', '-f', 'vmdk', '-O', 'qcow2', unpacked,
                 output])
    return time.perf_counter() - start


def compare(qemu_img, reference, result):
    if qemu_img:
        run_checked([qemu_img, 'compare', '-q', reference, result])


def throughput(size, seconds):
    return [size / s for s in seconds]


def fmt_rate(bytes_per_s):
    return '—' if bytes_per_s is None else f'{bytes_per_s / (1 << 20):.0f} MiB/s'


def measure(table, label, size, hangar_run, qemu_run, repeat):
    h_times, q_times = [], []
    for _ in range(repeat):
        h_times.append(hangar_run())
        if qemu_run:
            q_times.append(qemu_run())
    h_rate = throughput(size, h_times)
    q_rate = throughput(size, q_times) if q_times else None
    passed = (benchlib.median(h_rate) >= TARGET_VS_QEMU * benchlib.median(q_rate)
              if q_rate else None)
    table.add(f'{label}: throughput', h_rate, q_rate, fmt=fmt_rate,
              target='≥ QEMU' if q_rate else '', passed=passed)
    table.add(f'{label}: time', h_times, q_times or None, fmt=benchlib.fmt_s)


def run():
    args = parse_args()
    with benchlib.Workdir(args.workdir, 'bench-import') as work:
        benchlib.print_header(
            'import to qcow2: 4 GiB streamOptimized VMDK (256 MiB data), alone and in an OVA; '
            '1 GiB raw .xz (64 MiB data)', args,
            ['Hangar: hangarctl import (a new VM, its disk a synced qcow2)',
             'QEMU: qemu-img convert -t writeback -O qcow2 (for .xz: xz -dc, then convert)'])
        if not args.qemu_img:
            raise benchlib.BenchError('qemu-img is needed to make the VMDK source')
        raw = work('source.raw')
        make_sparse_raw(raw, VMDK_SIZE)
        vmdk = work('source.vmdk')
        run_checked([args.qemu_img, 'convert', '-f', 'raw', '-O', 'vmdk', '-o',
                     'subformat=streamOptimized', raw, vmdk])
        clear(raw)
        ova = work('appliance.ova')
        make_ova = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'library',
                                'import', 'make-ova.py')
        run_checked([sys.executable, make_ova, ova, '--name', 'appliance', '--disk', vmdk])
        small = work('small.raw')
        make_sparse_raw(small, XZ_SIZE)
        run_checked(['xz', '-T2', '-3', '-k', small])
        packed = small + '.xz'

        importer = Importer(args.hangarctl, work)
        table = benchlib.Table()
        q_out, unpacked = work('qemu.qcow2'), work('unpacked.raw')
        last = {}

        def hangar(source):
            def one():
                seconds, last['disk'] = importer(source)
                return seconds
            return one

        measure(table, 'streamOptimized VMDK', VMDK_SIZE, hangar(vmdk),
                lambda: qemu_convert(args.qemu_img, vmdk, 'vmdk', q_out), args.repeat)
        compare(args.qemu_img, vmdk, last['disk'])
        measure(table, 'OVA (the same VMDK)', VMDK_SIZE, hangar(ova),
                lambda: qemu_untar_convert(args.qemu_img, ova, 'source.vmdk', work('untar'),
                                           q_out), args.repeat)
        compare(args.qemu_img, vmdk, last['disk'])
        measure(table, 'raw .xz', XZ_SIZE, hangar(packed),
                lambda: qemu_unxz_convert(args.qemu_img, packed, unpacked, q_out),
                args.repeat)
        compare(args.qemu_img, small, last['disk'])
        table.print()


if __name__ == '__main__':
    benchlib.main(run)
