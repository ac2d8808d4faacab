#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""qcow2 throughput, Hangar's block path against QEMU's block layer, side by side.

usage: bench-qcow2-io.py --bench qcow2-io-bench [--qemu-img qemu-img|none] [--repeat N]
                         [--depth N] [--workdir DIR]

Hangar's side is tests/bench/qcow2-io-bench: the engine's own block queue (engine/block_queue.c,
its worker threads calling hg_block_readv/writev of library/block, completions on the main
loop under the device lock, each completion submitting the next request, the buffers in guest
RAM), in a machine made in harness mode (no KVM, no guest: the queue needs only the machine's
device lock). QEMU's side is `qemu-img bench` (QEMU's block layer, its coroutines and its
thread pool, `-i threads`). Both take the same options and issue the same requests in the same
order: COUNT requests of SIZE bytes, DEPTH in flight, each STEP bytes after the previous one,
modulo the image size.

Cache mode: the host page cache on both sides (QEMU `-t writeback`; Hangar opens images without
O_DIRECT), nothing flushed inside the timed part; each tool times from its first submission to
its last completion, opening and closing the image (where both flush) outside it. Earlier runs'
dirty pages are written back (os.sync) before each run, and the runs are interleaved.

Workloads, on 1 GiB qcow2 images with 64 KiB clusters (all created by hg_block_create_qcow2, a
fresh copy of one empty image wherever a run allocates):
- sequential read, 1 MiB requests, 4 GiB read (the image 4 times) from a full image, cached;
- sequential write, 1 MiB requests, 1 GiB on a fresh image: every cluster allocated;
- 4 KiB "random" read and overwrite: neither qemu-img bench nor qemu-io has random offsets, so
  both sides use a stride: STEP an odd multiple of 4 KiB (about 0.618 of the image) makes
  consecutive requests land far apart, in different clusters and L2 ranges, without ever
  repeating an offset; 65536 requests over the full image;
- 4 KiB random write, allocating: the stride an odd multiple of 64 KiB, 16384 requests on a
  fresh image, so that each request allocates a cluster of its own (4 KiB of data, the rest
  of the cluster zero).
The images both sides wrote on fresh images are compared with `qemu-img compare` once.
"""

import argparse
import os
import re
import shutil
import subprocess

import benchlib

IMAGE_SIZE = 1 << 30
CLUSTER = 64 << 10
PATTERN = 0x5a
TARGET_VS_QEMU = 1.0
# Odd multipliers near 0.618 of the number of slots: consecutive requests far apart.
STRIDE_4K = 162007 * 4096
STRIDE_CLUSTER = 10125 * CLUSTER

# name, write?, image ('full' or 'fresh'), size, count, step
WORKLOADS = [
    ('sequential read, 1 MiB', False, 'full', 1 << 20, 4096, 1 << 20),
    ('sequential write, 1 MiB, allocating', True, 'fresh', 1 << 20, 1024, 1 << 20),
    ('4 KiB random read', False, 'full', 4096, 65536, STRIDE_4K),
    ('4 KiB random write, allocating', True, 'fresh', 4096, IMAGE_SIZE // CLUSTER,
     STRIDE_CLUSTER),
    ('4 KiB random write, overwrite', True, 'full', 4096, 65536, STRIDE_4K),
]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--bench', required=True, help='qcow2-io-bench binary')
    parser.add_argument('--qemu-img', default=shutil.which('qemu-img'),
                        help='qemu-img (default: from PATH; none: Hangar only)')
    parser.add_argument('--repeat', type=int, default=5,
                        help='runs per measurement (default %(default)s)')
    parser.add_argument('--depth', type=int, default=16,
                        help='requests in flight (default %(default)s)')
    parser.add_argument('--workdir', default=None,
                        help='scratch directory on the disk to measure (default: a new one '
                             'in the current directory, removed afterwards)')
    args = parser.parse_args()
    args.bench = os.path.abspath(args.bench)
    if args.qemu_img in ('', 'none'):
        args.qemu_img = None
    args.qemu = args.qemu_img  # what benchlib.print_header looks at
    return args


def run_bench(argv):
    """Runs one qemu-img bench style command; returns its own "Run completed in" seconds."""
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    benchlib.check_status(os.path.basename(argv[0]), proc.returncode, 0, proc.stderr)
    match = re.search(rb'Run completed in ([0-9.]+) seconds', proc.stdout)
    if not match:
        raise benchlib.BenchError(f'{os.path.basename(argv[0])}: no run time in its output')
    return float(match.group(1))


def request_options(args, size, count, step, write):
    options = ['-c', str(count), '-d', str(args.depth), '-s', str(size), '-S', str(step)]
    return options + (['-w'] if write else [])


def hangar_argv(args, image, size, count, step, write):
    return ([args.bench] + request_options(args, size, count, step, write)
            + (['-p', str(PATTERN)] if write else []) + [image])


def qemu_argv(args, image, size, count, step, write):
    return ([args.qemu_img, 'bench', '-f', 'qcow2', '-t', 'writeback', '-i', 'threads', '-q']
            + request_options(args, size, count, step, write)
            + ([f'--pattern={PATTERN}'] if write else []) + [image])


def read_through(path):
    """Reads a file once, so that it is in the page cache."""
    with open(path, 'rb') as f:
        while f.read(1 << 20):
            pass


def run():
    args = parse_args()
    with benchlib.Workdir(args.workdir, 'bench-qcow2-io') as work:
        benchlib.print_header(
            f'qcow2 throughput, 1 GiB images, 64 KiB clusters, {args.depth} requests in flight',
            args,
            ['Hangar: engine/block_queue.c over library/block (qcow2-io-bench); QEMU: qemu-img '
             'bench -t writeback -i threads',
             'both through the host page cache, no flush in the timed part; '
             'throughput: median (slowest run)',
             '"random": a stride of about 0.618 × the image, the same offsets on both sides '
             '(no random mode in qemu-img bench)'])
        empty, full = work('empty.qcow2'), work('full.qcow2')
        subprocess.run([args.bench, '-C', str(IMAGE_SIZE), empty], check=True)
        shutil.copyfile(empty, full)
        run_bench(hangar_argv(args, full, 1 << 20, IMAGE_SIZE >> 20, 1 << 20, True))
        os.sync()
        read_through(full)

        table = benchlib.Table()
        for name, write, kind, size, count, step in WORKLOADS:
            mbytes = size * count / 1e6
            h_out, q_out = work('hangar.qcow2'), work('qemu.qcow2')
            h_rates, q_rates = [], []
            for n in range(args.repeat):
                for side, rates, out, make in (
                        ('hangar', h_rates, h_out, hangar_argv),
                        ('qemu', q_rates, q_out, qemu_argv)):
                    if side == 'qemu' and not args.qemu_img:
                        continue
                    image = full
                    if kind == 'fresh':
                        image = out
                        shutil.copyfile(empty, image)
                    os.sync()
                    rates.append(mbytes / run_bench(make(args, image, size, count, step, write)))
                if kind == 'fresh' and n == 0 and args.qemu_img:
                    compare = subprocess.run([args.qemu_img, 'compare', '-q', h_out, q_out])
                    benchlib.check_status(f'{name}: qemu-img compare', compare.returncode, 0)
            h_med, q_med = benchlib.median(h_rates), benchlib.median(q_rates)
            table.add(f'{name}', h_rates, q_rates or None,
                      fmt=lambda v: f'{v:.0f} MB/s',
                      target=f'≥ {TARGET_VS_QEMU:.1f} × QEMU' if q_rates else '',
                      passed=h_med >= TARGET_VS_QEMU * q_med if q_rates else None)
            if size == 4096:
                table.add('  (the same in IOPS)', h_rates, q_rates or None,
                          fmt=lambda v: f'{v * 1e6 / 4096 / 1000:.1f}k')
            for path in (h_out, q_out):
                if os.path.exists(path):
                    os.unlink(path)
        table.print()


if __name__ == '__main__':
    benchlib.main(run)
