#!/bin/bash
# A GRUB rescue ISO with a menu for the real-client display tests: the menu
# is drawn on the VGA text console (so VNC and SPICE clients see it) and on
# COM1 (so a test knows when it is up), keys come from the PS/2 keyboard
# only (terminal_input console), it waits for a choice forever, and each
# entry prints its own marker on both and powers off through ACPI:
#   make-grub-menu-iso.sh OUT.iso
set -euo pipefail
out=$1
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/boot/grub"
cat >"$root/boot/grub/grub.cfg" <<'CFG'
serial --unit=0 --speed=115200
terminal_input console
terminal_output console serial
set timeout=-1
set default=0
menuentry "Hangar entry one" {
	echo HANGAR-GRUB-ENTRY-1
	halt
}
menuentry "Hangar entry two" {
	echo HANGAR-GRUB-ENTRY-2
	halt
}
CFG
grub-mkrescue -o "$out" "$root" >/dev/null 2>&1 ||
	{ echo "grub-mkrescue failed (packages grub-pc-bin, grub-efi-amd64-bin, xorriso, mtools)" >&2; exit 1; }
