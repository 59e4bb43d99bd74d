#!/usr/bin/env bash
# POST /v1/scan against the real certgw (issue 6; docs/api.md, docs/qr-code.md,
# docs/audit.md): a scan per scope with masking and scoped types; 403, 404
# and --types; every error status of the route, a code changed at each
# character position, an expired code, unknown key ids and key rotation;
# single-use scopes; the rate limit with Retry-After; the audit written and
# queried, never holding a holder code; its durability on SIGTERM (nothing
# lost) and after kill -9 (at most the last 100 ms); and a real QR round trip
# (mint --png, zbarimg, scan).
source "$(dirname "$0")/lib.sh"
export LC_ALL=C.UTF-8 # names are counted in characters; EPOCHREALTIME has a '.'

GW= LOOPS=()
cleanup() {
  # (set -e holds here too: a failed kill or wait must not skip the rm)
  {
    for p in "${LOOPS[@]}"; do kill "$p" && wait "$p" || true; done
    [[ -n $GW ]] && kill -KILL "$GW" && wait "$GW" || true
  } 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT

# A port nobody listens on (bounded tries; certgw itself fails loudly if taken).
PORT=$((24000 + $$ % 2000)) # below the ephemeral ports (32768-)
for _ in $(seq 20); do
  (exec 9<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || break
  PORT=$((24000 + (PORT - 24000 + 7) % 2000))
done
URL=http://127.0.0.1:$PORT

log_count() { grep -c -- "$1" "$T/gw.err" || true; }
wait_log() { # wait_log PATTERN N: at most 5 s until PATTERN is on N lines of certgw's stderr
  for _ in $(seq 100); do
    [[ $(log_count "$1") -ge $2 ]] && return 0
    sleep 0.05
  done
  cat "$T/gw.err" >&2
  fail "certgw did not log \"$1\" ($2 times)"
}
reloads=0
reload() { # SIGHUP and wait until it is taken up
  reloads=$((reloads + 1))
  kill -HUP "$GW"
  wait_log "reloaded" "$reloads"
}

# ---- requests --------------------------------------------------------------------------------

# body CODE PURPOSE [MATTER]: a scan's JSON body.
body() {
  if [[ -n ${3:-} ]]; then
    printf '{"code":"%s","purpose":"%s","matter":"%s"}' "$1" "$2" "$3"
  else
    printf '{"code":"%s","purpose":"%s"}' "$1" "$2"
  fi
}
# post KEY BODY [curl args…]: POST /v1/scan; the status in $st, the answer in
# $T/r.hdr and $T/r.body, what was sent in $sent (for messages). KEY may be "".
post() {
  local key=$1 data=$2
  shift 2
  local auth=()
  [[ -n $key ]] && auth=(-H "Authorization: Bearer $key")
  sent="POST /v1/scan key=${key:-none} body=$data"
  st=$(curl -s --max-time 5 -o "$T/r.body" -D "$T/r.hdr" -w '%{http_code}' "${auth[@]}" \
    -H 'Content-Type: application/json' --data-binary "$data" "$@" "$URL/v1/scan") || st=000
}
# scan KEY CODE PURPOSE [MATTER]
scan() { post "$1" "$(body "$2" "$3" "${4:-}")"; }
errcode() { sed -n 's/.*"error":[[:space:]]*{[[:space:]]*"code":[[:space:]]*"\([a-z_]*\)".*/\1/p' "$T/r.body"; }
errmsg() { sed -n 's/.*"message":[[:space:]]*"\([^"]*\)".*/\1/p' "$T/r.body"; }
header() { tr -d '\r' <"$T/r.hdr" | sed -n "s/^$1:[[:space:]]*//Ip" | tail -n1; }
answer() { echo "$sent -> $st $(head -c 600 "$T/r.body")"; }
# expect STATUS [ERROR-CODE] WHAT: the last answer's status and error code.
expect() {
  local want=$1 code=${2:-}
  [[ $st == "$want" ]] || fail "$3: expected $want${code:+ $code}, got: $(answer)"
  [[ -z $code || $(errcode) == "$code" ]] || fail "$3: expected error code $code, got: $(answer)"
  if [[ -n $code ]]; then
    [[ -n $(errmsg) ]] || fail "$3: the error has no message: $(answer)"
  fi
}
mint() { "$BIN/certctl" mint -c "$CONF" "$@" 2>"$T/mint.err" || { cat "$T/mint.err" >&2; fail "certctl mint $*"; }; }
# many OUTDIR KEY [--parallel] BODYFILE…: one curl process, keep-alive, one
# scan for each body file; the answers in OUTDIR/0, 1, …; prints
# "INDEX STATUS" lines.
many() {
  local out=$1 key=$2 par=() i=0 cfg=$T/many.cfg
  shift 2
  if [[ $1 == --parallel ]]; then
    par=(--parallel --parallel-max 8)
    shift
  fi
  mkdir -p "$out"
  : >"$cfg"
  for f in "$@"; do
    ((i > 0)) && echo next >>"$cfg"
    printf 'url = "%s/v1/scan"\nheader = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\ndata-binary = "@%s"\noutput = "%s/%d"\nwrite-out = "%d %%{http_code}\\n"\nsilent\nmax-time = 10\n' \
      "$URL" "$key" "$f" "$out" "$i" "$i" >>"$cfg"
    i=$((i + 1))
  done
  curl -s "${par[@]}" -K "$cfg" 2>/dev/null || true # (--parallel draws a meter on stderr)
}

# The key id of a code: the second byte of the binary, i.e. of the first
# Base45 triple (version * 256 + key id).
B45='0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:'
b45v() { local p=${B45%%"$1"*}; echo "${#p}"; }
kid_of() {
  local s=${1#CG1:}
  echo $((($(b45v "${s:0:1}") + 45 * $(b45v "${s:1:1}") + 2025 * $(b45v "${s:2:1}")) & 255))
}
newkey() { od -An -tx1 -N16 /dev/urandom | tr -d ' \n'; }

# ---- the deployment --------------------------------------------------------------------------

"$BIN/certctl" demo "$T/d" --count 500 --port "$PORT" >"$T/out" 2>&1 || { cat "$T/out"; fail "demo"; }
strip_upstream "$T/d/certgw.conf" # scans of the local store: gateway_upstream.sh asks platforms
CONF=$T/d/certgw.conf
DATA=$T/d/data
# No drain delay: SIGTERM closes the listener at once, so the audit's
# writer has no spare time to file what it was handed.
sed -i '/^\[server\]/a drain_delay = 0\ndrain_timeout = 3000' "$CONF"
# Scopes for the tests below; venues come with certctl venue add.
cat >>"$CONF" <<'EOF'

[scope noscan]
types = *
fields = *
scan = no
fetch = yes

[scope once]
types = *
fields = *
scan = yes
single_use = yes

[scope slow]
types = *
fields = *
scan = yes
rate = 2
burst = 2

[scope noholder]
types = *
fields = certificateIdentifier, certificateName
scan = yes
EOF
"$BIN/certgw" -c "$CONF" --check >"$T/out" 2>&1 || { cat "$T/out"; fail "--check with the test scopes"; }

flat=$(tr -d '\n\t' <"$T/d/demo.json")
venue() { # venue SCOPE FIELD: of the demo venue with that scope
  grep -o '"id":"[^"]*","key":"[^"]*","scope":"'"$1"'"' <<<"$flat" | head -n1 |
    sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p"
}
HOTEL=$(venue hotel id) HKEY=$(venue hotel key) DEPT=$(venue department id) DKEY=$(venue department key)
[[ -n $HOTEL && $HKEY == cgk_* && -n $DEPT && $DKEY == cgk_* ]] || fail "venues not found in demo.json"

# The hotel's types: [scope hotel] types of the config (a list that may
# continue on indented lines).
mapfile -t HTYPES < <(awk '/^\[/ { s = ($0 == "[scope hotel]"); t = 0; next }
  s && /^types[[:space:]]*=/ { t = 1; sub(/^types[[:space:]]*=/, ""); print; next }
  t && /^[[:space:]]/ { print; next } { t = 0 }' "$CONF" | tr ',' '\n' | tr -d ' \t' | grep .)
((${#HTYPES[@]} > 0)) || fail "no types in [scope hotel]"
hotel_type() { local t; for t in "${HTYPES[@]}"; do [[ $1 == "$t" ]] && return 0; done; return 1; }
type_of() { cut -d. -f6 <<<"$1"; } # of an identifier

# Holders of demo.json: "code", "type", then "certificates".
mapfile -t HOLDERS < <(grep -o '{"code":"[^"]*","type":"[0-9]*","certificates":\[[^]]*\]' <<<"$flat")
holder_code() { sed -n 's/^{"code":"\([^"]*\)".*/\1/p' <<<"$1"; }
holder_type() { sed -n 's/.*"type":"\([0-9]*\)".*/\1/p' <<<"$1"; }
holder_ids() { grep -o '1\.2\.156\.3005\.2\.[^"]*' <<<"$1"; }
# A citizen with certificates of hotel types and of others (MIX), citizens
# with none of the hotel's types among those listed (OUT candidates), and an
# organisation.
MIX= ORG= OUTS=()
for h in "${HOLDERS[@]}"; do
  ty=$(holder_type "$h")
  if [[ $ty == 001 ]]; then
    [[ -z $ORG ]] && ORG=$h
    continue
  fi
  nin=0 nout=0
  for id in $(holder_ids "$h"); do
    if hotel_type "$(type_of "$id")"; then nin=$((nin + 1)); else nout=$((nout + 1)); fi
  done
  ((nin > 0 && nout > 0)) && [[ -z $MIX ]] && MIX=$h
  ((nin == 0)) && OUTS+=("$h")
done
[[ -n $MIX && -n $ORG && ${#OUTS[@]} -gt 0 ]] || fail "demo.json lacks the holders this test needs"
H=$(holder_code "$MIX")
mapfile -t H_IDS < <(holder_ids "$MIX")
ok "demo deployment on port $PORT: hotel $HOTEL, department $DEPT; holder $H with ${#H_IDS[@]} certificates"

start_gw

# ---- a scan per scope ---------------------------------------------------------------------------

CODE=$(mint --holder "$H")
scan "$DKEY" "$CODE" "it department check" "DEPT-MATTER-1"
expect 200 "" "department scan"
cp "$T/r.body" "$T/dept.json"
grep -q '"scan_id":"[0-9a-f]\{32\}"' "$T/dept.json" || fail "department: no scan_id of 32 hex: $(answer)"
DEPT_SCAN=$(sed -n 's/.*"scan_id":"\([0-9a-f]*\)".*/\1/p' "$T/dept.json")
grep -q "\"holder\":{\"type\":\"111\",\"code\":\"$H\",\"name\":\"[^\"*]*\"" "$T/dept.json" ||
  fail "department: holder is not {type 111, code $H, full name}: $(answer)"
NAME=$(sed -n 's/.*"holder":{[^}]*"name":"\([^"]*\)".*/\1/p' "$T/dept.json")
((${#NAME} >= 2)) || fail "department: holder name \"$NAME\""
for id in "${H_IDS[@]}"; do
  grep -q "\"certificateIdentifier\":\"$id\"" "$T/dept.json" || fail "department: $id missing: $(answer)"
done
ncert=$(grep -o '"certificateIdentifier":' "$T/dept.json" | wc -l)
[[ $(grep -o '"seal":{"status":"[a-z]*"' "$T/dept.json" | wc -l) == "$ncert" ]] ||
  fail "department: not every certificate has seal.status"
[[ $(grep -o '"signature":"[^"]*"' "$T/dept.json" | wc -l) == "$ncert" ]] ||
  fail "department: not every certificate has its seal's signature"
[[ $(grep -o '"valid":\(true\|false\)' "$T/dept.json" | wc -l) == "$ncert" ]] ||
  fail "department: not every certificate has valid"
[[ $(grep -o '"valid":true' "$T/dept.json" | wc -l) -ge ${#H_IDS[@]} ]] ||
  fail "department: fewer valid certificates than demo.json lists"
grep -q '"seal":{"status":"verified"' "$T/dept.json" || fail "department: no verified seal"
grep -o '"certificateTypeCode":"[^"]*"' "$T/dept.json" | cut -d'"' -f4 | sort -u >"$T/dept.types"
grep -q -v -x -F -f <(printf '%s\n' "${HTYPES[@]}") "$T/dept.types" ||
  fail "department: sees only the hotel's types"
grep -q '"data":{' "$T/dept.json" || fail "department: no data fields"
ok "department scan: 200, scan_id, holder in full, all $ncert certificates with seal, signature and valid"

scan "$HKEY" "$CODE" "it hotel check-in" "HOTEL-CHECKIN-1"
expect 200 "" "hotel scan"
cp "$T/r.body" "$T/hotel.json"
HOTEL_SCAN=$(sed -n 's/.*"scan_id":"\([0-9a-f]*\)".*/\1/p' "$T/hotel.json")
[[ $HOTEL_SCAN =~ ^[0-9a-f]{32}$ && $HOTEL_SCAN != "$DEPT_SCAN" ]] || fail "hotel: scan_id \"$HOTEL_SCAN\""
mcode="${H:0:4}**********${H:14:4}"
hcode=$(sed -n 's/.*"holder":{[^}]*"code":"\([^"]*\)".*/\1/p' "$T/hotel.json")
hname=$(sed -n 's/.*"holder":{[^}]*"name":"\([^"]*\)".*/\1/p' "$T/hotel.json")
grep -q '"holder":{"type":"111",' "$T/hotel.json" || fail "hotel: holder type: $(answer)"
[[ $hcode == "$mcode" ]] || fail "hotel: holder code \"$hcode\", not masked as $mcode"
[[ $hname =~ ^(.)(\*+)$ && ${BASH_REMATCH[1]} == "${NAME:0:1}" ]] ||
  fail "hotel: holder name \"$hname\" is not \"${NAME:0:1}\" and stars (name $NAME)"
! grep -q -F -e "$H" -e "$NAME" "$T/hotel.json" || fail "hotel: the answer holds the plain code or name"
grep -o '"certificateHolderCode":"[^"]*"' "$T/hotel.json" | grep -v -q -F "\"$mcode\"" &&
  fail "hotel: a certificate's holder code is not masked"
grep -o '"certificateHolderName":"[^"]*"' "$T/hotel.json" | grep -v -q -F "\"$hname\"" &&
  fail "hotel: a certificate's holder name is not masked"
grep -o '"certificateTypeCode":"[^"]*"' "$T/hotel.json" | cut -d'"' -f4 | sort -u >"$T/hotel.types"
[[ -s $T/hotel.types ]] || fail "hotel: no certificates"
while read -r ty; do hotel_type "$ty" || fail "hotel: sees type $ty, outside its scope"; done <"$T/hotel.types"
want=$(grep -x -F -f <(printf '%s\n' "${HTYPES[@]}") "$T/dept.types" | tr '\n' ' ')
[[ $(tr '\n' ' ' <"$T/hotel.types") == "$want" ]] ||
  fail "hotel: types $(tr '\n' ' ' <"$T/hotel.types")but the holder has $want in its scope"
nh=$(grep -o '"certificateIdentifier":' "$T/hotel.json" | wc -l)
[[ $(grep -o '"seal":{"status":"verified"}' "$T/hotel.json" | wc -l) == "$nh" ]] ||
  fail "hotel: not every certificate has \"seal\":{\"status\":\"verified\"} alone"
[[ $(grep -o '"valid":\(true\|false\)' "$T/hotel.json" | wc -l) == "$nh" ]] || fail "hotel: no valid on each"
! grep -q -e '"signature"' -e '"data"' -e '"certificateNumber"' "$T/hotel.json" ||
  fail "hotel: fields outside its scope's list"
ok "hotel scan: 200, holder $hcode $hname, $nh certificates of its types only, masked, seal status only"

# A holder whose certificates are all outside the hotel's scope: 403. The
# department's scan confirms (it sees every type, valid or not).
OUT=
for h in "${OUTS[@]}"; do
  c=$(holder_code "$h")
  scan "$DKEY" "$(mint --holder "$c")" "it check of the scope"
  expect 200 "" "department scan of $c"
  if ! grep -o '"certificateTypeCode":"[^"]*"' "$T/r.body" | cut -d'"' -f4 |
    grep -q -x -F -f <(printf '%s\n' "${HTYPES[@]}"); then
    OUT=$c
    break
  fi
done
[[ -n $OUT ]] || fail "no holder without certificates of the hotel's types"
OUT_CODE=$(mint --holder "$OUT")
scan "$HKEY" "$OUT_CODE" "it hotel out of scope"
expect 403 forbidden "hotel scan of a holder with no certificate of its types"
! grep -q -F "$OUT" "$T/r.body" || fail "403 names the holder"
ok "a holder with no certificate of the hotel's types: hotel 403 forbidden"

# A valid citizen ID number nobody in the store has (Beijing; the demo's are
# Shandong's): GB 11643 check character computed here.
gb11643() {
  local w=(7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2) s=0 i
  for i in $(seq 0 16); do s=$((s + ${1:i:1} * w[i])); done
  local c=10X98765432
  echo "$1${c:s%11:1}"
}
[[ $(gb11643 11010519491231002) == 11010519491231002X ]] || fail "gb11643 of the standard's example"
NOBODY=$(gb11643 11010819800229003)
NOBODY_CODE=$(mint --holder "$NOBODY")
scan "$DKEY" "$NOBODY_CODE" "it nobody department"
expect 404 not_found "department scan of a holder with no certificates"
scan "$HKEY" "$NOBODY_CODE" "it nobody hotel"
expect 404 not_found "hotel scan of a holder with no certificates"
ok "a valid citizen ID number with no certificates ($NOBODY): 404 not_found for both"

# An organisation: holder type 001.
OC=$(holder_code "$ORG")
scan "$DKEY" "$(mint --holder "$OC" --holder-type 001)" "it organisation"
expect 200 "" "department scan of organisation $OC"
grep -q "\"holder\":{\"type\":\"001\",\"code\":\"$OC\"" "$T/r.body" || fail "organisation holder: $(answer)"
for id in $(holder_ids "$ORG"); do
  grep -q -F "\"$id\"" "$T/r.body" || fail "organisation: $id missing"
done
ok "organisation $OC: 200, holder type 001, its certificates"

# --types: the code asks for one hotel type and one other.
IN_T= OUT_T=
for id in "${H_IDS[@]}"; do
  ty=$(type_of "$id")
  if hotel_type "$ty"; then [[ -z $IN_T ]] && IN_T=$ty; else [[ -z $OUT_T ]] && OUT_T=$ty; fi
done
TCODE=$(mint --holder "$H" --types "$IN_T,$OUT_T")
scan "$DKEY" "$TCODE" "it types department"
expect 200 "" "department scan of a --types code"
got=$(grep -o '"certificateTypeCode":"[^"]*"' "$T/r.body" | cut -d'"' -f4 | sort -u | tr '\n' ' ')
[[ $got == "$(printf '%s\n' "$IN_T" "$OUT_T" | sort | tr '\n' ' ')" ]] ||
  fail "department, --types $IN_T,$OUT_T: got types $got"
scan "$HKEY" "$TCODE" "it types hotel"
expect 200 "" "hotel scan of a --types code"
got=$(grep -o '"certificateTypeCode":"[^"]*"' "$T/r.body" | cut -d'"' -f4 | sort -u | tr '\n' ' ')
[[ $got == "$IN_T " ]] || fail "hotel, --types $IN_T,$OUT_T: got types $got"
scan "$HKEY" "$(mint --holder "$H" --types "$OUT_T")" "it types hotel none"
expect 403 forbidden "hotel scan of a code asking only for a type outside its scope"
ok "--types $IN_T,$OUT_T: department gets those two types, hotel only $IN_T; a code for $OUT_T alone: hotel 403"

# ---- every error status of the route ---------------------------------------------------------

post "" "$(body "$CODE" "it no key")"
expect 401 unauthorized "no key"
[[ $(header WWW-Authenticate) == Bearer* ]] || fail "401 without WWW-Authenticate: Bearer"
post "cgk_000000000000000000000000000000000000000000000000" "$(body "$CODE" "it bad key")"
expect 401 unauthorized "unknown key"
post "" "$(body "$CODE" "it basic")" -H "Authorization: Basic $(printf 'a:b' | base64)"
expect 401 unauthorized "Basic credentials"
ok "no key, unknown key, Basic credentials: 401 unauthorized with WWW-Authenticate: Bearer"

# A scope without scan, its venue added while certgw runs (SIGHUP).
"$BIN/certctl" venue add -c "$CONF" --id it-noscan --name "不扫码单位" --scope noscan --json >"$T/out" 2>"$T/err" ||
  { cat "$T/err"; fail "venue add it-noscan"; }
NKEY=$(grep -o 'cgk_[0-9a-f]*' "$T/out")
"$BIN/certctl" venue add -c "$CONF" --id it-noholder --name "不见持证人" --scope noholder --json \
  >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "venue add it-noholder"; }
XKEY=$(grep -o 'cgk_[0-9a-f]*' "$T/out")
scan "$NKEY" "$CODE" "it noscan before reload"
expect 401 unauthorized "a venue added after the start, before SIGHUP"
reload
scan "$NKEY" "$CODE" "it noscan" "NOSCAN-1"
expect 403 forbidden "a venue whose scope has scan = no"
ok "scope with scan = no (venue added, SIGHUP): 403 forbidden"
scan "$XKEY" "$CODE" "it noholder"
expect 200 "" "a venue whose scope shows neither the holder's code nor name"
grep -q '"holder":{"type":"[0-9]*"}' "$T/r.body" ||
  fail "a scope without the holder's fields: the holder block is $(grep -o '"holder":{[^}]*}' "$T/r.body")"
ok "a scan by a scope without the holder's code and name: the holder block shows the type alone"

post "$DKEY" "{\"code\":\"$CODE\"}"
expect 400 bad_request "no purpose"
post "$DKEY" "$(body "$CODE" "")"
expect 400 bad_request "empty purpose"
post "$DKEY" "{\"code\":\"$CODE\",\"purpose\":42}"
expect 400 bad_request "purpose a number"
post "$DKEY" "{\"code\":\"$CODE\",\"purpose\":\"$(printf 'x%.0s' $(seq 129))\"}"
expect 400 bad_request "purpose of 129 bytes"
post "$DKEY" "$(body "$CODE" "it bad matter" "no spaces allowed")"
expect 400 bad_request "matter with spaces"
post "$DKEY" "code=$CODE&purpose=x"
expect 400 bad_request "a form, not JSON"
post "$DKEY" "{\"code\":\"$CODE\",\"purpose\":\"it truncated\""
expect 400 bad_request "truncated JSON"
post "$DKEY" "[\"$CODE\",\"it array\"]"
expect 400 bad_request "a JSON array"
post "$DKEY" '{"purpose":"it no code"}'
expect 400 bad_request "no code"
post "$DKEY" '{"code":42,"purpose":"it code a number"}'
expect 400 bad_request "code a number"
post "$DKEY" ""
expect 400 bad_request "empty body"
ok "no, empty, numeric or overlong purpose; bad matter; not JSON, truncated, array; no code: 400 bad_request"

for bad in "hello" "" "CG1:" "CG2:${CODE#CG1:}" "cg1:${CODE#CG1:}" "CG1:${CODE:4:10}" \
  "CG1:$(tr 'A-Z' 'a-z' <<<"${CODE#CG1:}")" "CG1:::::::::::::::::::::::::::::::::::::::::::::::::::::::::::::::::::::::::::::::::::::" \
  "${CODE}AAA" "$CODE " "$CODE\\n" "CG1:$(printf 'A%.0s' $(seq 117))"; do
  post "$DKEY" "$(body "$bad" "it malformed")"
  expect 400 malformed_code "code \"$bad\""
done
ok "not CG1:, wrong version, lower case, too short, bad Base45, extra characters, trailing space or newline, too long: 400 malformed_code"

# Each character position of one code changed to another Base45 character:
# never 200, only malformed_code or invalid_code (one keep-alive connection).
mkdir -p "$T/mut"
files=()
for ((i = 0; i < ${#CODE}; i++)); do
  c=${CODE:i:1}
  p=${B45%%"$c"*}
  r=${B45:$(((${#p} + 1 + i % 44) % 45)):1}
  body "${CODE:0:i}$r${CODE:i+1}" "it mutation $i" >"$T/mut/$i.json"
  files+=("$T/mut/$i.json")
done
many "$T/mut/out" "$DKEY" "${files[@]}" >"$T/mut.st"
[[ $(wc -l <"$T/mut.st") == "${#CODE}" ]] || fail "mutations: $(wc -l <"$T/mut.st") answers for ${#CODE} requests"
nmal=0 ninv=0
while read -r i s; do
  e=$(sed -n 's/.*"error":{"code":"\([a-z_]*\)".*/\1/p' "$T/mut/out/$i")
  case "$s $e" in
  "400 malformed_code") nmal=$((nmal + 1)) ;;
  "401 invalid_code") ninv=$((ninv + 1)) ;;
  *) fail "code changed at position $i ($(sed 's/.*"code":"\([^"]*\)".*/\1/' "$T/mut/$i.json")): $s $(cat "$T/mut/out/$i")" ;;
  esac
done <"$T/mut.st"
((ninv > 0)) || fail "no change gave invalid_code: the tag is never reached"
ok "a code changed at each of its ${#CODE} positions: $nmal malformed_code (400), $ninv invalid_code (401), never 200"

# ---- key ids and rotation ----------------------------------------------------------------------

OLD=$(mint --holder "$H")
OLD_KID=$(kid_of "$OLD")
grep -q "^$OLD_KID [0-9a-fA-F]\{32\} mint$" "$T/d/keyring" || fail "the code's key id $OLD_KID is not the mint key"
# The minter gets key 3 first (its own ring and config): certgw does not know it yet.
K3=$(newkey)
sed 's/ mint$//' "$T/d/keyring" >"$T/d/keyring.minter"
echo "3 $K3 mint" >>"$T/d/keyring.minter"
chmod 600 "$T/d/keyring.minter"
sed 's/^keyring = .*/keyring = keyring.minter/' "$CONF" >"$T/d/minter.conf"
NEW3=$("$BIN/certctl" mint -c "$T/d/minter.conf" --holder "$H") || fail "mint with key 3"
[[ $(kid_of "$NEW3") == 3 ]] || fail "the minter's code has key id $(kid_of "$NEW3"), not 3"
scan "$DKEY" "$NEW3" "it unknown key id"
expect 401 invalid_code "a code under key 3, which certgw does not have"
ok "a code under a key id certgw lacks: 401 invalid_code ($(errmsg))"

# Rotation step 1: certgw gets key 3, not for minting.
echo "3 $K3" >>"$T/d/keyring"
reload
scan "$DKEY" "$NEW3" "it rotation new"
expect 200 "" "key 3's code after certgw took up key 3"
scan "$DKEY" "$OLD" "it rotation old"
expect 200 "" "key $OLD_KID's code after key 3 was added"
# Step 2: mint moves to key 3 (the shared ring).
sed -i 's/ mint$//; s/^\(3 [0-9a-f]*\)$/\1 mint/' "$T/d/keyring"
grep -q "^3 $K3 mint$" "$T/d/keyring" || fail "could not move mint to key 3"
reload
NEW=$(mint --holder "$H")
[[ $(kid_of "$NEW") == 3 ]] || fail "after the rotation certctl mints with key $(kid_of "$NEW"), not 3"
scan "$DKEY" "$NEW" "it rotation minted"
expect 200 "" "a code minted after the rotation"
scan "$DKEY" "$OLD" "it rotation old again"
expect 200 "" "a code minted before the rotation, its key still in the ring"
ok "rotation: key 3 added (SIGHUP), mint moved to it; new codes (key 3) and an older one (key $OLD_KID) both 200"
# Step 3: key OLD_KID leaves the ring: its codes stop opening.
sed -i "/^$OLD_KID /d" "$T/d/keyring"
reload
scan "$DKEY" "$OLD" "it removed key"
expect 401 invalid_code "a code whose key was removed from the ring"
scan "$DKEY" "$NEW" "it rotation still"
expect 200 "" "key 3's code after key $OLD_KID was removed"
ok "key $OLD_KID removed (SIGHUP): its code 401 invalid_code; key 3's still 200"
# Step 4: key id 3 given other key material (a reissued key, or an operator's
# slip): each worker keeps keyed contexts per key id, and none may outlive
# the ring it came from. Scans on new connections reach both workers: first
# each opens key 3's code (its context keyed), then, after the reload, codes
# under the new material open and those under the old one no longer do.
for i in 1 2 3 4 5 6; do
  scan "$DKEY" "$NEW" "it same id warm $i"
  expect 200 "" "key 3's code before its material changes ($i)"
done
K4=$(newkey)
sed -i "s/^3 $K3 mint$/3 $K4 mint/" "$T/d/keyring"
grep -q "^3 $K4 mint$" "$T/d/keyring" || fail "could not give key id 3 new material"
reload
NEW4=$(mint --holder "$H")
[[ $(kid_of "$NEW4") == 3 ]] || fail "the code under the new material has key id $(kid_of "$NEW4"), not 3"
for i in 1 2 3 4 5 6; do
  scan "$DKEY" "$NEW4" "it same id new $i"
  expect 200 "" "a code under key id 3's new material ($i)"
  scan "$DKEY" "$NEW" "it same id old $i"
  expect 401 invalid_code "a code under key id 3's old material ($i)"
done
ok "key id 3 given new material (SIGHUP): its new codes 200 and its old ones 401 invalid_code on 6 connections each"
NEW=$NEW4

# An expired code: minted for 1 s; with the default skew of 30 s it still
# opens 2 s later; with [token] skew = 0 (SIGHUP) it is 410.
EXP=$(mint --holder "$H" --ttl 1)
exp_t=$EPOCHREALTIME

# Wrong method, a query string.
curl -s -o "$T/r.body" -D "$T/r.hdr" -w '%{http_code}' -H "Authorization: Bearer $DKEY" "$URL/v1/scan" >"$T/st" || true
st=$(cat "$T/st") sent="GET /v1/scan"
expect 405 method_not_allowed "GET /v1/scan"
[[ $(header Allow) == POST ]] || fail "GET /v1/scan: Allow is \"$(header Allow)\", not POST"
st=$(curl -s -o "$T/r.body" -w '%{http_code}' -H "Authorization: Bearer $DKEY" --data-binary "$(body "$NEW" "it query")" "$URL/v1/scan?x=1" || true)
sent="POST /v1/scan?x=1"
expect 400 bad_request "a query on /v1/scan"
ok "GET /v1/scan: 405 with Allow: POST; a query string: 400"

# ---- single use ------------------------------------------------------------------------------------

"$BIN/certctl" venue add -c "$CONF" --id it-once-a --name "一次A" --scope once --json >"$T/out" 2>/dev/null || fail "venue add it-once-a"
AKEY=$(grep -o 'cgk_[0-9a-f]*' "$T/out")
"$BIN/certctl" venue add -c "$CONF" --id it-once-b --name "一次B" --scope once --json >"$T/out" 2>/dev/null || fail "venue add it-once-b"
BKEY=$(grep -o 'cgk_[0-9a-f]*' "$T/out")
"$BIN/certctl" venue add -c "$CONF" --id it-slow --name "限速" --scope slow --json >"$T/out" 2>/dev/null || fail "venue add it-slow"
SKEY=$(grep -o 'cgk_[0-9a-f]*' "$T/out")
for v in term crash; do
  "$BIN/certctl" venue add -c "$CONF" --id "it-$v" --name "$v" --scope department --json >"$T/out" 2>/dev/null ||
    fail "venue add it-$v"
  grep -o 'cgk_[0-9a-f]*' "$T/out" >"$T/key.$v"
done
reload

ONCE=$(mint --holder "$H")
scan "$AKEY" "$ONCE" "it once a"
expect 200 "" "first scan at a single-use venue"
scan "$AKEY" "$ONCE" "it once a again"
expect 410 code_expired "second scan of the same code at the same single-use venue"
used_msg=$(errmsg)
grep -q -i "used" <<<"$used_msg" || fail "the second scan's message does not say the code was used: $(answer)"
scan "$BKEY" "$ONCE" "it once b" "ONCE-B"
expect 200 "" "the same code at another single-use venue"
scan "$BKEY" "$ONCE" "it once b again" "ONCE-B"
expect 410 code_expired "second scan at the other venue"
scan "$AKEY" "$(mint --holder "$H")" "it once a fresh"
expect 200 "" "a fresh code at the first single-use venue"
scan "$HKEY" "$ONCE" "it not single use"
expect 200 "" "the code at a venue without single_use"
scan "$HKEY" "$ONCE" "it not single use again"
expect 200 "" "the code again at a venue without single_use"
ok "single_use: a second scan at the same venue 410 ("$used_msg"); another venue scans once; other scopes as often as they like"

# ---- rate limit --------------------------------------------------------------------------------------

body "$NEW" "it rate" >"$T/rate.json"
many "$T/rate" "$SKEY" "$T/rate.json" "$T/rate.json" "$T/rate.json" >"$T/rate.st"
[[ $(tr '\n' ' ' <"$T/rate.st") == "0 200 1 200 2 429 " ]] ||
  fail "rate = 2, burst = 2: three rapid scans answered $(tr '\n' ' ' <"$T/rate.st")(want 200 200 429): $(cat "$T/rate/2")"
grep -q '"code":"rate_limited"' "$T/rate/2" || fail "429 body: $(cat "$T/rate/2")"
post "$SKEY" "$(body "$NEW" "it rate 4")"
expect 429 rate_limited "a 4th rapid scan"
RA=$(header Retry-After)
[[ $RA =~ ^[0-9]+$ ]] && ((RA >= 1 && RA <= 5)) || fail "Retry-After \"$RA\" is not an integer from 1 to 5"
sleep "$RA"
scan "$SKEY" "$NEW" "it rate after"
expect 200 "" "a scan $RA s after the 429"
ok "rate = 2, burst = 2: 200, 200, then 429 rate_limited with Retry-After: $RA; after $RA s 200 again"

# ---- an expired code -------------------------------------------------------------------------

left=$((2200 - (${EPOCHREALTIME/./} - ${exp_t/./}) / 1000))
((left > 0)) && sleep "$((left / 1000)).$(printf '%03d' $((left % 1000)))"
scan "$DKEY" "$EXP" "it expired within skew"
expect 200 "" "a code 1 s past its lifetime, within the default skew of 30 s"
sed -i 's/^skew = .*/skew = 0/' "$CONF"
grep -q '^skew = 0$' "$CONF" || sed -i '/^\[token\]/a skew = 0' "$CONF"
reload
scan "$DKEY" "$EXP" "it expired" "EXPIRED-1"
expect 410 code_expired "a code past its lifetime with skew = 0"
scan "$DKEY" "$(mint --holder "$H")" "it fresh with skew 0"
expect 200 "" "a fresh code with skew = 0"
ok "--ttl 1 code after 2 s: 200 within the default skew; with skew = 0 (SIGHUP) 410 code_expired; fresh codes still 200"

# ---- QR round trip -----------------------------------------------------------------------------------

QR=$(mint --holder "$H" --png "$T/code.png")
[[ -s $T/code.png ]] || fail "no PNG written"
DECODED=$(zbarimg --raw -q "$T/code.png" 2>/dev/null) || fail "zbarimg could not read the PNG"
[[ $DECODED == "$QR" ]] || fail "zbarimg read \"$DECODED\", certctl printed \"$QR\""
scan "$HKEY" "$DECODED" "it qr round trip" "QR-1"
expect 200 "" "scan of the text zbarimg decoded"
grep -q -F "\"code\":\"$mcode\"" "$T/r.body" || fail "QR scan: not the holder: $(answer)"
ok "QR round trip: mint --png, zbarimg --raw, scan: 200"

# A listing of the holder's certificates is a use too (audited below).
s=$(curl -s --noproxy '*' -m 10 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $DKEY" \
  "$URL/v1/holders/$H/certificates") || s=curl-failed
[[ $s == 200 ]] || fail "the department lists $H's certificates: $s"

# ---- the audit -----------------------------------------------------------------------------------------

sleep 0.3 # one commit interval, for certctl to read what was handed over
A() { "$BIN/certctl" audit -c "$CONF" "$@"; }
A --holder "$H" >"$T/aud.txt" 2>"$T/aud.err" || { cat "$T/aud.err"; fail "certctl audit --holder"; }
has() { # has FILE WHAT GREP-PATTERN
  grep -q -- "$3" "$1" || { cat "$1" >&2; fail "audit: no record of $2"; }
}
has "$T/aud.txt" "the hotel's scan" "venue=$HOTEL  scan  status=200  purpose=\"it hotel check-in\"  matter=HOTEL-CHECKIN-1"
has "$T/aud.txt" "the department's scan" "venue=$DEPT  scan  status=200  purpose=\"it department check\"  matter=DEPT-MATTER-1"
has "$T/aud.txt" "the hotel's 403" "venue=$HOTEL  scan  status=403  purpose=\"it types hotel none\""
has "$T/aud.txt" "the expired scan" "venue=$DEPT  scan  status=200  purpose=\"it expired within skew\""
has "$T/aud.txt" "the single-use venue's scans" "venue=it-once-b  scan  status=200  purpose=\"it once b\"  matter=ONCE-B"
has "$T/aud.txt" "the QR scan" "venue=$HOTEL  scan  status=200  purpose=\"it qr round trip\"  matter=QR-1"
has "$T/aud.txt" "the department's listing" "venue=$DEPT  list  status=200"
grep -q "purpose=\"it hotel check-in\".*certificates=1\.2\.156" "$T/aud.txt" || fail "audit: no certificates on the hotel's scan"
grep -q "client=127\.0\.0\.1" "$T/aud.txt" || fail "audit: no client address"
grep -q "^[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9:]*\.[0-9]\{3\}Z " "$T/aud.txt" || fail "audit: no time"
n=$(wc -l <"$T/aud.txt")
grep -q "^$n audit records" "$T/aud.err" || fail "audit: stderr does not count $n records: $(cat "$T/aud.err")"
ok "certctl audit --holder: $n records with time, venue, status, purpose, matter, client, certificates"

A --holder "$NOBODY" >"$T/aud.txt" 2>/dev/null || fail "certctl audit --holder $NOBODY"
[[ $(grep -c "scan  status=404" "$T/aud.txt") == 2 ]] || { cat "$T/aud.txt"; fail "audit: the two 404 scans"; }
A --holder "$OUT" >"$T/aud.txt" 2>/dev/null || fail "certctl audit --holder $OUT"
has "$T/aud.txt" "the 403 of a holder out of scope" "venue=$HOTEL  scan  status=403  purpose=\"it hotel out of scope\""
ok "a holder with no certificates: both 404 scans recorded; the out-of-scope one's 403 too"

A --venue it-once-b >"$T/aud.txt" 2>/dev/null || fail "certctl audit --venue it-once-b"
[[ $(wc -l <"$T/aud.txt") == 2 ]] || { cat "$T/aud.txt"; fail "audit --venue it-once-b: not 2 records"; }
grep -q "venue=it-once-b  scan  status=200  purpose=\"it once b\"  matter=ONCE-B" "$T/aud.txt" &&
  grep -q "venue=it-once-b  scan  status=410  purpose=\"it once b again\"  matter=ONCE-B" "$T/aud.txt" ||
  { cat "$T/aud.txt"; fail "audit --venue it-once-b: not the 200 and the 410"; }
[[ $(sed -n 's/.*status=\([0-9]*\).*/\1/p' "$T/aud.txt" | tr '\n' ' ') == "200 410 " ]] ||
  fail "audit --venue: not oldest first"
A --venue "$DEPT" >"$T/aud.txt" 2>/dev/null || fail "certctl audit --venue $DEPT"
[[ $(grep -c "purpose=\"it mutation [0-9]*\"" "$T/aud.txt") == "${#CODE}" ]] ||
  fail "audit --venue $DEPT: $(grep -c "purpose=\"it mutation" "$T/aud.txt") records of the ${#CODE} changed codes"
has "$T/aud.txt" "the 410 of the expired code" "status=410  purpose=\"it expired\"  matter=EXPIRED-1"
has "$T/aud.txt" "the 401 of the removed key" "status=401  purpose=\"it removed key\""
! grep -v "venue=$DEPT " "$T/aud.txt" | grep -q . || fail "audit --venue $DEPT lists another venue's records"
ok "certctl audit --venue: the venue's records only, oldest first, failed scans (400, 401, 410) too"

A --holder "$H" --json >"$T/aud.json" 2>"$T/aud.err" || fail "certctl audit --json"
n=$(wc -l <"$T/aud.json")
((n > 5)) || fail "audit --json: $n lines"
[[ $(grep -c '^{.*"purpose":"[^"]*".*}$' "$T/aud.json") == "$n" ]] || fail "audit --json: a line without purpose"
[[ $(grep -c '"venue":"[a-z0-9-]*"' "$T/aud.json") == "$n" ]] || fail "audit --json: a line without venue"
[[ $(grep -c '"holder":"[0-9a-f]\{64\}"' "$T/aud.json") == "$n" ]] || fail "audit --json: a line without the holder's HMAC"
grep -q "\"scanId\":\"$HOTEL_SCAN\"" "$T/aud.json" || fail "audit --json: the hotel's scan_id $HOTEL_SCAN is not recorded"
grep -q "\"scanId\":\"$DEPT_SCAN\"" "$T/aud.json" || fail "audit --json: the department's scan_id is not recorded"
! grep -q -F -e "$H" -e "$mcode" -e "$NAME" "$T/aud.json" || fail "audit --json holds the holder's code or name"
for db in audit audit_holder audit_venue; do
  mdb_dump -p -s "$db" "$DATA" >"$T/dump.$db" || fail "mdb_dump -s $db"
  [[ $(wc -l <"$T/dump.$db") -gt 5 ]] || fail "mdb_dump -s $db: empty"
  for c in "$H" "$OUT" "$NOBODY" "$OC"; do
    ! grep -q -F "$c" "$T/dump.$db" || fail "the $db database holds the plain holder code $c"
  done
  ! grep -q -F "$NAME" "$T/dump.$db" || fail "the $db database holds the holder's name"
done
ok "audit --json: $n lines with purpose, venue, holder HMAC, scanId; no holder code or name in it nor in the audit databases (mdb_dump)"

# ---- the client behind a load balancer ----------------------------------------------------------------
# With 127.0.0.1 (this script) a trusted proxy, a scan's client is the
# rightmost X-Forwarded-For entry that is not a trusted proxy, over every
# such header, and of a list too long to keep, its right end; a request
# without the header on the same connection is the proxy's own.
sed -i 's/^\[server\]$/[server]\ntrusted_proxies = 127.0.0.1, ::1/' "$CONF"
grep -q '^trusted_proxies = 127.0.0.1, ::1$' "$CONF" || fail "trusted_proxies not set in $CONF"
reload
pad=$(printf '10.9.9.9, %.0s' $(seq 30)) # 300 bytes to the left
xff() { # xff PURPOSE HEADER-ARGS...: a department scan of H with those headers
  local p=$1
  shift
  post "$DKEY" "$(body "$(mint --holder "$H")" "$p")" "$@"
  expect 200 "" "scan with X-Forwarded-For ($p)"
}
xff "it xff one" -H "X-Forwarded-For: 203.0.113.9"
xff "it xff chain" -H "X-Forwarded-For: 198.51.100.1, 203.0.113.10, 127.0.0.1"
xff "it xff two headers" -H "X-Forwarded-For: 198.51.100.2" -H "X-Forwarded-For: 203.0.113.11"
xff "it xff long" -H "X-Forwarded-For: ${pad}6.6.6.6, 203.0.113.12"
xff "it xff all trusted" -H "X-Forwarded-For: $(printf '127.0.0.1, %.0s' $(seq 30))127.0.0.1"
# Two requests on one connection (curl reuses it): the second has no header.
curl -s --max-time 5 -o /dev/null -H "Authorization: Bearer $DKEY" -H 'Content-Type: application/json' \
  -H "X-Forwarded-For: 203.0.113.13" --data-binary "$(body "$(mint --holder "$H")" "it xff reuse 1")" \
  "$URL/v1/scan" --next -s -o /dev/null -H "Authorization: Bearer $DKEY" -H 'Content-Type: application/json' \
  --data-binary "$(body "$(mint --holder "$H")" "it xff reuse 2")" "$URL/v1/scan"
sleep 0.3
A --venue "$DEPT" >"$T/aud.txt" 2>/dev/null || fail "certctl audit --venue $DEPT"
client_of() { grep -F "purpose=\"$1\"" "$T/aud.txt" | sed -n 's/.*client=\([^ ]*\).*/\1/p'; }
for want in "it xff one=203.0.113.9" "it xff chain=203.0.113.10" "it xff two headers=203.0.113.11" \
  "it xff long=203.0.113.12" "it xff all trusted=127.0.0.1" "it xff reuse 1=203.0.113.13" \
  "it xff reuse 2=127.0.0.1"; do
  got=$(client_of "${want%%=*}")
  [[ $got == "${want#*=}" ]] || { grep -F "it xff" "$T/aud.txt" >&2; fail "client of \"${want%%=*}\": '$got', not ${want#*=}"; }
done
# trusted_proxies are IP addresses, checked at load (--check) and kept as a
# peer's address is written: an IPv6 entry in capitals or uncompressed still
# matches.
for bad in 10.0.0.300 proxy.example 2001:db8::1::2; do
  sed "s/^trusted_proxies = .*/trusted_proxies = 127.0.0.1, $bad/" "$CONF" >"$T/d/tp.conf"
  rc=0
  "$BIN/certgw" -c "$T/d/tp.conf" --check >"$T/tp.out" 2>&1 || rc=$?
  [[ $rc != 0 ]] && grep -q "\"$bad\" is not an IP address" "$T/tp.out" ||
    { cat "$T/tp.out"; fail "trusted_proxies = $bad: not refused by --check"; }
done
sed "s/^trusted_proxies = .*/trusted_proxies = 127.0.0.1, 2001:DB8:0:0::1, ::FFFF:10.0.0.1/" "$CONF" >"$T/d/tp.conf"
"$BIN/certgw" -c "$T/d/tp.conf" --check >"$T/tp.out" 2>&1 || { cat "$T/tp.out"; fail "IPv6 trusted_proxies refused"; }
ok "trusted_proxies: 10.0.0.300, a name and a malformed IPv6 address refused by --check; IPv6 in capitals, uncompressed, v4-mapped taken"

# The PROXY protocol (HAProxy send-proxy): with proxy_protocol = yes every
# connection opens with a PROXY line, whose source is the audit's client;
# a connection without one, with a malformed one, or (below) from a peer
# that is no trusted proxy is refused.
RAW=$BUILD/tests/rawhttp
[[ -x $RAW ]] || fail "$RAW is missing: build the target rawhttp"
PID1=$(grep -o '1\.2\.156\.3005\.2\.[0-9A-Z.]*' <<<"$flat" | sed -n 1p)
sed -i 's/^\[server\]$/[server]\nproxy_protocol = yes/' "$CONF"
reload
get() { printf 'GET /v1/certificates/%s HTTP/1.1\\r\\nHost: a\\r\\nAuthorization: Bearer %s\\r\\nConnection: close\\r\\n\\r\\n' "$PID1" "$DKEY"; }
out=$( (printf 'PROXY TCP4 198.51.100.77 127.0.0.1 40000 %s\\r\\n' "$PORT"; get) | "$RAW" "$PORT" --chunk 7 --timeout 2000)
grep -q '^HTTP/1.1 200' <<<"$out" || fail "a fetch after a PROXY line: ${out:0:300}"
out=$(get | "$RAW" "$PORT" --timeout 2000)
grep -q '^HTTP/1.1 400' <<<"$out" && [[ $out == *'<<closed>>' ]] || fail "a fetch without the PROXY line: not 400 and closed: ${out:0:300}"
for bad in 'PROXY TCP4 198.51.100.999 127.0.0.1 1 2' 'PROXY TCP5 1.2.3.4 1.2.3.4 1 2' 'PROXY TCP4 1.2.3.4 1.2.3.4 1 65536' \
  "PROXY TCP4 1.2.3.4 1.2.3.4 1 $(printf '9%.0s' $(seq 120))"; do
  out=$( (printf '%s\\r\\n' "$bad"; get) | "$RAW" "$PORT" --timeout 2000)
  grep -q '^HTTP/1.1 400' <<<"$out" && [[ $out == *'<<closed>>' ]] || fail "$bad: not 400 and closed: ${out:0:300}"
done
out=$( (printf 'PROXY UNKNOWN\\r\\n'; get) | "$RAW" "$PORT" --timeout 2000)
grep -q '^HTTP/1.1 200' <<<"$out" || fail "a fetch after PROXY UNKNOWN: ${out:0:300}"
sed -i 's/^trusted_proxies = .*/trusted_proxies = 10.9.9.9/' "$CONF"
reload
out=$( (printf 'PROXY TCP4 198.51.100.78 127.0.0.1 40000 %s\\r\\n' "$PORT"; get) | "$RAW" "$PORT" --timeout 2000)
grep -q '^HTTP/1.1 400' <<<"$out" || fail "a PROXY line from a peer that is no trusted proxy: not 400: ${out:0:300}"
sed -i '/^proxy_protocol = yes$/d; s/^trusted_proxies = .*/trusted_proxies = 127.0.0.1, ::1/' "$CONF"
reload
sleep 0.3
A --venue "$DEPT" >"$T/aud.txt" 2>/dev/null || fail "certctl audit --venue $DEPT"
grep "  fetch  status=200 .*client=198\.51\.100\.77 " "$T/aud.txt" | grep -qF "$PID1" ||
  { grep "fetch" "$T/aud.txt" | tail -3 >&2; fail "audit: the fetch after the PROXY line is not from 198.51.100.77"; }
! grep -q "client=198\.51\.100\.78 " "$T/aud.txt" || fail "audit: the untrusted peer's PROXY source was recorded"
ok "proxy_protocol: the PROXY line's source is the audit's client (line sent in 7-byte pieces); none, malformed (bad address, family, port, longer than 107 bytes) or from a peer not trusted: 400 and closed; UNKNOWN keeps the peer"

ok "behind a trusted proxy: client = rightmost untrusted X-Forwarded-For entry (one, a chain, two headers, the right end of a 330-byte list; the proxy's when the 255 bytes kept of a longer list are all trusted); a request without it on the same connection is the proxy's"

# ---- durability: nothing lost on SIGTERM --------------------------------------------------------------

N=200
TKEY=$(cat "$T/key.term")
DUR=$(mint --holder "$H")
body "$DUR" "it term" >"$T/term.json"
files=()
for ((i = 0; i < N; i++)); do files+=("$T/term.json"); done
many "$T/term" "$TKEY" --parallel "${files[@]}" >"$T/term.st"
kill -TERM "$GW"
[[ $(grep -c ' 200$' "$T/term.st") == "$N" ]] || fail "SIGTERM test: $(grep -c ' 200$' "$T/term.st") of $N scans answered 200"
for _ in $(seq 100); do kill -0 "$GW" 2>/dev/null || break; sleep 0.05; done
kill -0 "$GW" 2>/dev/null && fail "certgw still runs 5 s after SIGTERM"
rc=0; wait "$GW" || rc=$?
GW=
[[ $rc == 0 ]] || fail "certgw exited $rc after SIGTERM"
A --venue it-term >"$T/aud.txt" 2>/dev/null || fail "certctl audit --venue it-term"
[[ $(grep -c 'venue=it-term  scan  status=200  purpose="it term"' "$T/aud.txt") == "$N" ]] ||
  fail "SIGTERM right after the last of $N scans: $(wc -l <"$T/aud.txt") records"
ok "$N scans as fast as they come, SIGTERM right after the last answer: exit 0, all $N in the audit"

# SIGTERM in the middle of a stream of scans (8 connections): every scan
# answered is in the audit, and none that was not sent.
start_gw
mkdir -p "$T/term2.in"
files=()
for ((i = 0; i < 1500; i++)); do
  body "$DUR" "it term2 $i" >"$T/term2.in/$i"
  files+=("$T/term2.in/$i")
done
many "$T/term2" "$TKEY" --parallel "${files[@]}" >"$T/term2.st" &
LOOPS+=($!)
for _ in $(seq 200); do [[ $(wc -l <"$T/term2.st") -ge 100 ]] && break; sleep 0.01; done
kill -TERM "$GW"
for p in "${LOOPS[@]}"; do wait "$p" || true; done
LOOPS=()
for _ in $(seq 100); do kill -0 "$GW" 2>/dev/null || break; sleep 0.05; done
rc=0; wait "$GW" || rc=$?
GW=
[[ $rc == 0 ]] || fail "certgw exited $rc after SIGTERM during scans"
awk '$2 == 200 { print $1 }' "$T/term2.st" | sort >"$T/term2.answered"
answered=$(wc -l <"$T/term2.answered")
((answered >= 100)) || fail "SIGTERM during scans: only $answered answered"
! awk '$2 != 200 && $2 != "000"' "$T/term2.st" | grep -q . ||
  fail "SIGTERM during scans: answers other than 200: $(awk '$2 != 200 && $2 != "000"' "$T/term2.st" | head -n3 | tr '\n' ' ')"
A --venue it-term >"$T/aud.txt" 2>/dev/null || fail "certctl audit --venue it-term"
sed -n 's/.*purpose="it term2 \([0-9]*\)".*/\1/p' "$T/aud.txt" | sort >"$T/term2.recorded"
missing=$(comm -23 "$T/term2.answered" "$T/term2.recorded" | wc -l)
((missing == 0)) || fail "SIGTERM during scans: $missing of $answered answered scans are not in the audit (e.g. it term2 $(comm -23 "$T/term2.answered" "$T/term2.recorded" | head -n1))"
ok "SIGTERM in the middle of 1500 parallel scans: exit 0; all $answered answered are in the audit ($(wc -l <"$T/term2.recorded") recorded)"

# ---- durability: at most the last 100 ms lost on kill -9 ----------------------------------------------

start_gw
CKEY=$(cat "$T/key.crash")
CR=$(mint --holder "$H")
# Two clients, each scan with its own purpose; each answer's status and the
# time curl returned (µs) are logged.
crash_loop() { # crash_loop L
  local i s t
  for ((i = 0; i < 2000; i++)); do
    [[ -e $T/stop ]] && break
    s=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H "Authorization: Bearer $CKEY" \
      --data-binary "{\"code\":\"$CR\",\"purpose\":\"it crash $1-$i\"}" "$URL/v1/scan") || s=000
    t=${EPOCHREALTIME/./}
    echo "$1-$i $s $t" >>"$T/crash.$1"
    [[ $s == 000 ]] && break
  done
}
: >"$T/crash.a"
: >"$T/crash.b"
crash_loop a &
LOOPS+=($!)
crash_loop b &
LOOPS+=($!)
sleep 2
kill_t=${EPOCHREALTIME/./}
{ kill -KILL "$GW" && wait "$GW"; } 2>/dev/null || true
GW=
touch "$T/stop"
for p in "${LOOPS[@]}"; do wait "$p" || true; done
LOOPS=()
A --venue it-crash >"$T/aud.txt" 2>/dev/null || fail "certctl audit --venue it-crash after kill -9"
sed -n 's/.*purpose="it crash \([ab]-[0-9]*\)".*/\1/p' "$T/aud.txt" | sort >"$T/crash.recorded"
cat "$T/crash.a" "$T/crash.b" | awk -v k="$kill_t" '$2 != "000" && $3 < k - 100000 { print $1 }' | sort >"$T/crash.due"
answered=$(cat "$T/crash.a" "$T/crash.b" | awk '$2 != "000"' | wc -l)
due=$(wc -l <"$T/crash.due")
((due >= 50)) || fail "only $due scans answered in 2 s before the kill"
! grep -v ' 200 ' "$T/crash.a" "$T/crash.b" | grep -v ' 000 ' | grep -q . ||
  fail "scans before the kill answered other than 200: $(grep -v ' 200 ' "$T/crash.a" "$T/crash.b" | head -n3)"
missing=$(comm -23 "$T/crash.due" "$T/crash.recorded" | wc -l)
if ((missing > 0)); then
  first=$(comm -23 "$T/crash.due" "$T/crash.recorded" | head -n1)
  fail "kill -9: $missing of $due scans answered more than 100 ms before the kill are not in the audit (e.g. $first, answered $(((kill_t - $(grep -h "^$first " "$T/crash.a" "$T/crash.b" | cut -d' ' -f3)) / 1000)) ms before)"
fi
extra=$(comm -13 <(cat "$T/crash.a" "$T/crash.b" | cut -d' ' -f1 | sort) "$T/crash.recorded" | wc -l)
((extra == 0)) || fail "kill -9: $extra records of scans that were never sent"
ok "kill -9 after 2 s of scans: all $due answered more than 100 ms before are in the audit ($(wc -l <"$T/crash.recorded") of $answered answered recorded)"

# The store is fine after the crash.
start_gw
scan "$DKEY" "$(mint --holder "$H")" "it after crash"
expect 200 "" "a scan after restarting from kill -9"
kill -TERM "$GW"
rc=0; wait "$GW" || rc=$?
GW=
[[ $rc == 0 ]] || fail "certgw exited $rc after SIGTERM"
A --holder "$H" 2>/dev/null | grep -q 'purpose="it after crash"' || fail "the scan after the crash is not in the audit"
ok "after kill -9: certgw starts again on the same store, scans, and its audit record is filed"

# ---- refused scans in the audit -------------------------------------------------------------------

# Every use by a known venue is recorded, whatever the answer (docs/audit.md:
# "Every scan ... leaves one record, whatever the answer, once the venue is
# known"): also a scope's 403 and a malformed request's 400.
A --venue it-noscan >"$T/aud.txt" 2>/dev/null || fail "certctl audit --venue it-noscan"
grep -q "venue=it-noscan  scan  status=403  purpose=\"it noscan\"  matter=NOSCAN-1" "$T/aud.txt" ||
  fail "audit: the 403 of a venue whose scope has scan = no is not recorded (docs/audit.md: every scan, whatever the answer, once the venue is known): $(cat "$T/aud.txt")"
A --venue "$DEPT" >"$T/aud.txt" 2>/dev/null || fail "certctl audit --venue $DEPT"
grep -q 'status=400  purpose="it bad matter"' "$T/aud.txt" ||
  fail "audit: a known venue's scan refused 400 bad_request (bad matter) is not recorded (docs/audit.md: whatever the answer)"
grep -q 'status=400  purpose=""' "$T/aud.txt" ||
  fail "audit: a known venue's scan refused 400 bad_request (no purpose) is not recorded (docs/audit.md: whatever the answer)"
ok "a known venue's refused scans (403 scope, 400 request) are recorded too"

echo "$checks passed, 0 failed"
