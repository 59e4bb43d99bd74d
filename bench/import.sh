#!/usr/bin/env bash
# bench/import.sh — how fast `certctl import` loads N demo certificates.
#
#   bench/import.sh [N] [RUNS] [V]  (defaults: 1000000 certificates, 3 runs,
#                                    20000 lines imported with verification)
#
# Makes (once) a demo deployment of N sealed certificates with its JSON Lines
# source kept, in ${CG_BENCH_DIR:-/tmp/certgw-bench}/demo-N, then imports that
# file into a fresh store RUNS times with the Release build, seal verification
# off (--no-verify: the seals are stored unchecked), and prints each run and
# the median. Then it imports the file's first V lines RUNS times with
# verification on (the default of `certctl import`, against the demo's trust
# store, on every core): seals verified per second. Sealing N certificates
# takes a few minutes on 2 cores (ECDSA and RSA signing); importing is what
# is measured.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
runs=${2:-3}
vn=${3:-20000}
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

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rate() { sed -n 's/.*(\([0-9]*\)\/s;.*/\1/p' <<<"$1" | head -n1; }

echo "without verification: certctl import -d STORE --no-verify $src"
rates=()
for ((i = 1; i <= runs; i++)); do
  rm -rf "$dir/import-store"
  out=$($ctl import -d "$dir/import-store" --no-verify "$src")
  echo "run $i:  ${out//$'\n'/; }"
  rates+=("$(rate "$out")")
done
echo "median:  $(median "${rates[@]}") certificates/s, seals not verified (load, holder index, commit and fsync included)"

head -n "$vn" "$src" >"$dir/import-verify.jsonl"
echo "with verification: certctl import -d STORE --trust $dir/demo-$n/trust FIRST-$vn-LINES ($(nproc) threads)"
rates=()
for ((i = 1; i <= runs; i++)); do
  rm -rf "$dir/import-store"
  out=$($ctl import -d "$dir/import-store" --trust "$dir/demo-$n/trust" "$dir/import-verify.jsonl")
  echo "run $i:  ${out//$'\n'/; }"
  grep -q "seals: $vn verified, 0 invalid" <<<"$out" || { echo "bench/import.sh: not every seal verified" >&2; exit 1; }
  rates+=("$(rate "$out")")
done
echo "median:  $(median "${rates[@]}") certificates/s, every seal verified"
rm -rf "$dir/import-store" "$dir/import-verify.jsonl"
