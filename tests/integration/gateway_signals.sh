#!/usr/bin/env bash
# certgw's signals and certctl venue (docs: CONTRACT "Signals"): venues are
# added, disabled, enabled and rotated with certctl and taken up on SIGHUP
# without dropping connections; a bad new config is refused while the old
# one keeps serving; SIGTERM drains (readiness 503, listeners closed,
# in-flight requests answered with Connection: close, exit 0 in time).
source "$(dirname "$0")/lib.sh"
export LC_ALL=C # byte counts: read -N counts characters

GW= SLOW= STUCK=
cleanup() {
  {
    [[ -n $SLOW ]] && kill "$SLOW" && wait "$SLOW"
    [[ -n $STUCK ]] && kill "$STUCK" && wait "$STUCK"
    [[ -n $GW ]] && kill -KILL "$GW" && wait "$GW"
  } 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT

# A port nobody listens on (bounded tries; certgw itself fails loudly if taken).
PORT=$((28000 + $$ % 2000)) # below the ephemeral ports (32768-)
for _ in $(seq 20); do
  (exec 9<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || break
  PORT=$((28000 + (PORT - 28000 + 7) % 2000))
done
URL=http://127.0.0.1:$PORT

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
# code [curl args…] URL: the HTTP status, or 000 when nothing answered.
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$@" || true; }
# log_count PATTERN: lines of certgw's standard error matching PATTERN.
log_count() { grep -c -- "$1" "$T/gw.err" || true; }
# wait_log PATTERN N: waits (at most 5 s) until PATTERN is on N lines.
wait_log() {
  for _ in $(seq 100); do
    [[ $(log_count "$1") -ge $2 ]] && return 0
    sleep 0.05
  done
  cat "$T/gw.err" >&2
  fail "certgw did not log \"$1\" ($2 times)"
}
metric() { curl -s --max-time 3 "$URL/metrics" | sed -n "s/^$1 //p"; }
# req FD PATH [KEY]: one request on the open connection FD; prints the
# status and leaves the headers and body in $T/resp. Run it in $(…): a write
# to a connection the server closed then kills only the subshell.
req() {
  local fd=$1 line len=0
  if [[ -n ${3:-} ]]; then
    printf 'GET %s HTTP/1.1\r\nHost: it\r\nAuthorization: Bearer %s\r\n\r\n' "$2" "$3" >&"$fd"
  else
    printf 'GET %s HTTP/1.1\r\nHost: it\r\n\r\n' "$2" >&"$fd"
  fi
  IFS= read -r -t 3 -u "$fd" line || return 1
  line=${line%$'\r'}
  : >"$T/resp"
  while IFS= read -r -t 3 -u "$fd" h; do
    h=${h%$'\r'}
    [[ -z $h ]] && break
    echo "$h" >>"$T/resp"
    if [[ ${h,,} == content-length:* ]]; then len=${h#*:}; len=${len// /}; fi
  done
  if ((len > 0)); then
    IFS= read -r -N "$len" -t 3 -u "$fd" body || return 1
    printf '%s' "$body" >>"$T/resp"
  fi
  line=${line#HTTP/1.1 }
  echo "${line%% *}"
}

"$BIN/certctl" demo "$T/d" --count 500 --port "$PORT" >"$T/out" 2>&1 || { cat "$T/out"; fail "demo"; }
CONF=$T/d/certgw.conf
grep -q '^drain_delay' "$CONF" && fail "the demo config sets drain_delay already"
sed -i '/^\[server\]/a drain_delay = 1000\ndrain_timeout = 3000' "$CONF"
cp "$CONF" "$T/good.conf"
CERT=$(grep -o '"1\.2\.156\.3005\.2\.[^"]*"' "$T/d/demo.json" | sed -n 1p | tr -d '"')
[[ -n $CERT ]] || fail "no sample certificate in demo.json"
ok "demo deployment on port $PORT with a 1 s drain delay"

# ---- certgw --help and --check ---------------------------------------------------------

"$BIN/certgw" --help >"$T/out" || fail "certgw --help exit status"
grep -q -- "--check" "$T/out" || fail "--help does not mention --check"
"$BIN/certgw" -c "$CONF" --check >"$T/out" 2>&1 || { cat "$T/out"; fail "--check on the demo config"; }
grep -q "is valid" "$T/out" || fail "--check says nothing"
sed '/^\[server\]/a bogus = 1' "$CONF" >"$T/d/bad.conf"
line=$(grep -n '^bogus' "$T/d/bad.conf" | cut -d: -f1)
rc=0; "$BIN/certgw" -c "$T/d/bad.conf" --check >"$T/out" 2>&1 || rc=$?
[[ $rc -ne 0 ]] || fail "--check passed a config with an unknown key"
grep -q "bad.conf:$line:.*bogus" "$T/out" || { cat "$T/out"; fail "--check does not name line $line"; }
ok "certgw --help exits 0; --check passes the demo config and names line $line of a bad one"

# ---- certctl venue: the command line ---------------------------------------------------

V() { "$BIN/certctl" venue "$@"; }
# status of a certctl venue run, its output in $T/out and $T/err
vrc() { local rc=0; V "$@" >"$T/out" 2>"$T/err" || rc=$?; echo "$rc"; }

[[ $(vrc --help) == 0 ]] && grep -q "rotate" "$T/out" || fail "venue --help"
[[ $(vrc add --help) == 0 ]] || fail "venue add --help"
[[ $(vrc add -c "$CONF" --name x --scope department) == 2 ]] || fail "add without --id: not 2"
[[ $(vrc add --id a --name x --scope department) == 2 ]] || fail "add without -c/-d: not 2"
[[ $(vrc frobnicate -c "$CONF") == 2 ]] || fail "unknown venue command: not 2"
[[ $(vrc list -c "$CONF" --id x) == 2 ]] || fail "list --id: not 2"
[[ $(vrc add -c "$CONF" --id a --name x --scope department --rate fast) == 2 ]] || fail "--rate fast"
ok "venue: --help exits 0, usage errors exit 2"

[[ $(vrc add -c "$CONF" --id Bad_Id --name x --scope department) == 1 ]] || fail "bad id: not 1"
grep -q "Bad_Id.*not a venue id" "$T/err" || { cat "$T/err"; fail "bad id: no reason"; }
[[ $(vrc add -c "$CONF" --id it-x --name x --scope nosuch) == 1 ]] || fail "unknown scope: not 1"
grep -q "nosuch" "$T/err" || { cat "$T/err"; fail "unknown scope: no reason"; }
[[ $(vrc add -c "$CONF" --id it-x --name x --scope hotel --credit-code 91370102MA3C7T2K73) == 1 ]] ||
  fail "bad credit code: not 1"
grep -q "credit code" "$T/err" || { cat "$T/err"; fail "bad credit code: no reason"; }
[[ $(vrc add -d "$T/nowhere" --id it-x --name x --scope hotel) == 1 ]] || fail "missing store: not 1"
[[ ! -e $T/nowhere ]] || fail "a store was made for a mistyped -d"
[[ $(vrc list -c "$CONF" --json) == 0 ]] || fail "list --json"
[[ $(grep -c '"id":' "$T/out") == 2 ]] || { cat "$T/out"; fail "a refused add stored a venue"; }
ok "venue add refuses a bad id, an unknown scope, a bad credit code, a missing store"

# certgw runs from here on, and a keep-alive connection stays open across
# the reloads below.
start_gw
exec 3<>"/dev/tcp/127.0.0.1/$PORT" || fail "keep-alive connection"
[[ $(req 3 /healthz) == 200 ]] || fail "first request on the keep-alive connection"

# The department venue, with a real credit code (the demo's 政务服务中心 one).
CODE=$(grep -o '"creditCode":[[:space:]]*"[0-9A-Z]*"' "$T/out" | sed -n 1p | grep -o '[0-9A-Z]\{18\}')
[[ $(vrc add -c "$CONF" --id it-dept --name "测试部门" --scope department --credit-code "$CODE" --rate 100) == 0 ]] ||
  { cat "$T/err"; fail "venue add"; }
DKEY=$(head -n1 "$T/out")
[[ $DKEY =~ ^cgk_[0-9a-f]{48}$ ]] || fail "first line is not the key alone: $DKEY"
[[ $(grep -c -F "$DKEY" "$T/out") == 1 ]] || fail "key printed more than once"
grep -q "cannot be shown again" "$T/out" || fail "add does not say the key cannot be shown again"
grep -q "SIGHUP" "$T/out" || fail "add does not mention SIGHUP"
echo "$DKEY" >"$T/keys"
[[ $(vrc add -c "$CONF" --id it-dept --name again --scope hotel) == 1 ]] || fail "duplicate: not 1"
grep -q "exists already" "$T/err" || { cat "$T/err"; fail "duplicate: no reason"; }
ok "venue add prints the key once on its first line; a duplicate id is refused"

[[ $(vrc add -d "$T/d/data" --id it-hotel --name "测试酒店" --scope hotel --json) == 0 ]] || fail "add --json"
grep -q '^{"id":"it-hotel","key":"cgk_[0-9a-f]\{48\}","scope":"hotel"}$' "$T/out" ||
  { cat "$T/out"; fail "add --json output"; }
HKEY=$(grep -o 'cgk_[0-9a-f]*' "$T/out")
echo "$HKEY" >>"$T/keys"
grep -q "SIGHUP" "$T/err" || fail "add --json says nothing of SIGHUP on stderr"
ok "venue add --json prints {id, key, scope}"

[[ $(vrc list -c "$CONF") == 0 ]] || fail "list"
cp "$T/out" "$T/list.txt"
[[ $(vrc list -d "$T/d/data" --json) == 0 ]] || fail "list --json"
cp "$T/out" "$T/list.json"
grep -q "it-dept.*department.*enabled.*$CODE.*测试部门" "$T/list.txt" || { cat "$T/list.txt"; fail "list row"; }
[[ $(grep -c '"id":' "$T/list.json") == 4 ]] || fail "list --json does not hold 4 venues"
for k in $DKEY $HKEY; do
  h=$(printf '%s' "$k" | sha256sum | cut -c1-64)
  ! grep -q -e "$k" -e "$h" -e cgk_ "$T/list.txt" "$T/list.json" || fail "list shows a key or its hash"
done
ok "venue list shows id, scope, name, credit code, state; never a key or its hash"

# ---- SIGHUP: venues taken up, connections kept -----------------------------------------

[[ $(code -H "Authorization: Bearer $DKEY" "$URL/v1/certificates/$CERT") == 401 ]] ||
  fail "a venue added after the start is known before SIGHUP"
gen=$(metric certgw_config_generation)
kill -HUP "$GW"
wait_log "configuration 2 reloaded (4 venues" 1
[[ $(code -H "Authorization: Bearer $DKEY" "$URL/v1/certificates/$CERT") == 200 ]] ||
  fail "the new department venue's key does not fetch after SIGHUP"
[[ $(code -H "Authorization: Bearer $HKEY" "$URL/v1/certificates/$CERT") == 403 ]] ||
  fail "the new hotel venue fetches (its scope has fetch = no)"
[[ $(metric certgw_config_generation) == $((gen + 1)) ]] || fail "generation did not move on"
st=$(req 3 /healthz) || st=none
[[ $st == 200 ]] || fail "the connection opened before SIGHUP does not answer after it ($st)"
st=$(req 3 "/v1/certificates/$CERT" "$DKEY") || st=none
[[ $st == 200 ]] || fail "fetch on the old connection with the new key ($st)"
grep -q -F "\"$CERT\"" "$T/resp" || fail "the answer on the old connection is not the certificate"
ok "SIGHUP: a new venue's key fetches; the connection opened before still answers"

[[ $(vrc disable -c "$CONF" --id it-dept) == 0 ]] || fail "disable"
grep -q "SIGHUP" "$T/out" || fail "disable does not mention SIGHUP"
grep -q '"disabled":[[:space:]]*true' <(V list -c "$CONF" --json | grep -A6 '"it-dept"') || fail "list: not disabled"
[[ $(vrc disable -c "$CONF" --id it-nobody) == 1 ]] || fail "disable of an unknown venue: not 1"
[[ $(code -H "Authorization: Bearer $DKEY" "$URL/v1/certificates/$CERT") == 200 ]] ||
  fail "disabling took effect before SIGHUP"
kill -HUP "$GW"
wait_log "configuration 3 reloaded" 1
[[ $(code -H "Authorization: Bearer $DKEY" "$URL/v1/certificates/$CERT") == 401 ]] ||
  fail "a disabled venue's key is not refused after SIGHUP"
# This connection authenticated with the key before: no stale venue.
st=$(req 3 "/v1/certificates/$CERT" "$DKEY") || st=none
[[ $st == 401 ]] || fail "the old connection still accepts the disabled key ($st)"
ok "disable + SIGHUP: 401, also on a connection that used the key before"

[[ $(vrc enable -d "$T/d/data" --id it-dept) == 0 ]] || fail "enable"
grep -q "SIGHUP" "$T/out" || fail "enable does not mention SIGHUP"
kill -HUP "$GW"
wait_log "configuration 4 reloaded" 1
[[ $(code -H "Authorization: Bearer $DKEY" "$URL/v1/certificates/$CERT") == 200 ]] ||
  fail "an enabled venue's key is refused after SIGHUP"
ok "enable + SIGHUP: the key fetches again"

[[ $(vrc rotate -c "$CONF" --id it-dept) == 0 ]] || fail "rotate"
NKEY=$(head -n1 "$T/out")
[[ $NKEY =~ ^cgk_[0-9a-f]{48}$ && $NKEY != "$DKEY" ]] || fail "rotate: first line is not a new key"
[[ $(grep -c cgk_ "$T/out") == 1 ]] || fail "rotate printed a key more than once"
grep -q "SIGHUP" "$T/out" || fail "rotate does not mention SIGHUP"
[[ $(vrc rotate -c "$CONF" --id it-nobody) == 1 ]] || fail "rotate of an unknown venue: not 1"
echo "$NKEY" >>"$T/keys"
V list -c "$CONF" >"$T/list.txt" 2>&1
! grep -q -F -f "$T/keys" "$T/list.txt" || fail "list shows a key after rotate"
kill -HUP "$GW"
wait_log "configuration 5 reloaded" 1
[[ $(code -H "Authorization: Bearer $DKEY" "$URL/v1/certificates/$CERT") == 401 ]] ||
  fail "the old key still works after rotate + SIGHUP"
[[ $(code -H "Authorization: Bearer $NKEY" "$URL/v1/certificates/$CERT") == 200 ]] ||
  fail "the new key does not work after rotate + SIGHUP"
st=$(req 3 /healthz) || st=none
[[ $st == 200 ]] || fail "the keep-alive connection did not survive four reloads ($st)"
exec 3>&-
ok "rotate + SIGHUP: old key 401, new key 200; the connection survived four reloads"

# ---- SIGHUP with a bad config: refused, the old one keeps serving ------------------------

gen=$(metric certgw_config_generation)
sed -i '/^\[server\]/a bogus = 1' "$CONF"
kill -HUP "$GW"
wait_log "configuration is refused" 1
grep "configuration is refused" "$T/gw.err" | grep -q "bogus" || fail "the refusal does not say why"
kill -0 "$GW" 2>/dev/null || fail "certgw died of a bad config"
[[ $(code "$URL/healthz") == 200 ]] || fail "healthz after a refused reload"
[[ $(code "$URL/readyz") == 200 ]] || fail "readyz after a refused reload"
[[ $(code -H "Authorization: Bearer $NKEY" "$URL/v1/certificates/$CERT") == 200 ]] ||
  fail "fetch after a refused reload"
[[ $(metric certgw_config_generation) == "$gen" ]] || fail "a refused config changed the generation"
cp "$T/good.conf" "$CONF"
kill -HUP "$GW"
wait_log "configuration $((gen + 1)) reloaded" 1
[[ $(code -H "Authorization: Bearer $NKEY" "$URL/v1/certificates/$CERT") == 200 ]] ||
  fail "fetch after the restored config"
ok "SIGHUP with an unknown key: refused, old config serves; restored config reloads"

# A venue whose scope the config lacks makes the whole reload fail, too.
[[ $(vrc add -d "$T/d/data" --id it-ghost --name ghost --scope ghost) == 0 ]] || fail "add with -d"
V list -c "$CONF" >/dev/null 2>"$T/err" || fail "list with a scope-less venue"
grep -q "it-ghost.*ghost" "$T/err" || fail "list does not warn of the missing scope"
rc=0; "$BIN/certgw" -c "$CONF" --check >"$T/out" 2>&1 || rc=$?
[[ $rc == 1 ]] && grep -q "it-ghost" "$T/out" || { cat "$T/out"; fail "--check passed a venue without its scope"; }
kill -HUP "$GW"
wait_log "configuration is refused" 2
[[ $(metric certgw_venues) == 4 ]] || fail "a refused reload changed the venues"
[[ $(code -H "Authorization: Bearer $NKEY" "$URL/v1/certificates/$CERT") == 200 ]] ||
  fail "fetch after the scope-less venue's refused reload"
printf '\n[scope ghost]\ntypes = *\nfields = *\n' >>"$CONF"
kill -HUP "$GW"
wait_log "configuration $((gen + 2)) reloaded (5 venues" 1
ok "SIGHUP with a venue whose scope is missing: refused; with the scope: reloaded"

# ---- SIGTERM: drain ----------------------------------------------------------------------

# A slow client sends half its request head now and the rest 2 s later:
# after the 1 s drain delay, while the drain is finishing requests.
printf 'GET /v1/certificates/%s HTTP/1.1\r\nHost: it\r\nAuthorization: Bearer %s\r\n\r\n' \
  "$CERT" "$NKEY" >"$T/slow.req"
half=$(($(wc -c <"$T/slow.req") / 2))
"$BUILD/tests/rawhttp" "$PORT" --chunk "$half" --delay 2000 --timeout 4000 <"$T/slow.req" >"$T/slow.out" 2>&1 &
SLOW=$!
# A stuck client never finishes its head: only the drain timeout ends it.
printf 'GET /healthz HTTP/1.1\\r\\nHost: it\\r\\n' |
  "$BUILD/tests/rawhttp" "$PORT" --timeout 8000 >"$T/stuck.out" 2>&1 &
STUCK=$!
exec 4<>"/dev/tcp/127.0.0.1/$PORT" || fail "idle keep-alive connection"
[[ $(req 4 /healthz) == 200 ]] || fail "request on the idle connection"
sleep 0.3
t0=$(now_ms)
kill -TERM "$GW"
wait_log "draining" 1
[[ $(code "$URL/readyz") == 503 ]] || fail "readyz is not 503 during the drain delay"
[[ $(code "$URL/healthz") == 200 ]] || fail "healthz is not 200 during the drain delay"
[[ $(code -H "Authorization: Bearer $NKEY" "$URL/v1/certificates/$CERT") == 200 ]] ||
  fail "requests are not served as usual during the drain delay"
(($(now_ms) - t0 < 1000)) || fail "the checks of the delay took longer than the delay"
ok "SIGTERM: /readyz 503, /healthz and fetches 200 during drain_delay"

while (($(now_ms) - t0 < 1300)); do sleep 0.05; done
rc=0; curl -s -o /dev/null --max-time 2 "$URL/healthz" || rc=$?
[[ $rc == 7 ]] || fail "a new connection was not refused after the drain delay (curl: $rc)"
rc=0; IFS= read -r -t 2 -u 4 _ || rc=$?
[[ $rc == 1 ]] || fail "the idle keep-alive connection was not closed after the delay ($rc)"
exec 4>&-
ok "after the delay: new connections refused, the idle keep-alive connection closed"

for _ in $(seq 120); do kill -0 "$GW" 2>/dev/null || break; sleep 0.05; done
t1=$(now_ms)
kill -0 "$GW" 2>/dev/null && fail "certgw still runs $((t1 - t0)) ms after SIGTERM"
rc=0; wait "$GW" || rc=$?
GW=
[[ $rc == 0 ]] || fail "certgw exited $rc after SIGTERM"
((t1 - t0 <= 1000 + 3000 + 1000)) || fail "certgw took $((t1 - t0)) ms to drain"
grep -q "drained, exiting" "$T/gw.err" || fail "no word of the drain in the log"
wait "$SLOW" || true
SLOW=
grep -q '^HTTP/1.1 200 ' "$T/slow.out" || { cat "$T/slow.out"; fail "the in-flight request was not answered"; }
grep -qi '^Connection: close' "$T/slow.out" || { cat "$T/slow.out"; fail "the in-flight answer lacks Connection: close"; }
grep -q "$CERT" "$T/slow.out" || fail "the in-flight answer is not the certificate"
grep -q '^<<closed>>' "$T/slow.out" || fail "the in-flight connection was not closed"
wait "$STUCK" || true
STUCK=
grep -q '^<<closed>>' "$T/stuck.out" || { cat "$T/stuck.out"; fail "the stuck connection was left open"; }
ok "in-flight request answered with Connection: close; a stuck one closed; exit 0 after $((t1 - t0)) ms"

# ---- SIGHUP in quick succession: no snapshot is lost ------------------------------------

# Each snapshot (config and venues) is a few hundred KB. 150 reloads in
# about a second must not keep 150 of them: old ones are freed once every
# worker has moved on, however many reloads came in between.
start_gw
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$GW/status"; }
before=$(rss)
n=$(log_count "reloaded")
for _ in $(seq 150); do kill -HUP "$GW"; sleep 0.005; done
wait_log "reloaded" $((n + 100))
sleep 0.3
after=$(rss)
[[ $(code -H "Authorization: Bearer $NKEY" "$URL/v1/certificates/$CERT") == 200 ]] ||
  fail "fetch after 150 reloads"
# Under AddressSanitizer freed memory sits in quarantine, so RSS says
# nothing there; LeakSanitizer checks the same thing at exit instead.
if [[ -z ${CG_SANITIZED:-} ]]; then
  ((after - before < 20000)) ||
    fail "150 quick SIGHUPs grew certgw from $before kB to $after kB: replaced snapshots are not freed"
fi
kill -TERM "$GW"
rc=0; wait "$GW" || rc=$?
GW=
[[ $rc == 0 ]] || fail "certgw exited $rc after SIGTERM"
ok "150 quick SIGHUPs: $before kB -> $after kB"

echo "$checks passed, 0 failed"
