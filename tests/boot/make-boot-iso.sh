#!/bin/bash
# An El Torito (no emulation) ISO around one boot sector:
#   make-boot-iso.sh OUT.iso BOOT.bin VOLUME-ID
set -euo pipefail
out=$1 boot=$2 volume=$3
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
cp "$boot" "$root/boot.bin"
xorriso -as mkisofs -quiet -V "$volume" -b boot.bin -no-emul-boot -boot-load-size 4 \
	-o "$out" "$root" 2>/dev/null
