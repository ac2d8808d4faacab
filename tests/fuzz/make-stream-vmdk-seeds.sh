#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Makes the stream VMDK fuzzer's seeds in OUTDIR/stream-vmdk: two from
# qemu-img (its layout: grain directory and tables in front, 64 KiB of
# header area; an empty disk, which ends without an end-of-stream marker,
# and one with two grains, cut after the zero sector that reads as the
# marker), and, from the layout in VMware's "Virtual Disk Format 1.1",
# small ones with 4 KiB grains written here (python3): grains out of order
# with tables, directory and footer at the end; a last grain inflated
# whole on a disk that is not whole grains; qemu-img's layout in small.
# The copies in corpus/ were made by this script; run it again to refresh
# them:
#   tests/fuzz/make-stream-vmdk-seeds.sh tests/fuzz/corpus
set -eu

out=${1:?usage: make-stream-vmdk-seeds.sh OUTDIR}
mkdir -p "$out/stream-vmdk"
out=$(cd "$out/stream-vmdk" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"

qemu-img create -q -f raw empty.raw 1M
qemu-img convert -O vmdk -o subformat=streamOptimized empty.raw qemu-empty.vmdk
qemu-img create -q -f raw two.raw 1M
qemu-io -f raw -c 'write -P 0x11 0 64k' -c 'write -P 0x22 512k 4k' two.raw > /dev/null
qemu-img convert -O vmdk -o subformat=streamOptimized two.raw qemu-two.vmdk

python3 - <<'PY'
import struct
import zlib

SECTOR = 512
GRAIN = 8  # sectors
GTES = 16
FLAGS = 1 | (1 << 16) | (1 << 17)  # newline test, compressed, markers
GD_AT_END = 0xFFFFFFFFFFFFFFFF


def pad(data):
    return data + b'\0' * (-len(data) % SECTOR)


def header(capacity, desc_sectors, gd_offset, overhead):
    h = struct.pack('<4sIIQQQQIQQQB4sH', b'KDMV', 3, FLAGS, capacity, GRAIN, 1,
                    desc_sectors, GTES, 0, gd_offset, overhead, 0, b'\n \r\n', 1)
    return h.ljust(SECTOR, b'\0')


def descriptor(capacity):
    return pad(('# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n'
                'createType="streamOptimized"\n\n# Extent description\n'
                'RW %d SPARSE "seed.vmdk"\n' % capacity).encode())


def grain_data(index, length=GRAIN * SECTOR):
    return bytes((index * 37 + i * 7 + (i >> 9)) & 0xFF for i in range(length))


def marker(sectors, kind):
    return struct.pack('<QII', sectors, 0, kind).ljust(SECTOR, b'\0')


def grain(lba, data):
    z = zlib.compress(data)
    return pad(struct.pack('<QI', lba, len(z)) + z)


def vmware(capacity, grains, whole_last=False):
    """Grains in the order given; GTs, GD and footer at the end."""
    desc = descriptor(capacity)
    overhead = 1 + len(desc) // SECTOR
    out = bytearray(header(capacity, len(desc) // SECTOR, GD_AT_END, overhead) + desc)
    n_grains = -(-capacity // GRAIN)
    tables = -(-n_grains // GTES)
    gtes = [0] * (tables * GTES)
    for g in grains:
        length = min(GRAIN, capacity - g * GRAIN) * SECTOR
        data = grain_data(g, length)
        if whole_last and length < GRAIN * SECTOR:
            data += bytes(GRAIN * SECTOR - length)
        gtes[g] = len(out) // SECTOR
        out += grain(g * GRAIN, data)
    gd = [0] * tables
    for t in range(tables):
        if any(gtes[t * GTES:(t + 1) * GTES]):
            out += marker(1, 1)
            gd[t] = len(out) // SECTOR
            out += pad(struct.pack('<%dI' % GTES, *gtes[t * GTES:(t + 1) * GTES]))
    out += marker(-(-tables * 4 // SECTOR), 2)
    gd_at = len(out) // SECTOR
    out += pad(struct.pack('<%dI' % tables, *gd))
    out += marker(1, 3)
    out += header(capacity, len(desc) // SECTOR, gd_at, overhead)
    out += marker(0, 0)
    return bytes(out)


def front_tables(capacity, grains):
    """qemu-img's layout: GD and GTs in the header area, grains after it,
    no end-of-stream marker."""
    desc = descriptor(capacity)
    tables = -(-(-(-capacity // GRAIN)) // GTES)
    gd_at = 1 + len(desc) // SECTOR
    gt_at = [gd_at + 1 + t for t in range(tables)]
    overhead = gt_at[-1] + 1
    gtes = [0] * (tables * GTES)
    body = bytearray()
    for g in grains:
        gtes[g] = overhead + len(body) // SECTOR
        body += grain(g * GRAIN, grain_data(g))
    out = header(capacity, len(desc) // SECTOR, gd_at, overhead) + desc
    out += pad(struct.pack('<%dI' % tables, *gt_at))
    for t in range(tables):
        out += pad(struct.pack('<%dI' % GTES, *gtes[t * GTES:(t + 1) * GTES]))
    return out + bytes(body)


open('vmware-out-of-order.vmdk', 'wb').write(vmware(256, [9, 0, 31, 1, 17]))
open('vmware-whole-last-grain.vmdk', 'wb').write(vmware(100, [2, 12], whole_last=True))
open('front-tables.vmdk', 'wb').write(front_tables(200, [0, 3, 24]))

# qemu-img pads its file to a whole grain past the last one: the first
# zero sector after it is enough (it reads as the end-of-stream marker).
data = open('qemu-two.vmdk', 'rb').read()
pos = struct.unpack_from('<Q', data, 64)[0] * SECTOR
while struct.unpack_from('<I', data, pos + 8)[0] != 0:
    pos += -(-(12 + struct.unpack_from('<I', data, pos + 8)[0]) // SECTOR) * SECTOR
open('qemu-two.vmdk', 'wb').write(data[:pos + SECTOR])
PY

cp qemu-empty.vmdk qemu-two.vmdk vmware-out-of-order.vmdk vmware-whole-last-grain.vmdk \
	front-tables.vmdk "$out"
