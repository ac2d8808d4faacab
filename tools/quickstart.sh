#!/bin/bash
# Hangar's two Quick start commands (README.md):
#   tools/quickstart.sh demo   install what is missing, build, boot the demo VM
#   tools/quickstart.sh test   install what is missing, build, run the whole test suite
# Packages come from Debian 12's archive: installed with apt-get when run as
# root, otherwise the one apt-get line to run is printed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${HANGAR_BUILD_DIR:-$here/build}"

# Build and test dependencies, one Debian package each.
packages=(
	meson ninja-build pkg-config gcc libc6-dev linux-libc-dev
	libglib2.0-dev libjson-glib-dev libpng-dev libvncserver-dev libspice-server-dev
	busybox-static cpio gzip xz-utils python3
	seabios ovmf acpica-tools dmidecode
	xorriso mtools grub-common grub-pc-bin grub-efi-amd64-bin
	libspice-client-glib-2.0-dev spice-client-gtk gvncviewer gir1.2-spiceclientglib-2.0 python3-gi
	libgtk-3-dev libspice-client-gtk-3.0-dev libgtk-vnc-2.0-dev libosinfo-1.0-dev osinfo-db
	gettext desktop-file-utils appstream xvfb xauth xdotool x11-apps libatk-adaptor dbus
	libxml2-utils libgdk-pixbuf2.0-bin librsvg2-common
	osinfo-db-tools
	libzstd-dev zlib1g-dev qemu-utils libarchive-dev libxml2-dev zstd bzip2 zip
)
# Only the benchmarks use these, as a reference to compare with.
bench_packages=(qemu-system-x86 qemu-utils)

die() {
	echo "quickstart: $*" >&2
	exit 1
}

missing_packages() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			echo "$p"
	done
}

install_packages() {
	local missing
	missing=$(missing_packages "$@" | tr '\n' ' ')
	[ -z "${missing// /}" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "quickstart: these Debian packages are missing; install them with:" >&2
		echo "  sudo apt-get install -y $missing" >&2
		exit 1
	fi
	echo "quickstart: installing $missing"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
}

build_hangar() {
	if [ ! -f "$build/build.ninja" ]; then
		meson setup "$build" "$here" --buildtype=debugoptimized -Dwerror=true >/dev/null
	fi
	ninja -C "$build" >/dev/null || ninja -C "$build"
}

kvm_kind() {
	if [ ! -w /dev/kvm ]; then echo absent
	elif [ -e /sys/module/kvm_pvm ]; then echo kvm_pvm
	else echo hardware
	fi
}

# The terminal demo, for machines without a display: the engine alone, its
# serial console on this terminal.
run_terminal_demo() {
	case "$(kvm_kind)" in
	kvm_pvm)
		cat <<-MSG
		quickstart: /dev/kvm here is kvm_pvm, a software KVM that emulates guest kernel code
		quickstart: instruction by instruction: a Linux guest would take minutes to boot.
		quickstart: Booting the small guest-kit demo instead (the Linux demo runs on
		quickstart: hardware-backed KVM). Ctrl-A x quits.
		MSG
		local status=0
		"$build/engine/hangar-engine" --kernel "$build/tests/guests/guest-demo.elf" \
			--memory 64 --cpus 2 --serial stdio --debug-exit || status=$?
		# The demo guest ends through the debug-exit port: 1 means it finished well.
		[ "$status" -eq 1 ] && status=0
		return "$status" ;;
	hardware)
		local demo="${XDG_CACHE_HOME:-$HOME/.cache}/hangar/linux-demo"
		"$here/tools/build-linux-demo.sh" "$demo" >/dev/null
		echo "quickstart: booting Linux with a busybox shell; 'exit' powers off, Ctrl-A x quits."
		exec "$build/engine/hangar-engine" --kernel "$demo/vmlinuz" --initrd "$demo/initrd.img" \
			--append "console=ttyS0 quiet" --memory 512 --serial stdio ;;
	esac
}

# The Demo VM in the user's library (made once): the busybox Linux where KVM
# is hardware-backed, the guest-kit demo (which stays until powered off)
# on kvm_pvm.
ensure_demo_vm() {
	local ctl="$build/ui/hangarctl/hangarctl"
	"$ctl" info demo >/dev/null 2>&1 && return 0
	case "$(kvm_kind)" in
	kvm_pvm)
		"$ctl" create Demo --kernel "$build/tests/guests/guest-demo.elf" --append stay \
			--memory 64 --cpus 2 ;;
	hardware)
		local demo="${XDG_CACHE_HOME:-$HOME/.cache}/hangar/linux-demo"
		"$here/tools/build-linux-demo.sh" "$demo" >/dev/null
		"$ctl" create Demo --kernel "$demo/vmlinuz" --initrd "$demo/initrd.img" \
			--append "console=ttyS0 quiet" --memory 512 --cpus 2 ;;
	esac
}

run_demo() {
	install_packages "${packages[@]}"
	build_hangar
	[ "$(kvm_kind)" = absent ] &&
		die "/dev/kvm is missing or not writable by $(id -un): Hangar runs VMs with KVM."
	if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
		echo "quickstart: no display here (DISPLAY and WAYLAND_DISPLAY are unset): the demo runs on this terminal instead of in the app."
		run_terminal_demo
		return
	fi
	# The app, uninstalled, with the Demo VM running in its library.
	ensure_demo_vm
	local ctl="$build/ui/hangarctl/hangarctl"
	[ "$("$ctl" --json info demo | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" = running ] ||
		"$ctl" start demo
	echo "quickstart: opening Hangar; the Demo VM is running in it (double-click it to see its screen)."
	GSETTINGS_SCHEMA_DIR="$build/data" exec "$build/ui/hangar"
}

run_tests() {
	install_packages "${packages[@]}" "${bench_packages[@]}"
	build_hangar
	local status=0
	meson test -C "$build" --print-errorlogs --num-processes 2 || status=$?
	# One closing line that any CI reader understands.
	python3 - "$build/meson-logs/testlog.json" <<-'PY' || true
	import json, re, sys
	# Count the test cases inside each TAP program, not just the programs.
	passed = failed = skipped = 0
	for line in open(sys.argv[1]):
	    t = json.loads(line)
	    cases = [l for l in t.get("stdout", "").splitlines() if re.match(r"(not )?ok \d", l)]
	    if not cases:
	        ok = t["result"] in ("OK", "EXPECTEDFAIL")
	        passed += ok; skipped += t["result"] == "SKIP"; failed += not ok and t["result"] != "SKIP"
	        continue
	    for c in cases:
	        if c.startswith("not ok") and "# TODO" not in c: failed += 1
	        elif "# SKIP" in c or "# skip" in c: skipped += 1
	        else: passed += 1
	    if t["result"] not in ("OK", "SKIP", "EXPECTEDFAIL") and not any(c.startswith("not ok") for c in cases):
	        failed += 1  # crashed or timed out after its last reported case
	print(f"{passed} passed, {failed} failed, {skipped} skipped")
	PY
	return $status
}

case "${1:-}" in
demo) run_demo ;;
test) run_tests ;;
*)
	echo "usage: $0 demo|test" >&2
	exit 2 ;;
esac
