#!/usr/bin/env bash
# certgw whose store is full: its map is set to the store file's size plus
# 2 MiB, and 120,000 audited fetches need more. The writer's groups then fail
# (MDB_MAP_FULL); each failure is logged and counted, the ring space is
# given back, fetches go on being answered, and SIGTERM still ends the
# process (exit 0) within a few seconds: a full disk or map must not wedge
# the gateway (docs/audit.md). The sanitized build checks the failure path
# for memory errors too.
source "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || fail "curl is not installed"
[[ -x $BIN/certbench ]] || fail "$BIN/certbench is missing"
local_demo 300 $((26000 + $$ % 2000))
sed -i '/^\[server\]/a drain_delay = 0' "$CONF"
size=$(stat -c %s "$T/d/data/data.mdb")
map=$(((size >> 20) + 2))
sed -i "s/^map_size = .*/map_size = ${map}M/" "$CONF"
grep -q "^map_size = ${map}M\$" "$CONF" || fail "map_size not set in $CONF"
start_gw
ok "certgw on a store of $size bytes with map_size = ${map}M"

"$BIN/certbench" --demo "$T/d/demo.json" --target "127.0.0.1:$PORT" -c 8 -t 1 -n 120000 -q \
  --json "$T/load.json" >"$T/load.txt" 2>&1 || { cat "$T/load.txt"; fail "certbench"; }
answered=$(json_num "$T/load.json" answered)
bad=$(json_num "$T/load.json" unexpected_status)
errors=$(tr -d ' \t\n' <"$T/load.json" | grep -o '"errors":{[^}]*}' | grep -o '[0-9][0-9]*' |
  awk '{ s += $1 } END { print s + 0 }')
((answered == 120000)) || { cat "$T/load.txt" "$T/gw.err" | tail -40; fail "fetches with a full store: $answered answered of 120,000"; }
[[ $bad == 0 && $errors == 0 ]] || { cat "$T/load.txt"; fail "fetches with a full store: $bad unexpected statuses, $errors errors"; }
curl -s -o "$T/metrics" "$URL/metrics" || fail "GET /metrics"
failures=$(awk '$1 == "certgw_writer_failures_total" { print $2 }' "$T/metrics")
((${failures:-0} > 0)) || { cat "$T/gw.err" >&2; fail "no writer failure counted: the map never filled"; }
grep -q "not filed" "$T/gw.err" || fail "the writer's failures are not logged"
ok "120,000 fetches against a full map: all answered as expected, $failures writer groups failed, logged and counted"

[[ $(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz") == 200 ]] || fail "certgw no longer answers /healthz"
t0=$(date +%s%3N)
kill -TERM "$GW"
rc=0
wait "$GW" || rc=$?
GW=
el=$(($(date +%s%3N) - t0))
[[ $rc == 0 ]] || fail "certgw exited $rc after SIGTERM with a full map"
((el < 10000)) || fail "certgw took $el ms to exit after SIGTERM with a full map"
ok "SIGTERM with a full map: exit 0 in $el ms"

echo "$checks passed, 0 failed"
