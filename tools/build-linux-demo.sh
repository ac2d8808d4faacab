#!/bin/bash
# Build the Linux demo guest for Hangar from Debian packages:
#
#   tools/build-linux-demo.sh OUTDIR
#
# produces OUTDIR/vmlinuz (the kernel of the package that linux-image-amd64
# currently depends on), OUTDIR/initrd.img (a gzip'ed cpio "newc" initramfs
# holding busybox-static and an /init script) and OUTDIR/vmlinux-head.bin
# (the first 4 MiB of the kernel's decompressed payload, which the tests
# compare with what the kernel's decompressor writes), then prints their
# paths. A second run reuses the result as long as the kernel package
# version, the busybox-static version and this script are unchanged (see
# OUTDIR/stamp). OUTDIR must lie outside the source tree: nothing built here
# is ever committed.
#
# The guest's /init prints "Hangar demo guest: Linux <release> with
# busybox". With hangar.test=1 on the kernel command line it then prints
# HANGAR-LINUX-INIT-OK and resets the machine (reboot -f, which ends at the
# i8042 or port 0x92 reset: hangar-engine --no-reboot exits with status 8);
# otherwise it starts a shell on the console and powers off when it exits.
#
# Needs: apt-get, apt-cache, dpkg-deb, cpio, gzip, xz, flock, and the package
# busybox-static installed. Network access to the Debian archive for the
# first run (and whenever the kernel package changes).
set -euo pipefail

prog=${0##*/}

die()
{
	echo "$prog: error: $*" >&2
	exit 1
}

note()
{
	echo "$prog: $*" >&2
}

if [ $# -ne 1 ] || [ -z "$1" ]; then
	echo "usage: $prog OUTDIR" >&2
	exit 2
fi

for tool in apt-get apt-cache dpkg-deb dpkg-query cpio gzip xz od dd flock sha256sum; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "'$tool' is not installed (needed to build the Linux demo guest)"
done

# busybox-static: one static binary, so the initramfs needs no libraries.
busybox_version=$(dpkg-query -W -f='${Status} ${Version}\n' busybox-static 2>/dev/null |
		  awk '$1 == "install" && $3 == "installed" { print $4 }')
[ -n "$busybox_version" ] ||
	die "package busybox-static is not installed (apt-get install busybox-static)"
busybox=/bin/busybox
[ -x "$busybox" ] || die "$busybox is missing although busybox-static is installed"

mkdir -p "$1"
outdir=$(cd "$1" && pwd)
cache=$outdir/cache
mkdir -p "$cache"

# One build at a time per OUTDIR (meson and a hand-run may overlap).
exec 9>"$outdir/.lock"
flock 9

# apt-cache policy PKG -> its candidate version, or nothing.
candidate()
{
	apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" && !n++ { print $2 }'
}

apt_update()
{
	[ "$(id -u)" -eq 0 ] ||
		die "$1; run 'apt-get update' as root first"
	note "$1: running apt-get update"
	apt-get update -q >&2 || die "apt-get update failed"
}

meta_version=$(candidate linux-image-amd64)
if [ -z "$meta_version" ] || [ "$meta_version" = "(none)" ]; then
	apt_update "apt knows no candidate for linux-image-amd64"
	meta_version=$(candidate linux-image-amd64)
	if [ -z "$meta_version" ] || [ "$meta_version" = "(none)" ]; then
		die "linux-image-amd64 has no candidate even after apt-get update (check /etc/apt/sources.list*)"
	fi
fi

# The versioned image package that the metapackage depends on, e.g.
# linux-image-6.1.0-56-amd64.
kpkg=$(apt-cache depends "linux-image-amd64=$meta_version" 2>/dev/null |
       awk '$1 ~ /^\|?Depends:$/ && $2 ~ /^linux-image-/ && !n++ { print $2 }')
[ -n "$kpkg" ] || die "cannot find the kernel image package linux-image-amd64 $meta_version depends on"
kver=$(candidate "$kpkg")
if [ -z "$kver" ] || [ "$kver" = "(none)" ]; then
	die "$kpkg has no candidate version"
fi

script_sum=$(sha256sum "$0" | cut -d' ' -f1)
stamp_text="kernel-package=$kpkg $kver
busybox-static=$busybox_version
script-sha256=$script_sum"

outputs=("$outdir/vmlinuz" "$outdir/initrd.img" "$outdir/vmlinux-head.bin")

if [ -f "$outdir/stamp" ] && [ "$(cat "$outdir/stamp")" = "$stamp_text" ] &&
   [ -f "${outputs[0]}" ] && [ -f "${outputs[1]}" ] && [ -f "${outputs[2]}" ]; then
	note "up to date ($kpkg $kver)"
	printf '%s\n' "${outputs[@]}"
	exit 0
fi

work=$(mktemp -d "$outdir/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- the kernel -----------------------------------------------------------

deb_name="${kpkg}_${kver//:/%3a}_amd64.deb"
deb=$cache/$deb_name

download()
{
	# apt-get download writes into the current directory. As root apt
	# drops to the _apt user for the download, which cannot write into
	# a root-owned cache directory (apt then warns and downloads
	# unsandboxed): say so up front instead.
	local opts=(-q)
	[ "$(id -u)" -ne 0 ] || opts+=(-o APT::Sandbox::User=root)
	(cd "$work" && apt-get "${opts[@]}" download "$kpkg=$kver" >&2)
}

if [ ! -s "$deb" ] || ! dpkg-deb --info "$deb" >/dev/null 2>&1; then
	note "downloading $kpkg $kver"
	if ! download; then
		# Stale package lists may name a version the archive has
		# dropped: update them once and start again.
		if [ "$(id -u)" -ne 0 ] || [ -n "${HANGAR_LINUX_DEMO_UPDATED:-}" ]; then
			die "cannot download $kpkg $kver (network? stale lists: run 'apt-get update' as root)"
		fi
		apt_update "download of $kpkg $kver failed"
		exec 9>&-
		rm -rf "$work"
		trap - EXIT
		HANGAR_LINUX_DEMO_UPDATED=1 exec bash "$0" "$outdir"
	fi
	got=$(find "$work" -maxdepth 1 -name "${kpkg}_*.deb" -print -quit)
	[ -n "$got" ] || die "apt-get download produced no .deb for $kpkg"
	# Drop the packages of earlier kernels; keep this one for rebuilds.
	find "$cache" -maxdepth 1 -name 'linux-image-*.deb' -delete
	mv "$got" "$deb"
else
	note "using cached $deb_name"
fi

# Only boot/ is needed: the modules would be hundreds of MiB unpacked.
mkdir "$work/kernel"
dpkg-deb --fsys-tarfile "$deb" |
	tar -x -C "$work/kernel" --wildcards './boot/vmlinuz-*' ||
	die "cannot unpack boot/vmlinuz-* from $deb"
vmlinuz=$(find "$work/kernel/boot" -maxdepth 1 -name 'vmlinuz-*' -print -quit)
[ -n "$vmlinuz" ] || die "$deb contains no boot/vmlinuz-*"
release=${vmlinuz##*/vmlinuz-}

# --- the initramfs --------------------------------------------------------

root=$work/initramfs
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root,etc}
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
cp "$busybox" "$root/bin/busybox"
# Every applet as a symlink to busybox at its usual place.
"$busybox" --list-full | while read -r applet; do
	[ "$applet" != bin/busybox ] || continue
	mkdir -p "$root/$(dirname "$applet")"
	ln -sf /bin/busybox "$root/$applet"
done
[ -e "$root/bin/sh" ] || die "busybox has no sh applet"

# The kernel's built-in initramfs already has /dev/console; make one anyway
# where we can, so that /init has a console before devtmpfs is mounted.
if [ "$(id -u)" -eq 0 ]; then
	mknod -m 0600 "$root/dev/console" c 5 1
fi

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
EOF
cat >"$root/etc/profile" <<'EOF'
PS1='hangar-demo:\w\$ '
EOF

cat >"$root/init" <<'EOF'
#!/bin/sh
# Hangar demo guest (tools/build-linux-demo.sh).
export PATH=/sbin:/usr/sbin:/bin:/usr/bin HOME=/root TERM=${TERM:-linux}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
exec </dev/console >/dev/console 2>&1

echo "Hangar demo guest: Linux $(uname -r) with busybox"

case " $(cat /proc/cmdline) " in
*" hangar.test=1 "*)
	echo HANGAR-LINUX-INIT-OK
	# Ends at the i8042 (0xFE) or port 0x92 reset: with --no-reboot
	# the engine exits with status 8.
	reboot -f
	sleep 5
	echo "HANGAR-LINUX-REBOOT-FAILED"
	exec sleep 2147483647
	;;
esac

hostname hangar-demo
echo "Type 'exit' or Ctrl-D to power off."
# cttyhack opens the real console tty as the controlling terminal, so
# that job control and Ctrl-C work.
setsid cttyhack sh -l
echo "Powering off."
poweroff -f
exec sleep 2147483647
EOF
chmod 0755 "$root/init"

# Reproducible archive: fixed times and order, root-owned.
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio --quiet -o -H newc -R 0:0 --reproducible) |
	gzip -n -9 >"$work/initrd.img" ||
	die "cannot build the initramfs"

# --- the start of the decompressed kernel ---------------------------------
#
# On a software KVM the kernel's own decompressor needs more than an hour,
# so the tests there check instead that it runs correctly: what it has
# written so far must equal these bytes (tests/engine/test-linux.c). In the
# boot environment the XZ decoder runs in single-call mode, where LZMA2
# decodes the whole kernel first and the x86 BCJ filter is applied to it at
# the end: so for an xz payload the reference is LZMA2's output, that is
# the kernel with its call/jump targets still in the BCJ-encoded form.

# le32/u8 at a byte offset of a file.
le32()
{
	od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '
}

u8()
{
	od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '
}

head_bytes=$((4 << 20))
: >"$work/vmlinux-head.bin"
if [ "$(od -An -c -j $((0x202)) -N4 "$vmlinuz" | tr -d ' ')" != HdrS ]; then
	die "$vmlinuz is not a bzImage (no HdrS boot protocol header)"
fi
setup_sects=$(u8 "$vmlinuz" $((0x1f1)))
[ "$setup_sects" -ne 0 ] || setup_sects=4
payload_start=$(((setup_sects + 1) * 512 + $(le32 "$vmlinuz" $((0x248)))))
payload_length=$(le32 "$vmlinuz" $((0x24c)))
dd if="$vmlinuz" of="$work/payload" bs=1M iflag=skip_bytes,count_bytes \
	skip="$payload_start" count="$payload_length" status=none
case $(od -An -tx1 -N6 "$work/payload" | tr -d ' ') in
fd377a585a00)
	# The x86 build appends the decompressed size after the stream.
	xz -dc --single-stream "$work/payload" >"$work/vmlinux.full" ||
		die "cannot decompress the kernel's payload (xz)"
	# Re-encode with BCJ (the kernel's chain is --x86 --lzma2) and undo
	# only the LZMA2 step. A little more than needed: BCJ leaves the last
	# few bytes of its input as they are.
	head -c $((head_bytes + 4096)) "$work/vmlinux.full" >"$work/vmlinux.part"
	xz --format=raw --x86 --lzma2=preset=0 -c "$work/vmlinux.part" |
		xz --format=raw --lzma2=preset=0 -dc >"$work/vmlinux.bin" ||
		die "cannot BCJ-encode the start of the kernel (xz)"
	rm -f "$work/vmlinux.full" "$work/vmlinux.part"
	;;
1f8b*)
	gzip -dc "$work/payload" >"$work/vmlinux.bin" 2>/dev/null || [ $? -eq 2 ] ||
		die "cannot decompress the kernel's payload (gzip)"
	;;
*)
	note "warning: the kernel's payload is neither xz nor gzip;" \
	     "vmlinux-head.bin stays empty and the test that uses it skips"
	: >"$work/vmlinux.bin"
	;;
esac
head -c "$head_bytes" "$work/vmlinux.bin" >"$work/vmlinux-head.bin"
rm -f "$work/payload" "$work/vmlinux.bin"

# --- install --------------------------------------------------------------

cp "$vmlinuz" "$work/vmlinuz"
rm -f "$outdir/stamp"
mv -f "$work/vmlinuz" "$outdir/vmlinuz"
mv -f "$work/initrd.img" "$outdir/initrd.img"
mv -f "$work/vmlinux-head.bin" "$outdir/vmlinux-head.bin"
printf '%s\n' "$stamp_text" >"$outdir/stamp.new"
mv -f "$outdir/stamp.new" "$outdir/stamp"

note "built Linux $release ($kpkg $kver) with busybox-static $busybox_version"
printf '%s\n' "${outputs[@]}"
