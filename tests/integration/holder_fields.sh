#!/usr/bin/env bash
# The holder a certificate names is its top-level certificateHolderCode,
# whatever the body holds besides. A certificate, sealed by its agency, that
# also carries a member of that name inside a nested object, and a `data`
# object too large for the record's member index (so that the gateway reads
# the body itself): its fetch is audited under its own holder, not under the
# nested code, and it is listed for its own holder (review of 5001178: the
# body used to be searched for the first `"certificateHolderCode":"`).
source "$(dirname "$0")/lib.sh"

SEAL=$BUILD/tests/seal_cert
[[ -x $SEAL ]] || fail "$SEAL is missing: build the target seal_cert"
local_demo 50 $((22000 + $$ % 2000))
sed -i '/^\[server\]/a drain_delay = 0' "$CONF"
"$BIN/certctl" export -c "$CONF" -o "$T/all.jsonl" 2>/dev/null || fail "export"
field() { grep -o "\"$1\":\"[^\"]*\"" <<<"$2" | head -n1 | cut -d'"' -f4; }
line=$(sed -n '1p' "$T/all.jsonl")
ID=$(field certificateIdentifier "$line")
HC=$(field certificateHolderCode "$line")
HT=$(field certificateHolderTypeCode "$line")
# Another holder of the same type: the code planted in the nested object.
VICTIM=
while read -r l; do
  c=$(field certificateHolderCode "$l")
  [[ $(field certificateHolderTypeCode "$l") == "$HT" && $c != "$HC" ]] && { VICTIM=$c; break; }
done <"$T/all.jsonl"
[[ -n $ID && -n $HC && -n $VICTIM ]] || fail "the demo lacks two holders of one type"

# "Aux" sorts before "certificate…"; 65 members in data overflow the index (64).
extra="\"Aux\":{\"certificateHolderCode\":\"$VICTIM\"},\"data\":{"
for i in $(seq 100 164); do extra+="\"k$i\":\"v\","; done
extra="${extra%,}}"
crafted=$(sed 's/,"data":{[^}]*}//; s/,"seal":{[^}]*}//' <<<"$line" | sed "s/^{/{$extra,/")
issuer=$(cut -d. -f7 <<<"$ID")
sealed=$("$SEAL" reseal "$T/d/trust/signers/$issuer.pem" "$T/d/keys/$issuer.key.pem" "$HT" "$HC" <<<"$crafted") ||
  fail "seal_cert could not seal the crafted $ID"
echo "$sealed" >"$T/crafted.jsonl"
"$BIN/certctl" import -c "$CONF" --refuse-bad-seals "$T/crafted.jsonl" >"$T/out" 2>&1 ||
  { cat "$T/out"; fail "import of the crafted certificate"; }
ok "a certificate of $HC sealed with a nested certificateHolderCode $VICTIM and 65 data members"

start_gw 1
DEPT=$(grep -A2 '"id":[[:space:]]*"jn-dept-zwfw"' "$T/d/demo.json" | sed -n 's/.*"key":[[:space:]]*"\([^"]*\)".*/\1/p')
s=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $DEPT" \
  "$URL/v1/certificates/$ID") || true
[[ $s == 200 ]] || fail "fetch of the crafted $ID: $s $(head -c 300 "$T/body")"
grep -q '"Aux":{"certificateHolderCode"' "$T/body" || fail "the fetch does not show the body as sealed"
s=$(curl -s -o "$T/list" -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $DEPT" \
  "$URL/v1/holders/$HC/certificates") || true
[[ $s == 200 ]] && grep -q "\"certificateIdentifier\":\"$ID\"" "$T/list" ||
  fail "the holder list of $HC lacks $ID: $s $(head -c 300 "$T/list")"
kill -TERM "$GW"
wait "$GW" || fail "certgw exited $? after SIGTERM"
GW=
"$BIN/certctl" audit -c "$CONF" --holder "$HC" --holder-type "$HT" >"$T/own" 2>/dev/null || fail "audit --holder $HC"
"$BIN/certctl" audit -c "$CONF" --holder "$VICTIM" --holder-type "$HT" >"$T/victim" 2>/dev/null || fail "audit --holder $VICTIM"
grep -q "fetch .*certificates=$ID" "$T/own" || { cat "$T/own"; fail "the fetch of $ID is not audited under its holder $HC"; }
grep -q "$ID" "$T/victim" && { cat "$T/victim"; fail "the fetch of $ID is audited under the nested code $VICTIM"; }
ok "its fetch is audited under $HC, not $VICTIM, and $HC's list shows it"
echo "$checks passed, 0 failed"
