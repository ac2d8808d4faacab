#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Runs one multiboot guest under QEMU: a reference run that checks the guest kit itself,
# independently of Hangar's engine.
#
#   run-in-qemu.sh QEMU GUEST.elf EXPECTED-LINE [QEMU-ARGS...]
#
# Passes when the serial output has EXPECTED-LINE and, unless EXPECTED-LINE starts with
# "PASS: ", as soon as it appears (for guests that never finish, like counter); a "PASS: " line
# must also come with QEMU's exit status 1, i.e. debug-exit value 0.
set -u

qemu=$1
guest=$2
expected=$3
shift 3

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# KVM where this machine has it (the engine's situation), else TCG. -no-reboot: a triple fault
# must end the run, not restart the guest.
"$qemu" -accel kvm -accel tcg -m 128 -nodefaults -display none -no-reboot \
	-serial "file:$log" -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-kernel "$guest" "$@" </dev/null &
pid=$!

deadline=$(($(date +%s) + 60))
status=
while [ "$(date +%s)" -lt "$deadline" ]; do
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid"
		status=$?
		break
	fi
	case $expected in
	"PASS: "*) ;;
	*)
		if grep -qxF "$expected" "$log"; then
			kill "$pid"
			wait "$pid"
			cat "$log"
			exit 0
		fi
		;;
	esac
	sleep 0.2
done
if [ -z "$status" ]; then
	kill "$pid"
	wait "$pid"
	echo "timed out after 60 s" >&2
fi
cat "$log"
if [ "$status" = 1 ] && grep -qxF "$expected" "$log"; then
	exit 0
fi
echo "QEMU exit status ${status:-none}, expected line: $expected" >&2
exit 1
