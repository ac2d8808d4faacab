#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Start to first guest instruction, Hangar and QEMU side by side.

usage: bench-start.py --engine hangar-engine --guest guest-first-instruction.elf
                      [--qemu qemu-system-x86_64|none] [--repeat N] [--workdir DIR]

The guest's first instructions write a byte to COM1 and 0 to the debug-exit port. The VMM
runs with its serial port on stdout (a pipe) and is timed from spawning it to that byte (start
to first guest instructions) and to its exit (start-up and teardown).

- multiboot kernel (the target): hangar-engine --kernel vs qemu -M pc -kernel. QEMU loads a
  multiboot kernel through SeaBIOS and its multiboot option ROM, so its figure includes that
  firmware; -M microvm cannot load multiboot kernels.
- reset-vector firmware (VMM only): both start a 64 KiB firmware image whose reset vector does
  the same, so no firmware code runs: the VMMs' own start-up and teardown.
"""

import benchlib

START_TARGET_S = 0.010  # at most 10 ms
START_TARGET_RATIO = 0.5  # and at most half of QEMU's


def reset_vector_image(path):
    """64 KiB (QEMU wants a multiple of 64 KiB) of HLT with, at the reset vector F000:FFF0
    (real mode): mov dx,0x3f8; mov al,'!'; out dx,al; xor ax,ax; out 0xf4,al; hlt; jmp $-1."""
    image = bytearray(b'\xf4' * 65536)
    code = bytes([0xba, 0xf8, 0x03, 0xb0, 0x21, 0xee, 0x31, 0xc0, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd])
    image[0xfff0:0xfff0 + len(code)] = code
    with open(path, 'wb') as f:
        f.write(image)


def add_arguments(parser):
    parser.add_argument('--guest', required=True, help='guest-first-instruction.elf')


def measure(n, argv):
    """n runs after an untimed one (so that no figure includes loading the binaries); returns
    the times to the first guest output and to exit."""
    benchlib.time_output_and_run(argv)
    runs = benchlib.repeat(n, lambda: benchlib.time_output_and_run(argv))
    return [r[0] for r in runs], [r[1] for r in runs]


def add_rows(table, what, hangar, qemu):
    target = '≤ 10 ms and ≤ ½ QEMU'
    for i, label in enumerate(('spawn to first guest output', 'spawn to exit')):
        h = benchlib.median(hangar[i])
        q = benchlib.median(qemu[i]) if qemu else None
        table.add(f'{what}: {label}', hangar[i], qemu[i] if qemu else None, target=target,
                  passed=h <= START_TARGET_S and (q is None or h <= START_TARGET_RATIO * q))


def run():
    args = benchlib.parse_args(__doc__.splitlines()[0], add_arguments, default_repeat=20)
    benchlib.print_header('start to first guest instruction (64 MiB, 1 vCPU)', args,
                          ['to exit includes teardown; QEMU -M pc loads multiboot kernels '
                           'through SeaBIOS (microvm cannot)'])
    with benchlib.Workdir(args.workdir, 'bench-start') as work:
        firmware = work('reset-vector.bin')
        reset_vector_image(firmware)
        hangar = [args.engine, '--debug-exit', '--memory', '64', '--serial', 'stdio']
        h_kernel = measure(args.repeat, hangar + ['--kernel', args.guest])
        h_firmware = measure(args.repeat, hangar + ['--firmware', firmware])
        spawn = benchlib.repeat(args.repeat, lambda: benchlib.time_run(['true'], expected=0))
        q_kernel = q_firmware = None
        if args.qemu:
            qemu = benchlib.qemu_base(args.qemu, 64) + ['-serial', 'stdio']
            q_kernel = measure(args.repeat, qemu + ['-kernel', args.guest])
            q_firmware = measure(args.repeat, qemu + ['-bios', firmware])

    table = benchlib.Table()
    add_rows(table, 'multiboot kernel', h_kernel, q_kernel)
    add_rows(table, 'reset-vector firmware', h_firmware, q_firmware)
    table.add('(spawning /bin/true, for scale)', spawn)
    table.print()


if __name__ == '__main__':
    benchlib.main(run)
