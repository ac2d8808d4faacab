#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# usage: run-fuzzer.sh FUZZER SEED_DIR DICT ARTIFACT_DIR
# Runs a libFuzzer target for HANGAR_FUZZ_SECONDS (default 30) over a copy of
# SEED_DIR, so the source tree is never written.  An input that crashes,
# leaks or hangs (over 10 s) is saved in ARTIFACT_DIR; `FUZZER FILE` replays
# it.  Fixed ones belong in SEED_DIR and in tests/library/block/
# test-qcow2-broken.c.
set -eu

# Absolute: the fuzzer runs in a scratch folder.
fuzzer=$(realpath "$1")
seeds=$(realpath "$2")
dict=$(realpath "$3")
mkdir -p "$4"
artifacts=$(realpath "$4")
seconds=${HANGAR_FUZZ_SECONDS:-30}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cp "$seeds"/* "$work/corpus/"
cd "$work"
"$fuzzer" -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 -dict="$dict" \
	-artifact_prefix="$artifacts/" -print_final_stats=1 "$work/corpus"
