#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Makes the qcow2 fuzzer's seed images with qemu-img and qemu-io (qemu-utils)
# in OUTDIR: small ones (512-byte clusters where QEMU allows them) so that
# the fuzzer's mutations land on metadata.  The copies in corpus/qcow2/ were
# made by this script; run it again to refresh them:
#   tests/fuzz/make-qcow2-seeds.sh tests/fuzz/corpus/qcow2
set -eu

out=${1:?usage: make-qcow2-seeds.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"

quiet() { "$@" > /dev/null; }

# Version 2 and 3, data, a zero write, a discard.
qemu-img create -q -f qcow2 -o compat=0.10,cluster_size=512 v2.qcow2 1M
quiet qemu-io -f qcow2 -c 'write -P 0xab 0 1k' -c 'write -P 0x12 700k 600' v2.qcow2
qemu-img create -q -f qcow2 -o compat=1.1,cluster_size=512 v3.qcow2 1M
quiet qemu-io -f qcow2 -c 'write -P 0xab 0 1k' -c 'write -z 4k 1k' -c 'write -P 0x12 700k 600' \
	-c 'discard 512 512' v3.qcow2

# An internal snapshot, then a write that copies a shared cluster.
cp v3.qcow2 snapshot.qcow2
qemu-img snapshot -c first snapshot.qcow2
quiet qemu-io -f qcow2 -c 'write -P 0x77 512 1k' snapshot.qcow2

# A backing file name (and format extension): "base.raw", which the fuzz
# target creates beside each input.
qemu-img create -q -f raw base.raw 64k
qemu-img create -q -f qcow2 -o cluster_size=512 -b base.raw -F raw backing.qcow2
quiet qemu-io -f qcow2 -c 'write -P 0x61 1k 1k' backing.qcow2

# Compressed clusters, zlib and zstd.
python3 -c "import sys; sys.stdout.buffer.write((b'hangar fuzz seed ' * 4000)[:65536])" > text.raw
qemu-img convert -c -f raw -O qcow2 -o cluster_size=512 text.raw zlib-512.qcow2
qemu-img convert -c -f raw -O qcow2 -o cluster_size=4096,compression_type=zstd text.raw \
	zstd-4k.qcow2

# Lazy refcounts, left dirty by a killed writer: the open repairs nothing
# read-only, but the dirty bit's path is parsed.
qemu-img create -q -f qcow2 -o lazy_refcounts=on,cluster_size=512 dirty.qcow2 1M
sh -c "qemu-io -f qcow2 -c 'write -P 0xcd 0 2k' -c 'sigraise 9' dirty.qcow2" > /dev/null 2>&1 || true

cp v2.qcow2 v3.qcow2 snapshot.qcow2 backing.qcow2 zlib-512.qcow2 zstd-4k.qcow2 dirty.qcow2 "$out"
