# lib.sh — shared by the integration tests: sourced, not run.
# Each test gets the build directory as $1 and works in its own temp dir.
set -euo pipefail
BUILD=$(cd "$1" && pwd)
BIN=$BUILD/bin
T=$(mktemp -d "${TMPDIR:-/tmp}/cg-it.XXXXXX")
trap 'rm -rf "$T"' EXIT
checks=0

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
ok() {
  checks=$((checks + 1))
  echo "ok $checks - $*"
}
# json_num FILE KEY: the number after "KEY": in certctl's --json output.
json_num() {
  sed -n "s/.*\"$2\":[[:space:]]*\([0-9]*\).*/\1/p" "$1" | head -n1
}
# free_port START: the first TCP port from START on that nothing listens on
# (tests run in parallel under ctest -j; each picks its own).
free_port() {
  local p=$1
  while [[ -n $(ss -Hltn "sport = :$p" 2>/dev/null) ]] || [[ " ${TAKEN_PORTS:-} " == *" $p "* ]]; do
    p=$((p + 1))
  done
  TAKEN_PORTS="${TAKEN_PORTS:-} $p"
  echo "$p"
}
# local_demo COUNT PORT_FROM: a demo deployment of COUNT certificates in
# $T/d serving the local store alone (no upstream tiers), on a free port
# from PORT_FROM on: sets PORT, URL and CONF; certgw started with start_gw
# (its pid in GW) is killed when the test exits, whatever happens.
local_demo() {
  GW=
  trap '{ [[ -n $GW ]] && kill -KILL "$GW" && wait "$GW" || true; } 2>/dev/null; rm -rf "$T"' EXIT
  PORT=$(free_port "$2")
  URL=http://127.0.0.1:$PORT
  "$BIN/certctl" demo "$T/d" --count "$1" --port "$PORT" >"$T/out" 2>&1 || { cat "$T/out"; fail "certctl demo"; }
  strip_upstream "$T/d/certgw.conf"
  CONF=$T/d/certgw.conf
}
# start_gw [WORKERS]: starts certgw on $CONF with WORKERS workers (default
# 2), appending its output to $T/gw.out and $T/gw.err, its pid in $GW; waits
# (5 s at most) until $URL/healthz answers 200.
start_gw() {
  "$BIN/certgw" -c "$CONF" --workers "${1:-2}" >>"$T/gw.out" 2>>"$T/gw.err" &
  GW=$!
  for _ in $(seq 100); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/healthz" || true) == 200 ]] && return 0
    kill -0 "$GW" 2>/dev/null || { cat "$T/gw.err" >&2; fail "certgw exited at start"; }
    sleep 0.05
  done
  fail "certgw did not answer /healthz within 5 s"
}
# strip_upstream CONF: removes the [upstream…] sections certctl demo writes,
# for tests of the local store alone (a miss is then a plain 404 instead of
# a question to platforms that nobody started).
strip_upstream() {
  awk '/^\[/ { skip = ($0 ~ /^\[upstream/) } !skip' "$1" >"$1.tmp" && mv "$1.tmp" "$1"
}

# ISO 7064 MOD 37,36 in the shell, independent of core/ident.c: mod37_36 S
# prints the check character of S (0-9A-Z, no dots); ident_check ID the one
# identifier ID should have (over its segments after the root).
ALNUM=0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ
mod37_36() {
  local s=$1 p=36 i v pre
  for ((i = 0; i < ${#s}; i++)); do
    pre=${ALNUM%%"${s:i:1}"*}
    v=${#pre}
    p=$(((p + v) % 36))
    ((p == 0)) && p=36
    p=$((2 * p % 37))
  done
  echo "${ALNUM:$(((37 - p) % 36)):1}"
}
ident_check() {
  local rest=${1#1.2.156.3005.2.}
  rest=${rest%.*}
  mod37_36 "${rest//./}"
}
