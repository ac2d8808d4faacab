#!/bin/bash
# A GRUB rescue ISO (BIOS and EFI boot, grub-mkrescue) whose grub.cfg prints
# a marker on the serial port and powers off through ACPI:
#   make-grub-iso.sh OUT.iso
set -euo pipefail
out=$1
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/boot/grub"
cat >"$root/boot/grub/grub.cfg" <<'CFG'
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
echo HANGAR-GRUB-OK
halt
CFG
grub-mkrescue -o "$out" "$root" >/dev/null 2>&1 ||
	{ echo "grub-mkrescue failed (packages grub-pc-bin, grub-efi-amd64-bin, xorriso, mtools)" >&2; exit 1; }
