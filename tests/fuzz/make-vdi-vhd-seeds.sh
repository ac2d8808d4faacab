#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Makes the VDI and VHD fuzzers' seed images in OUTDIR/vdi and OUTDIR/vhd,
# each under 64 KiB: empty ones and small fixed ones from qemu-img, and,
# since qemu-img only makes 1 MiB (VDI) and 2 MiB (VHD) blocks, dynamic ones
# with 4 KiB blocks written here (python3) so that data fits: blocks out of
# order, a zero block (VDI), sector bitmaps with clear bits (VHD).  The
# copies in corpus/ were made by this script; run it again to refresh them:
#   tests/fuzz/make-vdi-vhd-seeds.sh tests/fuzz/corpus
set -eu

out=${1:?usage: make-vdi-vhd-seeds.sh OUTDIR}
mkdir -p "$out/vdi" "$out/vhd"
out=$(cd "$out" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"

quiet() { "$@" > /dev/null; }

python3 -c "import sys; sys.stdout.buffer.write(bytes((i * 7 + (i >> 9)) & 255 for i in range(32768)))" > data.raw

qemu-img create -q -f vdi empty.vdi 64M
qemu-img create -q -f vpc -o subformat=dynamic empty.vhd 64M
qemu-img convert -f raw -O vpc -o subformat=fixed,force_size=on data.raw fixed.vhd

python3 - <<'PY'
import struct

BLOCK = 4096

def pattern(seed, n):
    return bytes((seed * 31 + i * 13) & 255 for i in range(n))

# VDI 1.1, 16 blocks of 4 KiB: blocks 5, 1 and 9 in slots 0, 1, 2; block 3
# zero; the rest free.
blocks = 16
header = bytearray(0x200)
header[0:40] = b"<<< Oracle VM VirtualBox Disk Image >>>\n"
struct.pack_into("<IIIII", header, 0x40, 0xbeda107f, 0x00010001, 0x190, 1, 0)
struct.pack_into("<II", header, 0x154, 0x200, 0x400)
struct.pack_into("<IIII", header, 0x15c, 0, 0, 0, 512)
struct.pack_into("<QIIII", header, 0x170, blocks * BLOCK - 512, BLOCK, 0, blocks, 3)
bmap = [0xffffffff] * blocks
bmap[5], bmap[1], bmap[9], bmap[3] = 0, 1, 2, 0xfffffffe
body = bytearray(0x200)
struct.pack_into("<%dI" % blocks, body, 0, *bmap)
data = pattern(5, BLOCK) + pattern(1, BLOCK) + pattern(9, BLOCK)
open("small-blocks.vdi", "wb").write(bytes(header) + bytes(body) + data)

# The same header made fixed (type 2): 8 blocks, all in order.
blocks = 8
struct.pack_into("<I", header, 0x4c, 2)
struct.pack_into("<QIIII", header, 0x170, blocks * BLOCK, BLOCK, 0, blocks, blocks)
body = bytearray(0x200)
struct.pack_into("<%dI" % blocks, body, 0, *range(blocks))
data = b"".join(pattern(i, BLOCK) for i in range(blocks))
open("fixed.vdi", "wb").write(bytes(header) + bytes(body) + data)

# VHD dynamic, 8 blocks of 4 KiB (a bitmap sector each): blocks 6 and 2,
# block 2's bitmap with sectors 1 and 4 clear.
def checksum(b, at):
    return ~sum(b[:at] + b[at + 4:]) & 0xffffffff

size = 8 * BLOCK
footer = bytearray(512)
footer[0:8] = b"conectix"
struct.pack_into(">IIQI", footer, 8, 2, 0x00010000, 512, 0)
footer[28:32] = b"hgar"
struct.pack_into(">IIQQHBBI", footer, 32, 0x00010000, 0x5769326b, size, size, 2, 4, 8, 3)
struct.pack_into(">I", footer, 64, checksum(footer, 64))
dyn = bytearray(1024)
dyn[0:8] = b"cxsparse"
struct.pack_into(">QQIII", dyn, 8, 0xffffffffffffffff, 1536, 0x00010000, 8, BLOCK)
struct.pack_into(">I", dyn, 36, checksum(dyn, 36))
bat = [0xffffffff] * 8
bat[6], bat[2] = 4, 13
table = bytearray(512)
struct.pack_into(">8I", table, 0, *bat)
full = b"\xff" + bytes(511)
holes = bytes([0xb7]) + bytes(511)
image = bytes(footer) + bytes(dyn) + bytes(table)
image += full + pattern(6, BLOCK) + holes + pattern(2, BLOCK) + bytes(footer)
open("small-blocks.vhd", "wb").write(image)
PY

cp empty.vdi fixed.vdi small-blocks.vdi "$out/vdi"
cp empty.vhd fixed.vhd small-blocks.vhd "$out/vhd"
