#!/usr/bin/env bash
# bench/import.sh — how fast `certctl import` loads N demo certificates.
#
#   bench/import.sh [N] [RUNS]      (defaults: 1000000 certificates, 3 runs)
#
# Makes (once) a demo deployment of N sealed certificates with its JSON Lines
# source kept, in ${CG_BENCH_DIR:-/tmp/certgw-bench}/demo-N, then imports that
# file into a fresh store RUNS times with the Release build and prints each
# run and the median. Sealing N certificates takes a few minutes on 2 cores
# (ECDSA and RSA signing); importing is what is measured.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
runs=${2:-3}
dir=${CG_BENCH_DIR:-/tmp/certgw-bench}
mkdir -p "$dir"

tools/bootstrap
cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-rel -j"$(nproc)" --target certctl >/dev/null
ctl=build-rel/bin/certctl

if [[ ! -s "$dir/demo-$n/certificates.jsonl" ]]; then
  echo "making $n sealed demo certificates in $dir/demo-$n (once)..." >&2
  $ctl demo "$dir/demo-$n" --count "$n" --keep-source --force >/dev/null
fi
src="$dir/demo-$n/certificates.jsonl"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "input:   $src ($(du -h "$src" | cut -f1), $(wc -l <"$src") lines)"

rates=()
for ((i = 1; i <= runs; i++)); do
  rm -rf "$dir/import-store"
  out=$($ctl import -d "$dir/import-store" "$src")
  echo "run $i:  $out"
  rates+=("$(sed -n 's/.*(\([0-9]*\)\/s;.*/\1/p' <<<"$out")")
done
median=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "median:  $median certificates/s (load, holder index, commit and fsync included)"
rm -rf "$dir/import-store"
