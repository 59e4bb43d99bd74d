#!/usr/bin/env bash
# Behind HAProxy: two certgw processes share one store; one is stopped with
# SIGTERM while clients keep fetching through HAProxy. Its /readyz turns 503,
# HAProxy's checks take it out within fall x inter, its listener closes only
# after drain_delay, so no client request fails, and it exits 0.
source "$(dirname "$0")/lib.sh"
command -v haproxy >/dev/null || fail "haproxy is not installed (tools/bootstrap installs it)"

base=$((22000 + $$ % 2000)) # below 32768: not a port an outgoing connection may hold
p1=$(free_port "$base")
p2=$(free_port $((p1 + 1)))
plb=$(free_port $((p2 + 1)))
"$BIN/certctl" demo "$T/d" --count 300 --port "$p1" >/dev/null 2>&1 || fail "demo"
sed -i 's/^\[server\]$/[server]\ndrain_delay = 2500\ndrain_timeout = 3000/' "$T/d/certgw.conf"
id=$(grep -o '1\.2\.156[^"]*' "$T/d/demo.json" | sed -n 1p)
key=$(grep -A2 '"jn-dept-zwfw"' "$T/d/demo.json" | sed -n 's/.*"key":[[:space:]]*"\([^"]*\)".*/\1/p')

"$BIN/certgw" -c "$T/d/certgw.conf" --workers 1 --listen "127.0.0.1:$p1" 2>"$T/gw1.log" &
gw1=$!
"$BIN/certgw" -c "$T/d/certgw.conf" --workers 1 --listen "127.0.0.1:$p2" 2>"$T/gw2.log" &
gw2=$!
sed -e "s/127.0.0.1:8443/127.0.0.1:$plb/" -e "s/inter 1s fall 2 rise 2/inter 300ms fall 2 rise 1/" \
    -e "s/server gw1 127.0.0.1:8080 check/server gw1 127.0.0.1:$p1 check\n    server gw2 127.0.0.1:$p2 check/" \
    "$(dirname "$0")/../../conf/haproxy.cfg" >"$T/haproxy.cfg"
haproxy -f "$T/haproxy.cfg" -db >"$T/haproxy.log" 2>&1 &
lb=$!
trap 'kill $gw1 $gw2 $lb 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT

url="http://127.0.0.1:$plb/v1/certificates/$id"
for _ in $(seq 100); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" "$url") == 200 ]] && break
  sleep 0.1
done
[[ $(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" "$url") == 200 ]] ||
  { tail -n 5 "$T"/*.log; fail "no answer through HAProxy"; }
ok "fetch through HAProxy"

# Clients fetch for ~5 s (bounded: 250 rounds of 4 requests); gw1 gets
# SIGTERM half a second in.
( for _ in $(seq 250); do
    curl -s -w '%{http_code}\n' -H "Authorization: Bearer $key" \
      -o /dev/null "$url" -o /dev/null "$url" -o /dev/null "$url" -o /dev/null "$url"
    sleep 0.01
  done ) >"$T/codes" &
load=$!
sleep 0.5
kill -TERM $gw1
wait $load
total=$(wc -l <"$T/codes")
bad=$(grep -vc '^200$' "$T/codes" || true)
[[ $total -ge 400 ]] || fail "only $total requests were made"
[[ $bad -eq 0 ]] || fail "$bad of $total requests failed during the drain: $(sort "$T/codes" | uniq -c | tr '\n' ' ')"
ok "$total requests through HAProxy during a drain, none failed"

for _ in $(seq 80); do kill -0 $gw1 2>/dev/null || break; sleep 0.1; done
if kill -0 $gw1 2>/dev/null; then fail "certgw did not exit within drain_delay + drain_timeout"; fi
wait $gw1 && rc=0 || rc=$?
[[ $rc -eq 0 ]] || fail "drained certgw exited with $rc"
grep -q "draining" "$T/gw1.log" || fail "no drain message"
ok "the drained certgw exited 0"

[[ $(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" "$url") == 200 ]] ||
  fail "the remaining certgw does not serve"
ok "the other certgw goes on serving"
echo "$checks passed, 0 failed"
