#!/usr/bin/env bash
# The audit's holder index under load (docs/audit.md): after some hundred
# thousand audited fetches of a few dozen holders' certificates — several
# batches of index entries, each filed in slices over the groups after it —
# `certctl audit --holder` finds exactly the records of each holder that the
# log holds (counted through `--venue`, which walks the log); while certgw
# serves, when idle (no mark left), after a SIGTERM straight after a load
# (nothing left waiting), and after a kill -9 in the middle of a load and a
# restart (the marks name what was not indexed, and go once it is).
source "$(dirname "$0")/lib.sh"
export LC_ALL=C.UTF-8

local_demo 2000 $((26000 + $$ % 2000))
sed -i '/^\[server\]/a drain_delay = 0\ndrain_timeout = 5000' "$CONF"

stop_gw() {
  kill -TERM "$GW"
  local rc=0
  wait "$GW" || rc=$?
  GW=
  [[ $rc == 0 ]] || { cat "$T/gw.err" >&2; fail "certgw exited $rc after SIGTERM"; }
}

# The first 30 holders of demo.json and their certificates: what is fetched.
flat=$(tr -d '\n\t ' <"$T/d/demo.json")
# (sed -n, not head: head would leave grep writing into a closed pipe)
DEPT=$(grep -o '"id":"[^"]*","key":"[^"]*","scope":"department"' <<<"$flat" |
  sed -n '1s/"id":"\([^"]*\)".*/\1/p')
grep -o '"code":"[0-9A-Z]\{18\}","type":"[0-9]*","certificates":\[[^]]*\]' <<<"$flat" |
  sed -n 1,30p >"$T/holders"
cut -d'"' -f4,8 --output-delimiter=' ' "$T/holders" >"$T/codes" # code type
grep -o '1\.2\.156\.[^"]*' "$T/holders" >"$T/ids"
[[ -n $DEPT && $(wc -l <"$T/codes") == 30 && $(wc -l <"$T/ids") -ge 30 ]] ||
  fail "demo.json lacks the department venue or 30 holders with certificates"

load() { # load N: N fetches of those certificates as the department
  "$BIN/certbench" --demo "$T/d/demo.json" --target "127.0.0.1:$PORT" --venue department \
    --ids "$T/ids" -c 16 -n "$1" -q --json "$T/bench.json" >"$T/bench.out" 2>&1 ||
    { cat "$T/bench.out"; fail "certbench"; }
}

# compare WHEN: for each holder, the records `--holder` finds (the index,
# and the log from the marks on) are the ones of that holder in the log.
compare() {
  "$BIN/certctl" audit -c "$CONF" --venue "$DEPT" --json >"$T/venue.json" 2>/dev/null ||
    fail "$1: certctl audit --venue"
  local total=0 code type mac n m
  while read -r code type; do
    "$BIN/certctl" audit -c "$CONF" --holder "$code" --holder-type "$type" --json >"$T/holder.json" 2>/dev/null ||
      fail "$1: certctl audit --holder $code"
    n=$(wc -l <"$T/holder.json")
    ((n > 0)) || fail "$1: no record found for holder $code"
    mac=$(head -n1 "$T/holder.json" | sed -n 's/.*"holder":"\([0-9a-f]\{64\}\)".*/\1/p')
    [[ -n $mac ]] || fail "$1: a record without the holder's HMAC"
    grep -q -v -F "\"holder\":\"$mac\"" "$T/holder.json" && fail "$1: --holder $code lists another holder's record"
    m=$(grep -c -F "\"holder\":\"$mac\"" "$T/venue.json" || true)
    [[ $n == "$m" ]] || fail "$1: holder $code: $n records through the index, $m in the log"
    total=$((total + n))
  done <"$T/codes"
  echo "$total"
}

# marks: how many writers' marks (entries not indexed yet) the store holds.
marks() { mdb_dump -p -s meta "$T/d/data" | grep -a -c '^ audit\.unindexed\.' || true; }

start_gw 1
load 120000
sleep 0.5 # the last group committed
total=$(compare "while serving")
((total >= 120000)) || fail "while serving: $total records of 120000 fetches found"
ok "while serving, after 120,000 fetches of 30 holders' certificates: each holder's records through the index are those in the log ($total)"

# Idle for longer than a batch waits: every entry goes in, the mark goes.
sleep 2
[[ $(marks) == 0 ]] || fail "idle for 2 s: $(marks) marks left in the store"
ok "idle for 2 s: every index entry filed, no mark left"

# SIGTERM straight after a load, a batch half filed: all of it goes in.
load 60000
stop_gw
[[ $(marks) == 0 ]] || fail "after SIGTERM: $(marks) marks left in the store"
total=$(compare "after SIGTERM")
((total >= 180000)) || fail "after SIGTERM: $total records of 180000 fetches found"
ok "SIGTERM straight after 60,000 more fetches: no mark left, every holder's records through the index alone ($total)"

# A kill -9 in the middle of a load: what was not indexed is found through
# the marks; at the next start the writer indexes it and drops them.
start_gw 1
load 1000000 &
LOADER=$!
sleep 2.5
{ kill -KILL "$GW" && wait "$GW"; } 2>/dev/null || true
GW=
wait "$LOADER" 2>/dev/null || true # (its connections were cut: certbench may say so)
[[ $(marks) == 1 ]] || fail "after kill -9 in the middle of a load: $(marks) marks, not 1"
after=$(compare "after kill -9")
((after > total)) || fail "after kill -9: $after records, not more than the $total before the load"
ok "after kill -9 in the middle of a load: each holder's records through the index and the marks are those in the log ($after)"

start_gw 1
# (The writer recovers as it starts, beside the workers that already serve.)
for _ in $(seq 200); do
  grep -q "audit index entries recovered" "$T/gw.err" && break
  sleep 0.05
done
grep -q "audit index entries recovered" "$T/gw.err" || { cat "$T/gw.err" >&2; fail "no index entries recovered within 10 s of the restart"; }
stop_gw
[[ $(marks) == 0 ]] || fail "after the restart and SIGTERM: $(marks) marks left"
again=$(compare "after the restart")
[[ $again == "$after" ]] || fail "after the restart: $again records, not $after"
ok "restarted and stopped: the marks' entries indexed, every record found ($again)"
