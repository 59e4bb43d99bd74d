#!/usr/bin/env bash
# Seals end to end (docs/seal.md): certgw serves verified seals without
# checking them again per request; POST /v1/verify answers for a presented
# certificate (and remembers its verdict); a signer revoked with
# `certctl trust revoke` and a SIGHUP turns its certificates invalid without
# a restart; `certctl verify` checks a store (filing the verdicts) or a JSON
# Lines file (naming the bad line); `certctl trust list|add`. Prints, without
# asserting it, how fast `certctl verify` checks a larger store.
source "$(dirname "$0")/lib.sh"

for x in "$BIN/certgw" "$BIN/certctl"; do
  [[ -x $x ]] || fail "$x is missing: build the targets certgw certctl"
done
command -v curl >/dev/null || fail "curl is not installed"
export no_proxy="*" NO_PROXY="*" # 127.0.0.1 only, whatever the environment says

GW=
cleanup() {
  [[ -n $GW ]] && { kill -KILL "$GW" && wait "$GW"; } 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT

# A port nobody listens on (bounded tries; certgw itself fails loudly if taken).
PORT=$((26000 + $$ % 2000)) # below the ephemeral ports (32768-)
for _ in $(seq 20); do
  (exec 9<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || break
  PORT=$((26000 + (PORT - 26000 + 7) % 2000))
done
URL=http://127.0.0.1:$PORT

C() { "$BIN/certctl" "$@"; }
# crc ARGS…: the exit status of certctl ARGS…, its output in $T/out and $T/err.
crc() { local rc=0; C "$@" >"$T/out" 2>"$T/err" || rc=$?; echo "$rc"; }
metric() { curl -s --max-time 3 "$URL/metrics" | sed -n "s/^$1 //p"; }
# Verifications so far, whatever their outcome.
checks() {
  curl -s --max-time 3 "$URL/metrics" |
    awk '/^certgw_seal_checks_total/ { n += $2 } END { print n + 0 }'
}
# get KEY ID: the status of a fetch, the body in $T/body.
get() {
  curl -s -o "$T/body" -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $1" \
    "$URL/v1/certificates/$2" || true
}
# post KEY FILE: the status of POST /v1/verify with FILE as body, the answer in $T/body.
post() {
  curl -s -o "$T/body" -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $1" \
    -H 'Content-Type: application/json' --data-binary "@$2" "$URL/v1/verify" || true
}
# hup_wait METRIC OLD: SIGHUP certgw and wait (at most 5 s) until METRIC is not OLD.
# await STATUS TRIES KEY ID: fetches ID as KEY every 50 ms, up to TRIES
# times, until it answers STATUS; the last status in $st, its body in $T/body.
await() {
  for _ in $(seq "$2"); do
    st=$(get "$3" "$4")
    [[ $st == "$1" ]] && return 0
    sleep 0.05
  done
  return 1
}

hup_wait() {
  kill -HUP "$GW"
  for _ in $(seq 100); do
    [[ $(metric "$1") != "$2" ]] && return 0
    sleep 0.05
  done
  cat "$T/gw.err" >&2
  fail "$1 still $2 5 s after SIGHUP"
}

C demo "$T/d" --count 600 --port "$PORT" >"$T/demo.out" 2>&1 || { cat "$T/demo.out"; fail "demo"; }
CONF=$T/d/certgw.conf
venue_key() { grep -A2 "\"id\":[[:space:]]*\"$1\"" "$T/d/demo.json" | sed -n 's/.*"key":[[:space:]]*"\([^"]*\)".*/\1/p'; }
DEPT=$(venue_key jn-dept-zwfw)
HOTEL=$(venue_key jn-hotel-quancheng)
[[ -n $DEPT && -n $HOTEL ]] || fail "venue keys not found in demo.json"
mapfile -t IDS < <(grep $'^\t"certificates":' "$T/d/demo.json" | grep -o '1\.2\.156[^"]*')
((${#IDS[@]} >= 20)) || fail "demo.json lists ${#IDS[@]} certificates"
start_gw
ok "demo of 600 certificates served on 127.0.0.1:$PORT"

# ---- verified seals are served without checking them again ----------------------------

CERT=${IDS[0]}
[[ $(get "$DEPT" "$CERT") == 200 ]] || fail "fetch of $CERT: $(cat "$T/body")"
grep -q '"seal":{"status":"verified","algorithm":"[A-Z0-9]*","signature":"[^"]*","signer":"[0-9a-f]\{64\}"}' "$T/body" ||
  fail "the seal is not served as verified: $(cat "$T/body")"
cp "$T/body" "$T/cert.json"
FPR=$(grep -o '"signer":"[0-9a-f]*"' "$T/cert.json" | cut -d'"' -f4)
before=$(checks)
args=()
for _ in $(seq 200); do args+=("$URL/v1/certificates/$CERT"); done
n=$(curl -s -w '\nstatus=%{http_code}\n' --max-time 20 -H "Authorization: Bearer $DEPT" "${args[@]}" |
  grep -c '^status=200$' || true)
[[ $n == 200 ]] || fail "of 200 fetches $n answered 200"
after=$(checks)
[[ $after == "$before" ]] || fail "200 fetches of a verified record ran $((after - before)) seal checks"
ok "a fetch answers \"status\":\"verified\"; 200 more ran no seal check ($before checks in all)"

# ---- POST /v1/verify -------------------------------------------------------------------

[[ $(post "$DEPT" "$T/cert.json") == 200 ]] || fail "POST /v1/verify: $(cat "$T/body")"
[[ $(cat "$T/body") == '{"valid":true,"reason":"verified"}' ]] || fail "verify answered $(cat "$T/body")"
sed 's/"certificateHolderName":"/&伪/' "$T/cert.json" >"$T/forged.json"
cmp -s "$T/cert.json" "$T/forged.json" && fail "the forgery changed nothing"
[[ $(post "$DEPT" "$T/forged.json") == 200 ]] || fail "POST of a forgery: $(cat "$T/body")"
[[ $(cat "$T/body") == '{"valid":false,"reason":"bad_signature"}' ]] ||
  fail "a forgery: $(cat "$T/body")"
# The seal object of an export line may say that the issuer revoked the
# certificate after sealing it (docs/record.md): unsigned, but believed.
sed 's/}}$/,"revoked":true}}/' "$T/cert.json" >"$T/revoked.json"
cmp -s "$T/cert.json" "$T/revoked.json" && fail "the fetched object does not end with its seal"
[[ $(post "$DEPT" "$T/revoked.json") == 200 ]] || fail "POST of a seal marked revoked: $(cat "$T/body")"
[[ $(cat "$T/body") == '{"valid":false,"reason":"revoked"}' ]] || fail "a seal marked revoked: $(cat "$T/body")"
ok "POST /v1/verify: the object as fetched is valid; with one field changed, bad_signature; its seal marked revoked, revoked"

[[ $(post "$HOTEL" "$T/cert.json") == 403 ]] || fail "hotel venue may verify: $(cat "$T/body")"
printf '{"certificateIdentifier": ' >"$T/bad.json"
[[ $(post "$DEPT" "$T/bad.json") == 400 ]] || fail "bad JSON: $(cat "$T/body")"
grep -q '"code":"bad_request"' "$T/body" || fail "bad JSON: $(cat "$T/body")"
curl -s -D "$T/hdr" -o /dev/null --max-time 3 -H "Authorization: Bearer $DEPT" "$URL/v1/verify"
head -n1 "$T/hdr" | grep -q ' 405' || fail "GET /v1/verify: $(head -n1 "$T/hdr")"
grep -qi '^Allow: POST' "$T/hdr" || fail "405 without Allow: POST"
ok "POST /v1/verify: hotel scope 403, bad JSON 400, GET 405 with Allow: POST"

# A body not seen before, sent twice on one connection (one worker, one cache).
sed 's/"certificateHolderName":"/&再/' "$T/cert.json" >"$T/forged2.json"
before=$(checks)
curl -s --max-time 5 -H "Authorization: Bearer $DEPT" -H 'Content-Type: application/json' \
  --data-binary "@$T/forged2.json" "$URL/v1/verify" "$URL/v1/verify" >"$T/body"
[[ $(cat "$T/body") == '{"valid":false,"reason":"bad_signature"}{"valid":false,"reason":"bad_signature"}' ]] ||
  fail "the same POST twice: $(cat "$T/body")"
after=$(checks)
[[ $((after - before)) == 1 ]] || fail "the same POST twice ran $((after - before)) seal checks, not 1"
ok "the same POST twice: one seal check, the second answered from the cache"

# ---- revoking a signer without a restart ---------------------------------------------------

# A certificate of another signer, to show it is not affected.
OTHER=
for id in "${IDS[@]:1}"; do
  [[ $(get "$DEPT" "$id") == 200 ]] || continue
  grep -q "\"signer\":\"$FPR\"" "$T/body" || { OTHER=$id; break; }
done
[[ -n $OTHER ]] || fail "every sample certificate has the same signer"

[[ $(crc trust list -c "$CONF") == 0 ]] || { cat "$T/err"; fail "trust list"; }
cp "$T/out" "$T/list1"
grep -q '^anchors (1)' "$T/list1" && grep -q 'anchors/demo-seal-ca.pem' "$T/list1" ||
  { cat "$T/list1"; fail "trust list does not show the demo's anchor"; }
grep -q "^  $FPR  .*  ok  .*\[signers/" "$T/list1" || { cat "$T/list1"; fail "trust list does not show signer $FPR as ok"; }
nsigners=$(ls "$T/d/trust/signers" | wc -l)
grep -q "^signers ($nsigners: $nsigners ok, 0 revoked" "$T/list1" || { cat "$T/list1"; fail "signer count"; }
gen0=$(metric certgw_trust_generation)
grep -q "^generation $(printf '%08x' "$gen0")$" "$T/list1" ||
  fail "trust list's generation is not certgw's ($(printf '%08x' "$gen0"))"
ok "trust list: the anchor, $nsigners signers ok, certgw's generation $(printf '%08x' "$gen0")"

# A reason longer than a comment line takes, in Chinese: cut on a character.
reason="integration test: $(printf '印章私钥泄露%.0s' $(seq 12))"
[[ $(crc trust revoke -c "$CONF" --signer "$FPR" --reason "$reason") == 0 ]] ||
  { cat "$T/err"; fail "trust revoke"; }
iconv -f UTF-8 -t UTF-8 "$T/d/trust/revoked.txt" >/dev/null 2>&1 ||
  { od -c "$T/d/trust/revoked.txt" | tail -5; fail "revoked.txt is not UTF-8 after a long reason"; }
grep -q "印章私钥泄露" "$T/d/trust/revoked.txt" || fail "revoked.txt does not keep the reason"
grep -q SIGHUP "$T/out" || fail "trust revoke does not mention SIGHUP"
grep -q "^$FPR\$" "$T/d/trust/revoked.txt" || fail "revoked.txt does not list $FPR"
[[ $(crc trust revoke -c "$CONF" --signer "${FPR^^}") == 0 ]] || fail "revoking again is not 0"
grep -q "already" "$T/out" || fail "revoking again does not say so"
[[ $(grep -c "^$FPR\$" "$T/d/trust/revoked.txt") == 1 ]] || fail "revoking again appended"
[[ $(get "$DEPT" "$CERT") == 200 ]] || fail "the revocation took effect before SIGHUP"
ok "trust revoke lists the signer once (again: no change, exit 0); nothing changes before SIGHUP"

hup_wait certgw_trust_generation "$gen0"
await 404 100 "$DEPT" "$CERT" || fail "the revoked signer's certificate still answers $st: $(cat "$T/body")"
grep -q '"code":"not_found"' "$T/body" || fail "404 body: $(cat "$T/body")"
[[ $(get "$DEPT" "$OTHER") == 200 ]] || fail "another signer's certificate: $(cat "$T/body")"
grep -q '"status":"verified"' "$T/body" || fail "another signer's certificate is not verified"
# A scan whose one certificate in reach (a code for its type alone) has
# that failing seal: 404, not 200 with no certificates and the holder's name
# read from the unverified body.
HC=$(grep -o '"certificateHolderCode":"[^"]*"' "$T/cert.json" | cut -d'"' -f4)
HT=$(grep -o '"certificateHolderTypeCode":"[^"]*"' "$T/cert.json" | cut -d'"' -f4)
QR=$("$BIN/certctl" mint -c "$CONF" --holder "$HC" --holder-type "$HT" --types "$(cut -d. -f6 <<<"$CERT")" \
  2>"$T/err") || { cat "$T/err"; fail "certctl mint for $HC"; }
st=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $DEPT" \
  -H 'Content-Type: application/json' --data-binary "{\"code\":\"$QR\",\"purpose\":\"it seal failed\"}" \
  "$URL/v1/scan") || true
[[ $st == 404 ]] || fail "a scan whose one certificate has a failing seal: $st $(cat "$T/body")"
grep -q '"code":"not_found"' "$T/body" || fail "scan 404 body: $(cat "$T/body")"
kill -0 "$GW" 2>/dev/null || fail "certgw died"
ok "SIGHUP: generation $(printf '%08x' "$gen0") -> $(printf '%08x' "$(metric certgw_trust_generation)"); the revoked signer's certificate 404, another's 200 verified"

gen=$(metric certgw_config_generation)
sed -i '/^\[scope department\]/a diagnostics = yes' "$CONF"
hup_wait certgw_config_generation "$gen"
[[ $(get "$DEPT" "$CERT") == 200 ]] || fail "with diagnostics: $(cat "$T/body")"
grep -q '"seal":{"status":"invalid","reason":"signer_revoked"' "$T/body" ||
  fail "with diagnostics the seal is not invalid/signer_revoked: $(cat "$T/body")"
ok "with diagnostics = yes the revoked signer's certificate is served as invalid, signer_revoked"

[[ $(crc trust list -c "$CONF") == 0 ]] || { cat "$T/err"; fail "trust list after revoke"; }
grep -q "^  $FPR  .*  revoked  " "$T/out" || { cat "$T/out"; fail "trust list does not mark $FPR revoked"; }
grep -q "^generation $(printf '%08x' "$(metric certgw_trust_generation)")$" "$T/out" ||
  fail "trust list's generation is not certgw's after the reload"
ok "trust list marks the signer revoked"

# ---- revocation data past its nextUpdate ----------------------------------------------------
# A CRL of the demo CA (made with openssl: mbedTLS 2.28 cannot write one)
# that is fresh for a few seconds: certificates stay verified; when its
# nextUpdate passes, certgw loads the trust store again by itself (a new
# generation) and fails closed — 503, and /v1/verify says trust_stale —
# until a fresh CRL and a SIGHUP.
command -v openssl >/dev/null || fail "openssl is not installed (tools/bootstrap installs it)"
mkdir -p "$T/ca"
: >"$T/ca/index.txt"
echo 01 >"$T/ca/crlnumber"
cat >"$T/ca/ca.cnf" <<CNF
[ ca ]
default_ca = cg
[ cg ]
database = $T/ca/index.txt
crlnumber = $T/ca/crlnumber
certificate = $T/d/trust/anchors/demo-seal-ca.pem
private_key = $T/d/keys/demo-seal-ca.key.pem
default_md = sha256
default_crl_days = 1
CNF
crl() { # crl NEXT: a CRL listing nobody, in force from a minute ago until NEXT (date -d)
  openssl ca -config "$T/ca/ca.cnf" -gencrl -crl_lastupdate "$(date -u -d '-1 minute' +%Y%m%d%H%M%SZ)" \
    -crl_nextupdate "$(date -u -d "$1" +%Y%m%d%H%M%SZ)" -out "$T/d/trust/crl/demo.pem" \
    >"$T/ca/log" 2>&1 || { cat "$T/ca/log"; fail "openssl ca -gencrl"; }
}
mkdir -p "$T/d/trust/crl"
gen=$(metric certgw_trust_generation)
crl '+6 seconds'
hup_wait certgw_trust_generation "$gen"
next=$(date -u -d "$(openssl crl -in "$T/d/trust/crl/demo.pem" -noout -nextupdate | cut -d= -f2)" +%s)
[[ $(metric certgw_trust_stale) == 0 && $(metric certgw_trust_crl_next_change_seconds) == "$next" ]] ||
  fail "with a fresh CRL: stale $(metric certgw_trust_stale), next change $(metric certgw_trust_crl_next_change_seconds), not 0 and $next"
[[ $(get "$DEPT" "$OTHER") == 200 ]] || fail "with a fresh CRL: $(cat "$T/body")"
grep -q '"status":"verified"' "$T/body" || fail "with a fresh CRL, not verified: $(cat "$T/body")"
cp "$T/body" "$T/other.json"
gen=$(metric certgw_trust_generation)
# (the CRL's 6 s, and the reload after them)
await 503 200 "$DEPT" "$OTHER" || fail "10 s on, past the CRL's nextUpdate, a fetch answers $st: $(cat "$T/body")"
grep -q '"code":"unavailable"' "$T/body" || fail "stale CRL, 503 body: $(cat "$T/body")"
grep -q 'revocation lists are out of date' "$T/body" || fail "stale CRL, 503 body: $(cat "$T/body")"
[[ $(metric certgw_trust_generation) != "$gen" ]] || fail "the generation did not change with the stale CRL"
[[ $(metric certgw_trust_stale) == 1 && $(metric certgw_trust_crl_next_change_seconds) == 0 ]] ||
  fail "a stale CRL: certgw_trust_stale $(metric certgw_trust_stale), next change $(metric certgw_trust_crl_next_change_seconds)"
grep -q "revocation data out of date: configuration .* reloaded" "$T/gw.err" ||
  fail "certgw does not log the reload: $(tail -3 "$T/gw.err")"
[[ $(post "$DEPT" "$T/other.json") == 200 ]] || fail "POST /v1/verify, stale CRL: $(cat "$T/body")"
[[ $(cat "$T/body") == '{"valid":false,"reason":"trust_stale"}' ]] ||
  fail "POST /v1/verify with a stale CRL: $(cat "$T/body")"
ok "a CRL past its nextUpdate: certgw reloads the trust store by itself, fetches answer 503, /v1/verify trust_stale, certgw_trust_stale 1"
gen=$(metric certgw_trust_generation)
crl '+1 day'
hup_wait certgw_trust_generation "$gen"
await 200 100 "$DEPT" "$OTHER" || fail "with a fresh CRL again: $st $(cat "$T/body")"
grep -q '"status":"verified"' "$T/body" || fail "with a fresh CRL again, not verified: $(cat "$T/body")"
ok "a fresh CRL and SIGHUP: verified again"

# ---- certctl trust add -------------------------------------------------------------------

before=$(ls "$T/d/trust/anchors" "$T/d/trust/signers" | wc -l)
echo "not a certificate" >"$T/garbage.pem"
[[ $(crc trust add -c "$CONF" --anchor "$T/garbage.pem") == 1 ]] || fail "garbage anchor: not 1"
grep -q "not a certificate" "$T/err" || { cat "$T/err"; fail "garbage: no reason"; }
[[ $(crc trust add -c "$CONF" --signer "$T/garbage.pem") == 1 ]] || fail "garbage signer: not 1"
[[ $(crc trust add -c "$CONF" --anchor "$T/d/trust/anchors/demo-seal-ca.pem") == 1 ]] || fail "duplicate anchor: not 1"
grep -q "already" "$T/err" || { cat "$T/err"; fail "duplicate: no reason"; }
some=$(ls "$T/d/trust/signers" | head -n1)
[[ $(crc trust add -c "$CONF" --signer "$T/d/trust/signers/$some") == 1 ]] || fail "duplicate signer: not 1"
[[ $(crc trust add -c "$CONF" --anchor "$T/d/trust/signers/$some") == 1 ]] || fail "a signer as anchor: not 1"
grep -q "not a CA" "$T/err" || { cat "$T/err"; fail "a signer as anchor: no reason"; }
[[ $(crc trust add -c "$CONF") == 2 ]] || fail "add without a file: not 2"
[[ $(ls "$T/d/trust/anchors" "$T/d/trust/signers" | wc -l) == "$before" ]] || fail "a refused add wrote a file"
ok "trust add refuses garbage, duplicates and a non-CA anchor, and writes nothing"

# ---- certctl verify ------------------------------------------------------------------------

kill -TERM "$GW"
rc=0; wait "$GW" || rc=$?
GW=
[[ $rc == 0 ]] || fail "certgw exited $rc"

C demo "$T/nv" --count 600 --port "$PORT" --no-verify >"$T/demo.out" 2>&1 || { cat "$T/demo.out"; fail "demo --no-verify"; }
NV=$T/nv/certgw.conf
C stat -c "$NV" --json >"$T/stat.json"
[[ $(json_num "$T/stat.json" seal_unchecked) == 600 ]] || fail "--no-verify demo: not 600 unchecked"
[[ $(crc verify -c "$NV" --threads 2) == 0 ]] || { cat "$T/out" "$T/err"; fail "verify of the store"; }
grep -q '^  verified    600$' "$T/out" && grep -q '^  invalid     0$' "$T/out" ||
  { cat "$T/out"; fail "verify: not 600 verified"; }
grep -q '^store: 600 verdicts filed' "$T/out" || { cat "$T/out"; fail "verify filed no verdicts"; }
rate=$(sed -n 's/.*: \([0-9]*\) seals\/s$/\1/p' "$T/out")
C stat -c "$NV" --json >"$T/stat.json"
[[ $(json_num "$T/stat.json" seal_verified) == 600 && $(json_num "$T/stat.json" seal_unchecked) == 0 ]] ||
  { cat "$T/stat.json"; fail "stat after verify: not 600 verified"; }
[[ $(crc verify -c "$NV") == 0 ]] || fail "verify again"
grep -q '^store: 0 verdicts filed.*600 were so already' "$T/out" || { cat "$T/out"; fail "verify again rewrote verdicts"; }
ok "verify -c on a --no-verify demo: 600 verified ($rate seals/s, Debug), filed; stat agrees; again: nothing to file"

# --unchecked checks only what has no verdict: here the city platform's 50
# certificates, imported unchecked beside the 600 verified ones.
C import -c "$NV" --no-verify "$T/nv/upstream/city.jsonl" >/dev/null 2>&1 || fail "import of city.jsonl"
[[ $(crc verify -c "$NV" --unchecked) == 0 ]] || { cat "$T/out" "$T/err"; fail "verify --unchecked"; }
grep -q '^  verified    50$' "$T/out" && grep -q '^store: 50 verdicts filed' "$T/out" &&
  grep -q '^  skipped 600 records' "$T/out" || { cat "$T/out"; fail "verify --unchecked: not 50 checked, 600 skipped"; }
C stat -c "$NV" --json >"$T/stat.json"
[[ $(json_num "$T/stat.json" seal_verified) == 650 && $(json_num "$T/stat.json" seal_unchecked) == 0 ]] ||
  { cat "$T/stat.json"; fail "stat after verify --unchecked: not 650 verified"; }
[[ $(crc verify -c "$NV" --unchecked) == 0 ]] && grep -q '^checked 0 seals' "$T/out" &&
  grep -q '^  skipped 650 records' "$T/out" || { cat "$T/out"; fail "verify --unchecked again: not 0 checked"; }
[[ $(crc verify -c "$NV" --unchecked "$T/nv/upstream/city.jsonl") == 2 ]] || fail "--unchecked with a FILE: not 2"
ok "verify --unchecked: checks the 50 unchecked records only (600 skipped), then none; refused with a FILE"

C export -c "$NV" -o "$T/all.jsonl" 2>/dev/null
printf '  \t\r\n\n' >>"$T/all.jsonl" # blank lines, one of white space: skipped, as import skips them
[[ $(crc verify -c "$NV" "$T/all.jsonl") == 0 ]] || { cat "$T/out" "$T/err"; fail "verify of the export"; }
[[ $(grep -c ':[0-9]*: ' "$T/out") == 0 ]] || fail "verify of a clean export reports a line"
sed '7s/"certificateHolderName":"/&伪/' "$T/all.jsonl" >"$T/forged.jsonl"
ident=$(sed -n '7p' "$T/all.jsonl" | grep -o '"certificateIdentifier":"[^"]*"' | cut -d'"' -f4)
[[ $(crc verify -c "$NV" "$T/forged.jsonl") == 1 ]] || { cat "$T/out"; fail "verify of a forged export: not 1"; }
grep -q "^$T/forged.jsonl:7: $ident: bad_signature\$" "$T/out" || { cat "$T/out"; fail "the forged line is not named"; }
[[ $(grep -c ':[0-9]*: ' "$T/out") == 1 ]] || { cat "$T/out"; fail "more than the forged line reported"; }
grep -q "invalid" "$T/err" || fail "verify does not say that a seal is invalid"
[[ $(crc verify) == 2 ]] || fail "verify without a store or a file: not 2"
ok "verify FILE: a clean export passes; a forged line is named ($ident, line 7), exit 1"

# ---- bulk verification: printed, not asserted ------------------------------------------------

# The Release build when there is one beside this build, with certctl verify.
REL=${CG_RELEASE_BUILD:-$BUILD/../build-rel}
CTL=$BIN/certctl N=4000 kind=Debug
if [[ -x $REL/bin/certctl ]] && "$REL/bin/certctl" verify --help >/dev/null 2>&1; then
  CTL=$REL/bin/certctl N=20000 kind=Release
fi
"$CTL" demo "$T/big" --count "$N" --port "$PORT" --no-verify >"$T/demo.out" 2>&1 || { cat "$T/demo.out"; fail "big demo"; }

# ---- a request's check goes before the scanner's ----------------------------------------------
# certgw on that unchecked store, with one verifier thread: its scanner
# queues a check of every record at once. A fetch of one of them waits for
# its own check only, not behind the scanner's: when it is answered, most
# of the scanner's are still queued (an order, not a timing).
CONF=$T/big/certgw.conf
strip_upstream "$CONF"
sed -i '/^\[seal\]/a verifier_threads = 1' "$CONF"
start_gw 1
q=0
for _ in $(seq 100); do
  q=$(metric certgw_seal_queue)
  ((q >= N / 2)) && break
  sleep 0.05
done
((q >= N / 2)) || fail "the scanner queued $q checks of $N unchecked records"
BIGDEPT=$(grep -A2 '"id":[[:space:]]*"jn-dept-zwfw"' "$T/big/demo.json" | sed -n 's/.*"key":[[:space:]]*"\([^"]*\)".*/\1/p')
LAST=$(grep $'^\t"certificates":' "$T/big/demo.json" | grep -o '1\.2\.156[^"]*' | tail -n1)
[[ $(get "$BIGDEPT" "$LAST") == 200 ]] || fail "fetch of an unchecked record: $(cat "$T/body")"
grep -q '"status":"verified"' "$T/body" || fail "an unchecked record's fetch is not verified: $(cat "$T/body")"
after=$(metric certgw_seal_queue)
((after >= N / 4)) || fail "the fetch was answered with $after of $N background checks left: it waited behind them"
kill -TERM "$GW"
rc=0; wait "$GW" || rc=$?
GW=
[[ $rc == 0 ]] || fail "certgw exited $rc with checks queued"
ok "a fetch's seal check goes first: answered verified with $after of $q background checks still queued"

"$CTL" verify -c "$T/big/certgw.conf" >"$T/out" 2>&1 || { cat "$T/out"; fail "bulk verify"; }
echo "# bulk ($kind build, $(nproc) cores): $(head -n1 "$T/out")"
ok "bulk verification of $N demo seals: $(sed -n 's/.*: \([0-9]*\) seals\/s$/\1/p' "$T/out") seals/s ($kind)"

echo "$checks passed, 0 failed"
