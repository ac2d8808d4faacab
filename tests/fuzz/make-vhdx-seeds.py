#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Makes the VHDX fuzzer's seeds in OUTDIR (fuzz-vhdx-open.c's input form:
a flags byte, then page records for every 64 KiB page of the image that is
not all zeroes, trailing zeroes cut): dynamic and fixed images from
qemu-img, with data written by qemu-io in a few blocks.  The copies in
corpus/vhdx were made by this script; run it again to refresh them:
  tests/fuzz/make-vhdx-seeds.py tests/fuzz/corpus/vhdx
"""
import os
import struct
import subprocess
import sys
import tempfile

PAGE = 64 * 1024


def encode(image, fix_checksums):
    data = open(image, 'rb').read()
    out = bytearray([1 if fix_checksums else 0])
    for page in range(min(len(data) // PAGE, 256)):
        chunk = data[page * PAGE:(page + 1) * PAGE].rstrip(b'\0')
        # a record holds up to 65535 bytes: a full page is cut by one byte
        chunk = chunk[:0xffff]
        if chunk:
            out += struct.pack('<BH', page, len(chunk)) + chunk
    return bytes(out)


def main():
    outdir = os.path.abspath(sys.argv[1])
    os.makedirs(outdir, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        def run(*argv):
            subprocess.run(argv, check=True, cwd=scratch, stdout=subprocess.DEVNULL)
        run('qemu-img', 'create', '-q', '-f', 'vhdx', '-o', 'block_size=1M,log_size=1M',
            'dynamic.vhdx', '8M')
        run('qemu-io', '-f', 'vhdx', '-c', 'write -P 0x5a 0 4k', '-c', 'write -P 0x33 5M 8k',
            'dynamic.vhdx')
        run('qemu-img', 'create', '-q', '-f', 'vhdx', '-o', 'block_size=1M,log_size=1M',
            'empty.vhdx', '64M')
        run('qemu-img', 'create', '-q', '-f', 'vhdx', '-o',
            'subformat=fixed,block_size=1M,log_size=1M', 'fixed.vhdx', '2M')
        run('qemu-io', '-f', 'vhdx', '-c', 'write -P 0x77 1M 4k', 'fixed.vhdx')
        for name in ('dynamic', 'empty', 'fixed'):
            image = os.path.join(scratch, name + '.vhdx')
            for fix in (False, True):
                seed = os.path.join(outdir, f'{name}{"-fix" if fix else ""}.seed')
                with open(seed, 'wb') as f:
                    f.write(encode(image, fix))


if __name__ == '__main__':
    main()
