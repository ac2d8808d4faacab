#!/bin/bash
# Boot images for the firmware tests, from the assembled boot sectors:
#   make-images.sh OUTDIR BOOT_A.bin BOOT_B.bin
# writes OUTDIR/disk-a.img and disk-b.img (1 MiB raw disks with the boot
# sector as MBR) and OUTDIR/boot-a.iso (El Torito, no emulation).
set -euo pipefail
out=$1 a=$2 b=$3
for x in a b; do
	src=$a
	[ $x = b ] && src=$b
	cp "$src" "$out/disk-$x.img"
	truncate -s 1M "$out/disk-$x.img"
done
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
cp "$a" "$root/boot.bin"
xorriso -as mkisofs -quiet -V HANGAR_BOOT -b boot.bin -no-emul-boot -boot-load-size 4 \
	-o "$out/boot-a.iso" "$root" 2>/dev/null
