#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Start to first guest instruction, Hangar and QEMU side by side.

usage: bench-start.py --engine hangar-engine --guest guest-first-instruction.elf
                      [--qemu qemu-system-x86_64|none] [--repeat N] [--workdir DIR]

The guest's first instructions write 0 to the debug-exit port, so the time from spawning the
VMM to its exit is start-up plus teardown (the guest itself does nothing).

- multiboot kernel (the target): hangar-engine --kernel vs qemu -M pc -kernel. QEMU loads a
  multiboot kernel through SeaBIOS and its multiboot option ROM, so its figure includes the
  firmware; -M microvm cannot load multiboot kernels.
- reset-vector firmware (VMM only): both start a 64 KiB firmware image whose reset vector
  exits at once, so neither runs firmware code: the VMMs' own start-up and teardown.
"""

import os

import benchlib

START_TARGET_S = 0.010  # at most 10 ms
START_TARGET_RATIO = 0.5  # and at most half of QEMU's


def reset_vector_image(path):
    """64 KiB (QEMU wants a multiple of 64 KiB) of HLT, with the reset vector at 0xFFF0
    (F000:FFF0, real mode): xor ax,ax; out 0xf4,al; hlt; jmp $-1."""
    image = bytearray(b'\xf4' * 65536)
    code = bytes([0x31, 0xc0, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd])
    image[0xfff0:0xfff0 + len(code)] = code
    with open(path, 'wb') as f:
        f.write(image)


def add_arguments(parser):
    parser.add_argument('--guest', required=True, help='guest-first-instruction.elf')


def run():
    args = benchlib.parse_args(__doc__.splitlines()[0], add_arguments, default_repeat=20)
    benchlib.print_header('start to first guest instruction (spawn to exit, 64 MiB, 1 vCPU)',
                          args, ['times include process teardown; QEMU -M pc loads multiboot '
                                 'through SeaBIOS (microvm cannot)'])
    with benchlib.Workdir(args.workdir, 'bench-start') as work:
        firmware = work('reset-vector.bin')
        reset_vector_image(firmware)
        hangar_kernel = [args.engine, '--kernel', args.guest, '--debug-exit', '--memory', '64']
        hangar_firmware = [args.engine, '--firmware', firmware, '--debug-exit', '--memory',
                           '64']
        n = args.repeat

        # One untimed run each first, so that no figure includes loading the binaries.
        benchlib.time_run(hangar_kernel)
        spawn = benchlib.repeat(n, lambda: benchlib.time_run(['true'], expected=0))
        h_kernel = benchlib.repeat(n, lambda: benchlib.time_run(hangar_kernel))
        h_firmware = benchlib.repeat(n, lambda: benchlib.time_run(hangar_firmware))
        q_kernel = q_firmware = None
        if args.qemu:
            qemu = benchlib.qemu_base(args.qemu, 64)
            qemu_kernel = qemu + ['-kernel', args.guest]
            qemu_firmware = qemu + ['-bios', firmware]
            benchlib.time_run(qemu_firmware)
            q_kernel = benchlib.repeat(n, lambda: benchlib.time_run(qemu_kernel))
            q_firmware = benchlib.repeat(n, lambda: benchlib.time_run(qemu_firmware))

    table = benchlib.Table()
    h = benchlib.median(h_kernel)
    q = benchlib.median(q_kernel)
    table.add('multiboot kernel: spawn to exit', h_kernel, q_kernel,
              target='≤ 10 ms and ≤ ½ QEMU',
              passed=h <= START_TARGET_S and (q is None or h <= START_TARGET_RATIO * q))
    h = benchlib.median(h_firmware)
    q = benchlib.median(q_firmware)
    table.add('reset-vector firmware: spawn to exit', h_firmware, q_firmware,
              target='≤ 10 ms and ≤ ½ QEMU',
              passed=h <= START_TARGET_S and (q is None or h <= START_TARGET_RATIO * q))
    table.add('(spawning /bin/true, for scale)', spawn)
    table.print()


if __name__ == '__main__':
    benchlib.main(run)
