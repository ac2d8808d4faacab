#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Makes the VMDK fuzzer's seed images in OUTDIR, written from the layout in
# VMware's "Virtual Disk Format 5.0" (qemu-img's smallest sparse files are
# over 64 KiB: its grains are 64 KiB).  Tiny grains (8 sectors) and grain
# tables (16 entries) keep each seed a few KiB, so mutations land on
# metadata.  The descriptors name "flat.bin" and "extent-s001.vmdk", which
# fuzz-vmdk-open.c creates beside each input.  The copies in corpus/vmdk/
# were made by this script; run it again to refresh them:
#   tests/fuzz/make-vmdk-seeds.py tests/fuzz/corpus/vmdk
import os
import struct
import sys
import zlib

SECTOR = 512
GRAIN = 8  # sectors
GTES = 16
GD_AT_END = 0xFFFFFFFFFFFFFFFF


def header(version, flags, capacity, desc_offset, desc_sectors, gd_offset, overhead,
           compress=0):
    h = struct.pack('<4sIIQQQQIQQQB4sH', b'KDMV', version, flags, capacity, GRAIN,
                    desc_offset, desc_sectors, GTES, 0, gd_offset, overhead, 0,
                    b'\n \r\n', compress)
    return h.ljust(SECTOR, b'\0')


def descriptor(create_type, extents):
    text = ('# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n'
            'createType="%s"\n\n# Extent description\n%s\n\n# The Disk Data Base\n#DDB\n\n'
            'ddb.adapterType = "ide"\n' % (create_type, '\n'.join(extents)))
    return text.encode()


def pad(data):
    return data + b'\0' * (-len(data) % SECTOR)


def grain_data(index):
    return bytes((index * 37 + i * 7 + (i >> 9)) & 0xFF for i in range(GRAIN * SECTOR))


def monolithic_sparse():
    """256 sectors: two grain tables, grains 0, 3, 17 and 31, grain 5 zeroed."""
    capacity = 256
    desc = pad(descriptor('monolithicSparse', ['RW %d SPARSE "sparse.vmdk"' % capacity]))
    desc_sectors = len(desc) // SECTOR
    gd_at = 1 + desc_sectors
    gt_at = [gd_at + 1, gd_at + 2]
    next_sector = gd_at + 3
    gtes = [0] * (2 * GTES)
    grains = b''
    for g in (0, 3, 17, 31):
        gtes[g] = next_sector
        grains += grain_data(g)
        next_sector += GRAIN
    gtes[5] = 1
    out = header(2, 1 | 4, capacity, 1, desc_sectors, gd_at, gd_at + 3)
    out += desc
    out += pad(struct.pack('<2I', *gt_at))
    out += pad(struct.pack('<16I', *gtes[:GTES]))
    out += pad(struct.pack('<16I', *gtes[GTES:]))
    return out + grains


def marker(sectors, kind):
    return struct.pack('<QII', sectors, 0, kind).ljust(SECTOR, b'\0')


def stream_optimized():
    """200 sectors (not a whole number of grain tables), compressed grains
    0, 1, 9 and 24, the grain directory after the grains and in the footer."""
    capacity = 200
    desc = pad(descriptor('streamOptimized', ['RW %d SPARSE "stream.vmdk"' % capacity]))
    desc_sectors = len(desc) // SECTOR
    flags = 1 | (1 << 16) | (1 << 17)
    out = bytearray(header(3, flags, capacity, 1, desc_sectors, GD_AT_END, 1 + desc_sectors, 1))
    out += desc
    gtes = [0] * (2 * GTES)
    for g in (0, 1, 9, 24):
        gtes[g] = len(out) // SECTOR
        data = zlib.compress(grain_data(g))
        out += pad(struct.pack('<QI', g * GRAIN, len(data)) + data)
    gt_at = []
    for t in range(2):
        out += marker(1, 1)
        gt_at.append(len(out) // SECTOR)
        out += pad(struct.pack('<16I', *gtes[t * GTES:(t + 1) * GTES]))
    out += marker(1, 2)
    gd_at = len(out) // SECTOR
    out += pad(struct.pack('<2I', *gt_at))
    out += marker(1, 3)
    out += header(3, flags, capacity, 1, desc_sectors, gd_at, 1 + desc_sectors, 1)
    out += b'\0' * SECTOR  # end of stream
    return bytes(out)


def main():
    out = sys.argv[1] if len(sys.argv) == 2 else sys.exit('usage: make-vmdk-seeds.py OUTDIR')
    os.makedirs(out, exist_ok=True)
    seeds = {
        'sparse.vmdk': monolithic_sparse(),
        'stream.vmdk': stream_optimized(),
        'flat.vmdk': pad(descriptor('monolithicFlat', ['RW 128 FLAT "flat.bin" 0'])),
        'split.vmdk': descriptor('twoGbMaxExtentSparse', [
            'RW 128 SPARSE "extent-s001.vmdk"', 'RDONLY 64 FLAT "flat.bin" 16', 'RW 32 ZERO']),
        'vmfs.vmdk': b'version=1\r\ncreateType=vmfs\r\nRW 100 VMFS "flat.bin"\r\n',
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)


main()
