#!/usr/bin/env bash
# certgw-upstream-sim speaks the protocol of docs/upstream.md from a demo's
# export: fetches byte for byte, holder lists with and without ?type, the
# change feed after /_sim/put and /_sim/revoke with cursors and paging,
# credentials (401) and purpose (400), /_sim/stats counting every call;
# every fault, set on the command line and changed through /_sim/faults;
# TLS with a CA made here; refusals at start; exit 0 on SIGTERM while a
# connection hangs. Needs curl and openssl (tools/bootstrap installs both).
source "$(dirname "$0")/lib.sh"

SIM=$BIN/certgw-upstream-sim
for x in "$SIM" "$BIN/certctl"; do
  [[ -x $x ]] || fail "$x is missing: build the targets certgw-upstream-sim certctl"
done
command -v curl >/dev/null || fail "curl is not installed"
command -v openssl >/dev/null || fail "openssl is not installed"

pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT

# start_sim NAME ARGS...: a simulator on 127.0.0.1, any free port; waits
# (at most 10 s) for its ready line and sets PORT and PID.
start_sim() {
  local name=$1 i
  shift
  : >"$T/$name.err" # there before the background shell opens it
  "$SIM" --name "$name" --listen 127.0.0.1:0 "$@" >"$T/$name.out" 2>"$T/$name.err" &
  PID=$!
  pids+=("$PID")
  for ((i = 0; i < 100; i++)); do
    PORT=$(sed -n "s/^certgw-upstream-sim $name listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p" "$T/$name.err")
    [[ -n $PORT ]] && return 0
    kill -0 "$PID" 2>/dev/null || { cat "$T/$name.err" >&2; fail "the simulator $name exited at start"; }
    sleep 0.1
  done
  fail "the simulator $name printed no ready line within 10 s"
}

CREDS=(-H "X-Access-Id: certgw" -H "X-Access-Token: s3cret")
PURPOSE=(-H "X-Purpose: %E6%97%A0%E8%AF%81%E6%98%8E%E5%9F%8E%E5%B8%82")
# call NAME PATH [CURL ARGS...]: a protocol call with credentials and
# purpose; the body goes to $T/NAME.b, the status to stdout.
call() {
  local name=$1 path=$2
  shift 2
  curl -s --noproxy '*' -m 10 -o "$T/$name.b" -w '%{http_code}' "${CREDS[@]}" "${PURPOSE[@]}" "$@" \
    "http://127.0.0.1:$PORT$path" || true
}
# sim NAME PATH [CURL ARGS...]: a /_sim/ call, the same way.
sim() {
  local name=$1 path=$2
  shift 2
  curl -s --noproxy '*' -m 10 -o "$T/$name.b" -w '%{http_code}' "$@" "http://127.0.0.1:$PORT/_sim/$path" || true
}
faults() { [[ $(sim faults faults -d "$1") == 200 ]] || fail "POST /_sim/faults $1: $(cat "$T/faults.b")"; }
# counts: "certificate holder changes" from /_sim/stats.
counts() {
  sim stats stats >/dev/null
  sed -n 's/^{"requests":{"certificate":\([0-9]*\),"holder":\([0-9]*\),"changes":\([0-9]*\)}}$/\1 \2 \3/p' "$T/stats.b"
}
field() { sed "s/.*\"$2\":\"\([^\"]*\)\".*/\1/" <<<"$1"; }
body_is() { [[ $(cat "$T/$1.b") == "$2" ]]; }

# ---- data ---------------------------------------------------------------------------
"$BIN/certctl" demo "$T/d" --count 200 --port "$(free_port 19100)" >"$T/demo.out" 2>&1 ||
  { cat "$T/demo.out" >&2; fail "certctl demo"; }
"$BIN/certctl" export -c "$T/d/certgw.conf" -o "$T/all.jsonl" 2>/dev/null || fail "certctl export"
[[ $(wc -l <"$T/all.jsonl") == 200 ]] || fail "export wrote $(wc -l <"$T/all.jsonl") lines"
# The simulator starts with the first 190 (with a blank line and CRLF
# endings, which it must take); the last 10 come later by /_sim/put.
{ sed -n '1,95p' "$T/all.jsonl"; echo; sed -n '96,190p' "$T/all.jsonl"; } | sed 's/$/\r/' >"$T/data.jsonl"
head -n 190 "$T/all.jsonl" >"$T/first.jsonl"
mapfile -t LINES <"$T/all.jsonl"
ID1=$(field "${LINES[0]}" certificateIdentifier)
ID2=$(field "${LINES[1]}" certificateIdentifier)
ID191=$(field "${LINES[190]}" certificateIdentifier)
# The holder with the most types among the first 190, and one of its types.
HOLDER=$(sed 's/.*"certificateHolderCode":"\([^"]*\)".*"certificateTypeCode":"\([^"]*\)".*/\1 \2/' "$T/first.jsonl" |
  sort -u | awk '{ print $1 }' | uniq -c | sort -rn | awk 'NR == 1 { print $2 }')
NH=$(grep -c "\"certificateHolderCode\":\"$HOLDER\"" "$T/first.jsonl")
TYPE=$(grep -m1 "\"certificateHolderCode\":\"$HOLDER\"" "$T/first.jsonl" |
  sed 's/.*"certificateTypeCode":"\([^"]*\)".*/\1/')
NHT=$(grep "\"certificateHolderCode\":\"$HOLDER\"" "$T/first.jsonl" | grep -c "\"certificateTypeCode\":\"$TYPE\"")
[[ -n $ID1 && -n $ID191 && $NH -ge 2 && $NHT -ge 1 && $NHT -lt $NH ]] ||
  fail "demo data unlike expected: holder $HOLDER has $NH certificates, $NHT of type $TYPE"
ok "demo export: 200 lines; holder $HOLDER has $NH certificates among the first 190, $NHT of type $TYPE"

# ---- the protocol -------------------------------------------------------------------
start_sim city --data "$T/data.jsonl" --access-id certgw --token s3cret
ok "ready line \"certgw-upstream-sim city listening on 127.0.0.1:$PORT\" (port 0: a free one)"

[[ $(counts) == "0 0 0" ]] || fail "stats at start: $(cat "$T/stats.b")"
s=$(call fetch "/v1/certificates/$ID1")
[[ $s == 200 ]] || fail "fetch: $s $(cat "$T/fetch.b")"
body_is fetch "{\"certificate\":${LINES[0]}}" || fail "fetch body is not {\"certificate\": <line 1>}: $(head -c 300 "$T/fetch.b")"
s=$(call fetch96 "/v1/certificates/$(field "${LINES[95]}" certificateIdentifier)")
[[ $s == 200 ]] && body_is fetch96 "{\"certificate\":${LINES[95]}}" || fail "line 96 (after the blank line): $s"
ok "GET /v1/certificates/ID: 200, exactly {\"certificate\": <the exported line>}"

s=$(call unknown "/v1/certificates/$ID191")
[[ $s == 404 ]] && grep -q '"code":"not_found"' "$T/unknown.b" || fail "unknown identifier: $s $(cat "$T/unknown.b")"
s=$(call junk "/v1/certificates/nothing-like-an-identifier")
[[ $s == 404 ]] || fail "junk identifier: $s"
ok "unknown identifier 404 not_found"

s=$(call holder "/v1/holders/$HOLDER/certificates")
[[ $s == 200 && $(grep -o '"certificateIdentifier"' "$T/holder.b" | wc -l) == "$NH" ]] ||
  fail "holder list: $s, $(grep -o '"certificateIdentifier"' "$T/holder.b" | wc -l) certificates, not $NH"
[[ $(head -c 17 "$T/holder.b") == '{"certificates":[' ]] || fail "holder list body: $(head -c 100 "$T/holder.b")"
s=$(call htype "/v1/holders/$HOLDER/certificates?type=$TYPE")
[[ $s == 200 && $(grep -o '"certificateIdentifier"' "$T/htype.b" | wc -l) == "$NHT" ]] ||
  fail "holder list of type $TYPE: $s, $(grep -o '"certificateIdentifier"' "$T/htype.b" | wc -l) certificates, not $NHT"
[[ $(grep -o '"certificateTypeCode":"[^"]*"' "$T/htype.b" | sort -u) == "\"certificateTypeCode\":\"$TYPE\"" ]] ||
  fail "?type=$TYPE let another type through"
[[ $(call hbad "/v1/holders/$HOLDER/certificates?type=") == 400 ]] || fail "an empty ?type= is not 400"
s=$(call hnone "/v1/holders/110101190001011237/certificates")
[[ $s == 200 ]] && body_is hnone '{"certificates":[]}' || fail "holder without certificates: $s $(cat "$T/hnone.b")"
ok "holder list: all $NH; ?type=$TYPE: $NHT; a holder without certificates: an empty list"

s=$(curl -s --noproxy '*' -m 10 -o "$T/np.b" -w '%{http_code}' "${CREDS[@]}" "http://127.0.0.1:$PORT/v1/certificates/$ID1")
[[ $s == 400 ]] && grep -q '"code":"bad_request"' "$T/np.b" && grep -q 'X-Purpose' "$T/np.b" ||
  fail "no purpose: $s $(cat "$T/np.b")"
s=$(curl -s --noproxy '*' -m 10 -o "$T/raw.b" -w '%{http_code}' "${CREDS[@]}" -H "X-Purpose: 无证明城市" \
  "http://127.0.0.1:$PORT/v1/certificates/$ID1")
[[ $s == 400 ]] && grep -q 'percent-encoded' "$T/raw.b" || fail "a purpose not percent-encoded: $s $(cat "$T/raw.b")"
s=$(curl -s --noproxy '*' -m 10 -o "$T/wt.b" -w '%{http_code}' -H "X-Access-Id: certgw" -H "X-Access-Token: wrong" \
  "${PURPOSE[@]}" "http://127.0.0.1:$PORT/v1/certificates/$ID1")
[[ $s == 401 ]] && grep -q '"code":"unauthorized"' "$T/wt.b" || fail "wrong token: $s $(cat "$T/wt.b")"
s=$(curl -s --noproxy '*' -m 10 -o /dev/null -w '%{http_code}' -H "X-Access-Id: other" -H "X-Access-Token: s3cret" \
  "${PURPOSE[@]}" "http://127.0.0.1:$PORT/v1/certificates/$ID1")
[[ $s == 401 ]] || fail "unknown access id: $s"
s=$(curl -s --noproxy '*' -m 10 -o /dev/null -w '%{http_code}' "${PURPOSE[@]}" "http://127.0.0.1:$PORT/v1/certificates/$ID1")
[[ $s == 401 ]] || fail "no credentials: $s"
s=$(call post "/v1/certificates/$ID1" -d '{}')
[[ $s == 405 ]] || fail "POST to a protocol call: $s"
ok "no purpose 400, unencoded purpose 400; wrong token, unknown id, no credentials 401; POST 405"

# fetch x2, unknown x2, purpose x2, credentials x3, POST x1 = certificate 10; holder 4.
[[ $(counts) == "10 4 0" ]] || fail "stats: $(cat "$T/stats.b"), not certificate 10, holder 4, changes 0"
ok "/_sim/stats counts every call, refused ones too: $(cat "$T/stats.b")"

# Keep-alive: curl's second transfer reuses the first one's connection.
n=$(curl -s --noproxy '*' -m 10 -o /dev/null -o /dev/null -w '%{num_connects} ' "${CREDS[@]}" "${PURPOSE[@]}" \
  "http://127.0.0.1:$PORT/v1/certificates/$ID1" "http://127.0.0.1:$PORT/v1/certificates/$ID2")
[[ $n == "1 0 " ]] || fail "keep-alive: connects per transfer \"$n\", not \"1 0 \""
s=$(call h10 "/v1/certificates/$ID1" -0)
[[ $s == 200 ]] && body_is h10 "{\"certificate\":${LINES[0]}}" || fail "HTTP/1.0: $s"
ok "keep-alive (two fetches, one connection) and HTTP/1.0"

# ---- the change feed -------------------------------------------------------------
s=$(call ch0 "/v1/changes?since=0")
[[ $s == 200 ]] && body_is ch0 '{"changes":[],"cursor":"0","more":false}' || fail "empty feed: $s $(cat "$T/ch0.b")"
s=$(sim put put --data-binary "${LINES[190]}")
[[ $s == 200 ]] && body_is put '{"op":"new","cursor":"1"}' || fail "put of a new certificate: $s $(cat "$T/put.b")"
UPDATED=${LINES[0]/\"status\":\"valid\"/\"status\":\"suspended\"}
[[ $UPDATED != "${LINES[0]}" ]] || fail "line 1 has no \"status\":\"valid\""
s=$(sim put put --data-binary "$UPDATED")
[[ $s == 200 ]] && body_is put '{"op":"updated","cursor":"2"}' || fail "put of a known certificate: $s $(cat "$T/put.b")"
s=$(sim revoke revoke -d "{\"certificateIdentifier\":\"$ID2\"}")
[[ $s == 200 ]] && body_is revoke '{"op":"revoked","cursor":"3"}' || fail "revoke: $s $(cat "$T/revoke.b")"
s=$(sim revoke revoke -d "{\"certificateIdentifier\":\"$ID2\"}")
[[ $s == 200 ]] && body_is revoke '{"op":"revoked","cursor":"3"}' || fail "second revoke: $s $(cat "$T/revoke.b")"
s=$(call ch "/v1/changes?since=0")
want="{\"changes\":[{\"cursor\":\"1\",\"op\":\"new\",\"certificate\":${LINES[190]}},"
want+="{\"cursor\":\"2\",\"op\":\"updated\",\"certificate\":$UPDATED},"
want+="{\"cursor\":\"3\",\"op\":\"revoked\",\"certificateIdentifier\":\"$ID2\"}],\"cursor\":\"3\",\"more\":false}"
[[ $s == 200 ]] && body_is ch "$want" || fail "feed after put, put, revoke: $s $(head -c 400 "$T/ch.b")"
ok "/_sim/put: \"new\" then \"updated\"; /_sim/revoke: \"revoked\" (once); the feed carries them in order"

s=$(call f191 "/v1/certificates/$ID191")
[[ $s == 200 ]] && body_is f191 "{\"certificate\":${LINES[190]}}" || fail "fetch of the put certificate: $s"
s=$(call f1 "/v1/certificates/$ID1")
body_is f1 "{\"certificate\":$UPDATED}" || fail "fetch after the update: $(head -c 300 "$T/f1.b")"
s=$(call f2 "/v1/certificates/$ID2")
[[ $s == 200 ]] && body_is f2 "{\"certificate\":${LINES[1]},\"revoked\":true}" ||
  fail "fetch of the revoked certificate: $s $(tail -c 100 "$T/f2.b")"
H2=$(field "${LINES[1]}" certificateHolderCode)
call h2 "/v1/holders/$H2/certificates" >/dev/null
grep -q "\"$ID2\"" "$T/h2.b" && fail "the holder list still has the revoked certificate"
ok "fetches see the put and updated certificates; the revoked one carries \"revoked\":true and leaves its holder's list"

for i in $(seq 191 199); do
  [[ $(sim put put --data-binary "${LINES[$i]}") == 200 ]] || fail "put of line $((i + 1))"
done
cursor=0 pages=0 seen=""
while :; do
  s=$(call page "/v1/changes?since=$cursor&limit=5")
  [[ $s == 200 ]] || fail "page after $cursor: $s"
  seen+=$(grep -o '{"cursor":"[0-9]*"' "$T/page.b" | tr -dc '0-9\n' | tr '\n' ' ')
  next=$(sed 's/.*\],"cursor":"\([0-9]*\)","more":\(true\|false\)}$/\1 \2/' "$T/page.b")
  pages=$((pages + 1))
  cursor=${next% *}
  [[ ${next#* } == false ]] && break
  ((pages < 10)) || fail "paging does not end"
done
[[ $pages == 3 && $cursor == 12 && $seen == "1 2 3 4 5 6 7 8 9 10 11 12 " ]] ||
  fail "paging by 5: $pages pages, cursors \"$seen\", last cursor $cursor"
call end "/v1/changes?since=12" >/dev/null
body_is end '{"changes":[],"cursor":"12","more":false}' || fail "since the last cursor: $(cat "$T/end.b")"
call past "/v1/changes?since=1000" >/dev/null
body_is past '{"changes":[],"cursor":"1000","more":false}' || fail "since past the end: $(cat "$T/past.b")"
call big "/v1/changes?since=0&limit=100000" >/dev/null
grep -q '\],"cursor":"12","more":false}$' "$T/big.b" || fail "limit above 5000 is not taken as 5000"
call def "/v1/changes?since=0" >/dev/null
[[ $(grep -o '{"cursor":"' "$T/def.b" | wc -l) == 12 ]] || fail "no limit: not every change"
for q in "" "?since=" "?since=abc" "?since=0&limit=0" "?since=0&limit=x" "?since=$(printf '1%.0s' {1..65})"; do
  [[ $(call bad "/v1/changes$q") == 400 ]] || fail "/v1/changes$q: not 400"
done
ok "cursors: 12 changes in 3 pages of 5 (more: true, true, false); past the end: empty, same cursor; bad since or limit 400"

[[ $(sim bad put -d '{"certificateIdentifier":"x"}') == 400 ]] || fail "put of a non-certificate"
[[ $(sim bad put --data-binary "${LINES[0]}x") == 400 ]] || fail "put of text after the object"
[[ $(sim bad revoke -d '{"certificateIdentifier":"1.2.3"}') == 404 ]] || fail "revoke of an unknown identifier"
[[ $(sim bad revoke -d 'nope') == 400 ]] || fail "revoke without an identifier"
[[ $(sim bad put) == 405 ]] || fail "GET /_sim/put"
[[ $(sim bad nothing) == 404 ]] || fail "/_sim/nothing"
[[ $(call bad /v2/nothing) == 404 ]] || fail "/v2/nothing"
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$T/big.body"
[[ $(sim bad put --data-binary @"$T/big.body") == 413 ]] || fail "a 2 MiB body is not 413"
ok "/_sim/: bad put 400, unknown revoke 404, wrong method 405, unknown endpoint 404, 2 MiB body 413"

# ---- faults, changed while it runs ---------------------------------------------------
read -r c0 h0 x0 <<<"$(counts)"
faults '{"error_rate": 1}'
s=$(call err "/v1/certificates/$ID1")
[[ $s == 500 ]] && grep -q '"code":"internal_error"' "$T/err.b" || fail "error_rate 1: $s $(cat "$T/err.b")"
[[ $(sim stats stats) == 200 ]] || fail "/_sim/stats is subject to faults"
ok "error_rate 1: 500 internal_error (and /_sim/ still answers)"

faults '{"error_rate": 0, "garbage_rate": 1}'
for i in 1 2 3 4; do
  s=$(call garbage "/v1/certificates/$ID1")
  [[ $s == 200 ]] || fail "garbage_rate 1: status $s"
  # Either half an answer or an HTML page: never a complete JSON object.
  [[ -s $T/garbage.b && $(tail -c 2 "$T/garbage.b" | tr -d '\n') != *"}" ]] ||
    fail "garbage_rate 1: the body could be JSON: $(cat "$T/garbage.b")"
  if command -v jq >/dev/null && jq -e . "$T/garbage.b" >/dev/null 2>&1; then fail "jq parses the garbage"; fi
done
ok "garbage_rate 1: 200 with a body that is not JSON"

faults '{"garbage_rate": 0, "reset_rate": 1}'
rc=0
curl -s --noproxy '*' -m 10 -o /dev/null "${CREDS[@]}" "${PURPOSE[@]}" "http://127.0.0.1:$PORT/v1/certificates/$ID1" || rc=$?
[[ $rc == 56 || $rc == 52 ]] || fail "reset_rate 1: curl exit $rc, not 56 (reset) or 52 (empty reply)"
ok "reset_rate 1: the connection is reset (curl exit $rc)"

faults '{"reset_rate": 0, "hang_rate": 1}'
rc=0
curl -s --noproxy '*' -m 1 -o /dev/null "${CREDS[@]}" "${PURPOSE[@]}" "http://127.0.0.1:$PORT/v1/changes?since=0" || rc=$?
[[ $rc == 28 ]] || fail "hang_rate 1: curl exit $rc, not 28 (timed out)"
ok "hang_rate 1: no answer, curl --max-time 1 times out"

# took MIN MAX ARGS...: a fetch's time is within [MIN, MAX) seconds and its body intact.
took() {
  local min=$1 max=$2 t
  t=$(curl -s --noproxy '*' -m 10 -o "$T/timed.b" -w '%{time_total}' "${CREDS[@]}" "${PURPOSE[@]}" \
    "http://127.0.0.1:$PORT/v1/certificates/$ID2")
  body_is timed "{\"certificate\":${LINES[1]},\"revoked\":true}" || fail "timed fetch: body $(head -c 200 "$T/timed.b")"
  awk -v t="$t" -v a="$min" -v b="$max" 'BEGIN { exit !(t >= a && t < b) }' ||
    fail "a fetch took $t s, not from $min to $max s ($(cat "$T/faults.b"))"
  echo "$t"
}
faults '{"hang_rate": 0, "latency": 300}'
t=$(took 0.3 3)
ok "latency 300: a fetch takes $t s"
faults '{"latency": 100, "jitter": 200}'
t=$(took 0.1 3)
ok "latency 100, jitter 200: a fetch takes $t s"
faults '{"latency": 0, "jitter": 0, "slow_rate": 1, "slow_ms": 500}'
t=$(took 0.4 3)
ok "slow_rate 1, slow_ms 500: the body dribbles in over $t s, intact"

# Every protocol call since c0 met a fault: error 1, garbage 4, reset 1 and
# three timed fetches, one hung poll of the feed.
read -r c1 h1 x1 <<<"$(counts)"
[[ $((c1 - c0)) == 9 && $((x1 - x0)) == 1 && $h1 == "$h0" ]] ||
  fail "calls with faults counted: certificate +$((c1 - c0)) (not 9), changes +$((x1 - x0)) (not 1)"
ok "faulted calls are counted (certificate +9, changes +1)"

[[ $(sim faults faults -d '{"latency": 5, "error_rate": 1.5}') == 400 ]] || fail "error_rate 1.5 accepted"
[[ $(sim faults faults -d '{"latency": 5, "nope": 1}') == 400 ]] || fail "an unknown fault accepted"
[[ $(sim faults faults -d '{"latency": "5"}') == 400 ]] || fail "a string accepted"
[[ $(sim faults faults -d '[1]') == 400 ]] || fail "an array accepted"
sim faults faults >/dev/null
grep -q '"latency":0,' "$T/faults.b" || fail "a refused POST changed the faults: $(cat "$T/faults.b")"
faults '{"slow_rate": 0}'
[[ $(call back "/v1/certificates/$ID1") == 200 ]] || fail "faults off: not 200"
ok "bad fault settings 400, none of them applied; faults off: 200 again"

# ---- faults from the command line, refusals at start ---------------------------------
start_sim cli --data "$T/data.jsonl" --latency 200 --jitter 0 --error-rate 1 --hang-rate 0 \
  --reset-rate 0 --garbage-rate 0 --slow-rate 0 --slow-ms 250
sim faults faults >/dev/null
body_is faults '{"latency":200,"jitter":0,"error_rate":1,"hang_rate":0,"reset_rate":0,"garbage_rate":0,"slow_rate":0,"slow_ms":250,"close_rate":0}' ||
  fail "faults from the command line: $(cat "$T/faults.b")"
t=$(curl -s --noproxy '*' -m 10 -o "$T/cli.b" -w '%{http_code} %{time_total}' "${PURPOSE[@]}" \
  "http://127.0.0.1:$PORT/v1/certificates/$ID1")
[[ ${t% *} == 500 ]] && awk -v t="${t#* }" 'BEGIN { exit !(t >= 0.2) }' ||
  fail "--error-rate 1 --latency 200: $t"
faults '{"error_rate": 0, "latency": 0}'
[[ $(call cli "/v1/certificates/$ID1") == 200 ]] || fail "without --access-id no credentials are asked"
ok "faults from the command line (500 after $(printf %s "${t#* }") s), turned off through /_sim/faults"

refuse() { # refuse STATUS WORDS ARGS...
  local want=$1 words=$2 rc=0
  shift 2
  timeout 10 "$SIM" "$@" >"$T/refuse.out" 2>&1 || rc=$?
  [[ $rc == "$want" ]] || fail "certgw-upstream-sim $* exited $rc, not $want"
  grep -q -- "$words" "$T/refuse.out" || fail "certgw-upstream-sim $*: no \"$words\" in: $(cat "$T/refuse.out")"
}
sed '120s/"certificateHolderCode":"[0-9A-Z]*"/"certificateHolderCode":"110105194912310021"/' "$T/all.jsonl" >"$T/bad.jsonl"
refuse 1 "bad.jsonl:120: " --name x --listen 127.0.0.1:0 --data "$T/bad.jsonl"
{ head -n 3 "$T/all.jsonl"; echo '{"certificateIdentifier": "not json'; } >"$T/short.jsonl"
refuse 1 "short.jsonl:4: not valid JSON" --name x --listen 127.0.0.1:0 --data "$T/short.jsonl"
{ head -n 3 "$T/all.jsonl"; head -n 1 "$T/all.jsonl"; } >"$T/dup.jsonl"
refuse 1 "dup.jsonl:4: .* is on line 1 already" --name x --listen 127.0.0.1:0 --data "$T/dup.jsonl"
refuse 1 "cannot open" --name x --listen 127.0.0.1:0 --data "$T/missing.jsonl"
refuse 1 "in use" --name x --listen "127.0.0.1:$PORT" --data "$T/data.jsonl"
refuse 2 "needed" --listen 127.0.0.1:0 --data "$T/data.jsonl"
refuse 2 "probability" --name x --listen 127.0.0.1:0 --data "$T/data.jsonl" --error-rate 2
refuse 2 "not a number" --name x --listen 127.0.0.1:0 --data "$T/data.jsonl" --latency 1s
refuse 2 "--token" --name x --listen 127.0.0.1:0 --data "$T/data.jsonl" --access-id certgw
refuse 2 "HOST:PORT" --name x --listen 127.0.0.1 --data "$T/data.jsonl"
"$SIM" --help >"$T/help" || fail "--help"
for o in name listen data access-id token latency jitter error-rate hang-rate reset-rate garbage-rate \
  slow-rate slow-ms tls-cert tls-key help; do
  grep -q -- "--$o\b" "$T/help" || fail "--help does not list --$o"
done
ok "refused at start: a bad line (FILE:LINE: why), a duplicate, a missing file, a taken port, bad options; --help lists every option"

# ---- TLS ------------------------------------------------------------------------------
mkdir "$T/tls"
(
  cd "$T/tls"
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -subj /CN=certgw-test-ca -days 2 -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout sim.key -out sim.csr \
    -subj /CN=sim.test
  printf 'subjectAltName=DNS:sim.test,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n%s\n%s\n' \
    'keyUsage=critical,digitalSignature' 'extendedKeyUsage=serverAuth' >ext
  openssl x509 -req -in sim.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out sim.pem -days 2 -extfile ext
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -out /dev/null \
    -subj /CN=other
) >"$T/openssl.out" 2>&1 || { cat "$T/openssl.out" >&2; fail "openssl could not make the test CA"; }
start_sim tls --data "$T/data.jsonl" --tls-cert "$T/tls/sim.pem" --tls-key "$T/tls/sim.key"
s=$(curl -s --noproxy '*' -m 10 -o "$T/tls.b" -w '%{http_code}' --cacert "$T/tls/ca.pem" \
  --resolve "sim.test:$PORT:127.0.0.1" "${PURPOSE[@]}" "https://sim.test:$PORT/v1/certificates/$ID1") || true
[[ $s == 200 ]] && body_is tls "{\"certificate\":${LINES[0]}}" || fail "TLS with the CA: $s"
n=$(curl -s --noproxy '*' -m 10 -o /dev/null -o /dev/null -w '%{http_code} ' --cacert "$T/tls/ca.pem" "${PURPOSE[@]}" \
  "https://127.0.0.1:$PORT/v1/changes?since=0" "https://127.0.0.1:$PORT/v1/holders/$HOLDER/certificates") || true
[[ $n == "200 200 " ]] || fail "TLS by IP address, two calls on one connection: \"$n\""
rc=0
curl -s --noproxy '*' -m 10 -o /dev/null --resolve "sim.test:$PORT:127.0.0.1" "${PURPOSE[@]}" \
  "https://sim.test:$PORT/v1/certificates/$ID1" || rc=$?
[[ $rc == 60 ]] || fail "TLS without the CA: curl exit $rc, not 60 (certificate not trusted)"
rc=0
curl -s --noproxy '*' -m 10 -o /dev/null "${PURPOSE[@]}" "http://127.0.0.1:$PORT/v1/certificates/$ID1" || rc=$?
[[ $rc != 0 ]] || fail "plain HTTP to the TLS port succeeded"
refuse 1 "does not match" --name x --listen 127.0.0.1:0 --data "$T/data.jsonl" \
  --tls-cert "$T/tls/sim.pem" --tls-key "$T/tls/other.key"
ok "TLS: curl --cacert succeeds (by name and by address, keep-alive); without the CA it fails (60); a key that does not match is refused"

# ---- SIGTERM --------------------------------------------------------------------------
start_sim stop --data "$T/data.jsonl" --hang-rate 1
curl -s --noproxy '*' -m 10 -o /dev/null "${PURPOSE[@]}" "http://127.0.0.1:$PORT/v1/changes?since=0" &
hung=$!
for ((i = 0; i < 50; i++)); do
  [[ $(counts) == "0 0 1" ]] && break
  sleep 0.1
done
[[ $(counts) == "0 0 1" ]] || fail "the hanging call was not counted: $(cat "$T/stats.b")"
kill -TERM "$PID"
for ((i = 0; i < 50; i++)); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PID" 2>/dev/null && fail "still running 5 s after SIGTERM"
rc=0
wait "$PID" || rc=$?
[[ $rc == 0 ]] || fail "SIGTERM: exit status $rc, not 0"
wait "$hung" 2>/dev/null || true
left=()
for p in "${pids[@]}"; do [[ $p == "$PID" ]] || left+=("$p"); done
pids=("${left[@]}") # waited for: not to be killed again at the end
ok "SIGTERM with a connection hanging: exit 0"

echo "$checks passed, 0 failed"
