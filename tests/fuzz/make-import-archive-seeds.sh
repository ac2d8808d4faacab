#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Makes the import fuzzer's seeds in OUTDIR/import-archive, one for each way
# a file becomes a VM, every one under 64 KiB:
#   - OVAs from tests/library/import/make-ova.py: a small raw disk and an
#     empty one; two streamOptimized VMDKs (the small hand-made ones of
#     corpus/stream-vmdk), in reverse order, the manifest last; qemu-img's
#     streamOptimized VMDK and a raw disk gzip-compressed (ovf:compression);
#     a raw disk bzip2-compressed;
#   - archives of a 64 KiB raw disk with a little data (the least a tar
#     entry needs to count as a disk) and a README: a GNU sparse tar and a
#     pax sparse one (only the data is stored), a .tar.gz, a .zip;
#   - the raw disk compressed alone: .gz, .xz, .zst, .bz2; one whose first
#     sector is zeroes (a file system without a partition table: libarchive
#     takes it for an empty tar at first), .gz; a GPT disk with an EFI
#     system partition (the firmware guess), .gz; qemu-img's
#     streamOptimized VMDK, .gz;
#   - an .ovf whose disks are beside it: a raw one, a qcow2 and an empty
#     one (disk.img and disk.qcow2: the files fuzz-import-archive.c puts
#     beside each input);
#   - a plain raw disk and a qcow2 with 512-byte clusters;
#   - what must be refused, each a small start for the fuzzer where tar's
#     header checksums keep it from getting by itself: tar entries named
#     ../evil.img and /etc/evil.img, a symbolic and a hard link, a zip entry
#     named ../evil.img; an OVA whose descriptor comes last, one with a disk
#     file twice; a .tar.gz of 13 disks (one more than a VM has).  And an
#     OVA whose entries are named ./x, as tar writes a folder's.
# The copies in corpus/ were made by this script; run it again to refresh
# them (the same bytes, but for a time in the OVAs whose disks make-ova.py
# compresses and tar's process id in the pax sparse tar):
#   tests/fuzz/make-import-archive-seeds.sh tests/fuzz/corpus
set -eu

out=${1:?usage: make-import-archive-seeds.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
make_ova="$here/../library/import/make-ova.py"
stream_vmdks="$here/corpus/stream-vmdk"
mkdir -p "$out/import-archive"
out=$(cd "$out/import-archive" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"

# The same bytes every run: no names, owners or times of this machine.
tar_flags='--owner=0 --group=0 --numeric-owner --mtime=@946684800 --blocking-factor=1'

# A raw disk with a little data, holes between (sparse on disk, for tar -S).
raw_disk() {
	qemu-img create -q -f raw "$1" "$2"
	qemu-io -f raw -c "write -P 0x11 0 4k" -c "write -P 0x22 $3 512" "$1" > /dev/null
	touch -d @946684800 "$1"
}

raw_disk small.img 8k 6k
raw_disk disk.img 64k 32k
raw_disk big.img 1M 512k
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized big.img qemu-stream.vmdk
# qemu-img picks a random CID: a fixed one, so that the seeds stay the same.
python3 -c "import re,sys; p=sys.argv[1]; d=open(p,'rb').read()
open(p,'wb').write(re.sub(rb'CID=[0-9a-f]{8}\n', b'CID=5eed5eed\n', d, count=1))" \
	qemu-stream.vmdk
cp "$stream_vmdks/vmware-out-of-order.vmdk" out-of-order.vmdk
cp "$stream_vmdks/front-tables.vmdk" front-tables.vmdk
printf 'Nothing to see here.\n' > README
touch -d @946684800 README qemu-stream.vmdk out-of-order.vmdk front-tables.vmdk

# OVAs.  Capacities given, so that make-ova.py need not ask qemu-img
# about the hand-made VMDKs.
python3 "$make_ova" ova-raw.ova --name raw-appliance --disk small.img:8192 \
	--empty-disk 1048576
python3 "$make_ova" ova-vmdk.ova --name vmdk-appliance --efi --os-type windows9_64Guest \
	--disk out-of-order.vmdk:131072 --disk front-tables.vmdk:102400 --reverse-disks \
	--manifest-last
python3 "$make_ova" ova-gzip.ova --name gzip-appliance --os-type otherGuest \
	--os-description 'Ubuntu 22.04' --disk qemu-stream.vmdk:1048576 --disk big.img:1048576 \
	--compression gzip
python3 "$make_ova" ova-bzip2.ova --name bzip2-appliance --disk big.img:1048576 \
	--compression bzip2

# Archives of a raw disk.  The sparse tars keep only the disk's data.
# shellcheck disable=SC2086
tar $tar_flags --sparse --format=gnu -cf disk-sparse-gnu.tar disk.img README
# shellcheck disable=SC2086
tar $tar_flags --sparse --format=posix --pax-option=delete=atime,delete=ctime,exthdr.name=%d/PaxHeaders/%f \
	-cf disk-sparse-pax.tar disk.img README
# shellcheck disable=SC2086
tar $tar_flags --format=ustar -cf disks.tar README disk.img
gzip -9 -n -c disks.tar > disks.tar.gz
zip -q -X -9 disk.zip README disk.img

# Compressed single images.
gzip -9 -n -c disk.img > disk.img.gz
xz -9 -c disk.img > disk.img.xz
zstd -q -19 -c disk.img > disk.img.zst
bzip2 -9 -c disk.img > disk.img.bz2
gzip -9 -n -c qemu-stream.vmdk > stream.vmdk.gz
qemu-img create -q -f raw file-system.img 64k
qemu-io -f raw -c "write -P 0x53 1k 1k" file-system.img > /dev/null
gzip -9 -n -c file-system.img > file-system.img.gz

# A GPT with an EFI system partition (and nothing else): imports as UEFI.
python3 - <<'PY'
import struct
import zlib

SECTOR = 512
ESP = bytes.fromhex('28732ac11ff8d211ba4b00a0c93ec93b')
disk = bytearray(64 << 10)
last = len(disk) // SECTOR - 1
# The protective MBR: one partition of type 0xee over the disk.
disk[446:462] = struct.pack('<B3sB3sII', 0, b'\0\x02\0', 0xee, b'\xff\xff\xff', 1, last)
disk[510:512] = b'\x55\xaa'
entry = struct.pack('<16s16sQQQ72s', ESP, bytes(range(16)), 40, 100, 0,
                    'EFI system'.encode('utf-16-le'))
entries = entry.ljust(128 * 128, b'\0')
header = struct.pack('<8sIIIIQQQQ16sQIII', b'EFI PART', 0x10000, 92, 0, 0, 1, last, 34,
                     last - 33, bytes(range(16, 32)), 2, 128, 128, zlib.crc32(entries))
header = header[:16] + struct.pack('<I', zlib.crc32(header)) + header[20:]
disk[SECTOR:SECTOR + len(header)] = header
disk[2 * SECTOR:2 * SECTOR + len(entries)] = entries
open('gpt-esp.img', 'wb').write(disk)
PY
gzip -9 -n -c gpt-esp.img > gpt-esp.img.gz

# An OVF package's descriptor: its disks are fuzz-import-archive.c's
# fixtures beside the input (the same names), and an empty one.
qemu-img create -q -f qcow2 disk.qcow2 1M
python3 "$make_ova" package.ovf --name package --disk disk.img:65536 \
	--disk disk.qcow2:1048576 --empty-disk 1048576 --folder

# Refused: hostile names and links, a descriptor last, a file twice, too
# many disks.
python3 - <<'PY'
import io
import tarfile
import zipfile


def tar(path, *members):
    with tarfile.open(path, 'w', format=tarfile.USTAR_FORMAT) as t:
        for info, data in members:
            t.addfile(info, io.BytesIO(data) if data else None)


def entry(name, data=b'', kind=tarfile.REGTYPE, link=''):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size, info.mode = kind, link, len(data), 0o644
    return info, data


disk = open('disk.img', 'rb').read()
tar('hostile-dotdot.tar', entry('../evil.img', disk[:4096]))
tar('hostile-absolute.tar', entry('/etc/evil.img', disk[:4096]))
tar('hostile-symlink.tar', entry('disk.img', kind=tarfile.SYMTYPE, link='/etc/passwd'))
tar('hostile-hardlink.tar', entry('README', b'read me\n'),
    entry('disk.img', kind=tarfile.LNKTYPE, link='README'))
with zipfile.ZipFile('hostile-dotdot.zip', 'w') as z:
    info = zipfile.ZipInfo('../evil.img', (2000, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, disk)
tar('thirteen-disks.tar', *(entry('disk-%02d.img' % n, disk) for n in range(13)))
PY
gzip -9 -n -c thirteen-disks.tar > thirteen-disks.tar.gz
python3 "$make_ova" ova-ovf-last.ova --name late --disk small.img:8192 --ovf-last
python3 "$make_ova" ova-twice.ova --name twice --disk small.img:8192
python3 -c "import tarfile; tarfile.open('ova-twice.ova', 'a').add('small.img')"
mkdir dot-slash
tar -C dot-slash -xf ova-raw.ova
# shellcheck disable=SC2086
tar -C dot-slash $tar_flags --format=ustar -cf ova-dot-slash.ova ./raw-appliance.ovf \
	./raw-appliance.mf ./small.img

# Plain disk images.
raw_disk plain.img 4k 2k
qemu-img create -q -f qcow2 -o cluster_size=512 plain.qcow2 1M
qemu-io -f qcow2 -c "write -P 0x33 0 1k" plain.qcow2 > /dev/null

for seed in ova-raw.ova ova-vmdk.ova ova-gzip.ova ova-bzip2.ova disk-sparse-gnu.tar \
	disk-sparse-pax.tar disks.tar.gz disk.zip disk.img.gz disk.img.xz disk.img.zst \
	disk.img.bz2 file-system.img.gz stream.vmdk.gz gpt-esp.img.gz package.ovf plain.img \
	plain.qcow2 hostile-dotdot.tar hostile-absolute.tar hostile-symlink.tar \
	hostile-hardlink.tar hostile-dotdot.zip thirteen-disks.tar.gz ova-ovf-last.ova \
	ova-twice.ova ova-dot-slash.ova; do
	size=$(stat -c %s "$seed")
	if [ "$size" -ge 65536 ]; then
		echo "make-import-archive-seeds.sh: $seed is $size bytes, not under 64 KiB" >&2
		exit 1
	fi
	cp "$seed" "$out"
done
