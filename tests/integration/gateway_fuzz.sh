#!/usr/bin/env bash
# certgw under mutated requests: 12,000 messages made from well-formed
# fetches, holder lists, scans (with real QR codes) and verifications — bytes
# changed, cut, repeated, framing pieces put in, sent at once or a few bytes
# at a time — on new connections to the real certgw (2 workers). It must
# answer throughout, exit 0 on SIGTERM, and (in the sanitized build, which
# CI runs too) report no memory or undefined-behaviour error. Such a run
# found a header name copied past its buffer when it came in pieces.
source "$(dirname "$0")/lib.sh"

FUZZ=$BUILD/tests/fuzz_http
[[ -x $FUZZ ]] || fail "$FUZZ is missing: build the target fuzz_http"
local_demo 300 $((28000 + $$ % 2000))
sed -i '/^\[server\]/a drain_delay = 0' "$CONF"
start_gw

# The well-formed messages the mutations start from.
flat=$(tr -d '\n\t ' <"$T/d/demo.json")
HKEY=$(grep -o '"key":"cgk_[0-9a-f]*","scope":"hotel"' <<<"$flat" | sed -n '1s/"key":"\([^"]*\)".*/\1/p')
DKEY=$(grep -o '"key":"cgk_[0-9a-f]*","scope":"department"' <<<"$flat" | sed -n '1s/"key":"\([^"]*\)".*/\1/p')
grep -o '"code":"[0-9A-Z]\{18\}","type":"111"' <<<"$flat" | cut -d'"' -f4 | sed -n 1,4p >"$T/holders"
grep -o '1\.2\.156\.3005\.2\.[0-9A-Z.]*' <<<"$flat" | sed -n 1,4p >"$T/ids"
[[ -n $HKEY && -n $DKEY && $(wc -l <"$T/holders") == 4 && $(wc -l <"$T/ids") == 4 ]] ||
  fail "demo.json lacks the venues, holders or identifiers this test needs"
n=0
base() { n=$((n + 1)) && printf '%b' "$1" >"$T/base.$n"; }
while read -r id; do
  base "GET /v1/certificates/$id HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer $DKEY\r\nIf-None-Match: \"x\"\r\n\r\n"
done <"$T/ids"
while read -r h; do
  base "GET /v1/holders/$h/certificates?type=11100000000019713D001 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer $DKEY\r\n\r\n"
  code=$("$BIN/certctl" mint -c "$CONF" --holder "$h") || fail "certctl mint --holder $h"
  for k in "$DKEY" "$HKEY"; do
    body="{\"code\":\"$code\",\"purpose\":\"fuzz\",\"matter\":\"M-1\"}"
    base "POST /v1/scan HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer $k\r\nContent-Type: application/json\r\nX-Forwarded-For: 10.0.0.1\r\nContent-Length: ${#body}\r\n\r\n$body"
  done
done <"$T/holders"
id=$(head -n1 "$T/ids")
curl -s -o "$T/cert.json" -H "Authorization: Bearer $DKEY" "$URL/v1/certificates/$id" || fail "fetch $id"
printf 'POST /v1/verify HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n' \
  "$DKEY" "$(wc -c <"$T/cert.json")" >"$T/base.v" && cat "$T/cert.json" >>"$T/base.v"
base 'GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nGET /metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'
ok "$((n + 1)) well-formed messages to start from (fetch, holder list, scan as department and hotel, verify, pipelined health and metrics)"

for seed in 1 2 3; do
  out=$("$FUZZ" "$PORT" "$seed" 4000 "$T"/base.* 2>&1) || { tail -n 40 "$T/gw.err" >&2; fail "seed $seed: $out"; }
  grep -q -E ' 200=[0-9]+' <<<"$out" && grep -q -E ' 400=[0-9]+' <<<"$out" ||
    fail "seed $seed: no 200 or no 400 among the answers ($out): the mutations missed both sides"
  ok "seed $seed: $out"
done

[[ $(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $DKEY" "$URL/v1/certificates/$id") == 200 ]] ||
  fail "a plain fetch after the fuzzing is not answered 200"
kill -TERM "$GW"
rc=0
wait "$GW" || rc=$?
GW=
[[ $rc == 0 ]] || { tail -n 40 "$T/gw.err" >&2; fail "certgw exited $rc after SIGTERM"; }
! grep -q -E 'AddressSanitizer|LeakSanitizer|runtime error' "$T/gw.err" ||
  { grep -E -A20 'AddressSanitizer|LeakSanitizer|runtime error' "$T/gw.err" | head -n 40 >&2; fail "the sanitizers reported an error"; }
ok "after 12,000 mutated messages: a plain fetch 200, exit 0 on SIGTERM, no sanitizer report"
