#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Image conversion: Hangar's hg_block_convert against qemu-img convert, side by side.

usage: bench-convert.py --convert convert-bench [--qemu-img qemu-img|none] [--repeat N]
                        [--workdir DIR]

The source is a 1 GiB raw image, sparse-ish: of every 2 MiB, the first MiB is random data
and the second a hole, so 512 MiB of data that neither side can compress or skip. Each run
converts it to a new file, Hangar with tests/bench/convert-bench (hg_block_convert, which
fsyncs the result before renaming it into place) and QEMU with
`qemu-img convert -t writeback` (qemu-img's default for convert is -t unsafe, which never
flushes; writeback flushes at the end, as Hangar does). Runs are interleaved, the source in
the page cache, the earlier output removed and os.sync() called before each. Measured to
qcow2 (64 KiB clusters on both sides) and to raw; the outputs are compared with
`qemu-img compare` once, and their allocated sizes reported.
"""

import argparse
import os
import shutil
import subprocess
import time

import benchlib

IMAGE_SIZE = 1 << 30
DATA_CHUNK = 1 << 20
TARGET_VS_QEMU = 1.25


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--convert', required=True, help='convert-bench binary')
    parser.add_argument('--qemu-img', default=shutil.which('qemu-img'),
                        help='qemu-img (default: from PATH; none: Hangar only)')
    parser.add_argument('--repeat', type=int, default=5,
                        help='runs per measurement (default %(default)s)')
    parser.add_argument('--workdir', default=None,
                        help='scratch directory on the disk to measure (default: a new one '
                             'in the current directory, removed afterwards)')
    args = parser.parse_args()
    args.convert = os.path.abspath(args.convert)
    if args.qemu_img in ('', 'none'):
        args.qemu_img = None
    args.qemu = args.qemu_img  # what benchlib.print_header looks at
    return args


def make_source(path):
    """1 GiB: each even MiB random, each odd MiB a hole."""
    with open(path, 'wb') as f:
        f.truncate(IMAGE_SIZE)
        for offset in range(0, IMAGE_SIZE, 2 * DATA_CHUNK):
            f.seek(offset)
            f.write(os.urandom(DATA_CHUNK))
        f.flush()
        os.fsync(f.fileno())


def remove(path):
    if os.path.exists(path):
        os.unlink(path)


def timed_run(argv, output):
    """Seconds argv takes, output removed and earlier writes synced first."""
    remove(output)
    os.sync()
    start = time.perf_counter()
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    benchlib.check_status(os.path.basename(argv[0]), proc.returncode, 0, proc.stderr)
    return elapsed


def allocated_kib(path):
    return os.stat(path).st_blocks * 512 / 1024


def run():
    args = parse_args()
    with benchlib.Workdir(args.workdir, 'bench-convert') as work:
        benchlib.print_header(
            'image conversion, 1 GiB raw (512 MiB random data, 512 MiB holes)', args,
            ['Hangar: hg_block_convert (convert-bench); QEMU: qemu-img convert -t writeback',
             'source in the page cache; each output synced'])
        source = work('source.raw')
        make_source(source)
        table = benchlib.Table()
        for fmt in ('qcow2', 'raw'):
            h_out, q_out = work('hangar.' + fmt), work('qemu.' + fmt)
            hangar_argv = [args.convert, source, h_out, fmt]
            qemu_argv = ([args.qemu_img, 'convert', '-t', 'writeback', '-f', 'raw', '-O', fmt,
                          source, q_out] if args.qemu_img else None)
            h_times, q_times = [], []
            for _ in range(args.repeat):
                h_times.append(timed_run(hangar_argv, h_out))
                if qemu_argv:
                    q_times.append(timed_run(qemu_argv, q_out))
            h_kib = allocated_kib(h_out)
            q_kib = allocated_kib(q_out) if qemu_argv else None
            if qemu_argv:
                compare = subprocess.run([args.qemu_img, 'compare', '-q', h_out, q_out])
                benchlib.check_status('qemu-img compare', compare.returncode, 0)
            h_med = benchlib.median(h_times)
            q_med = benchlib.median(q_times)
            table.add(f'raw → {fmt}: time', h_times, q_times or None, fmt=benchlib.fmt_s,
                      target=f'≤ {TARGET_VS_QEMU} × QEMU' if q_times else '',
                      passed=h_med <= TARGET_VS_QEMU * q_med if q_times else None)
            table.add(f'raw → {fmt}: allocated', h_kib, q_kib, fmt=benchlib.fmt_mib)
            remove(h_out)
            remove(q_out)
        table.print()


if __name__ == '__main__':
    benchlib.main(run)
