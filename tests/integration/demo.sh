#!/usr/bin/env bash
# certctl demo writes a complete deployment whose every identifier and
# holder code passes its check character and whose seals verify.
source "$(dirname "$0")/lib.sh"

"$BIN/certctl" demo "$T/d" --count 3000 --port 18080 >"$T/out" 2>&1 || { cat "$T/out"; fail "demo"; }
ok "certctl demo --count 3000"
for f in certgw.conf demo.json keyring trust/anchors/demo-seal-ca.pem data/data.mdb; do
  [[ -s "$T/d/$f" ]] || fail "missing $f"
done
[[ ! -e "$T/d/certificates.jsonl" ]] || fail "source kept without --keep-source"
grep -q "\"listen\":[[:space:]]*\"127.0.0.1:18080\"" "$T/d/demo.json" || fail "listen port not in demo.json"
grep -q '^listen = 127.0.0.1:18080' "$T/d/certgw.conf" || fail "listen port not in certgw.conf"
ok "deployment files present, port honoured"

"$BUILD/tests/check_demo" "$T/d" || fail "check_demo found problems"
ok "every record checks out (identifiers, holder codes, seals, index, demo.json)"

"$BIN/certctl" stat -c "$T/d/certgw.conf" --json >"$T/stat.json"
[[ $(json_num "$T/stat.json" total) == 3000 ]] || fail "stat total is not 3000"
[[ $(json_num "$T/stat.json" cert) == 3000 ]] || fail "cert entries not 3000"
[[ $(json_num "$T/stat.json" holder) == 3000 ]] || fail "holder entries not 3000"
[[ $(json_num "$T/stat.json" venue) == 2 ]] || fail "venues not 2"
[[ $(json_num "$T/stat.json" es256) -gt 0 && $(json_num "$T/stat.json" rs256) -gt 0 ]] || fail "both algorithms"
types=$(grep -c '"code":' "$T/stat.json")
[[ $types -ge 20 ]] || fail "only $types certificate types"
ok "stat: 3000 certificates of $types types, both seal algorithms"

if "$BIN/certctl" demo "$T/d" --count 10 >"$T/out" 2>&1; then fail "demo over an existing deployment succeeded"; fi
grep -q "already holds a deployment" "$T/out" || fail "no reason given"
"$BIN/certctl" demo "$T/d" --count 50 --force >/dev/null 2>&1 || fail "demo --force"
"$BIN/certctl" stat -d "$T/d/data" --json >"$T/stat.json"
[[ $(json_num "$T/stat.json" total) == 50 ]] || fail "--force did not replace the store"
ok "refuses to overwrite; --force replaces"

set +e
"$BIN/certctl" demo "$T/e" --count 0 >/dev/null 2>&1; rc1=$?
"$BIN/certctl" demo "$T/e" --port 70000 >/dev/null 2>&1; rc2=$?
"$BIN/certctl" nonsense >/dev/null 2>&1; rc3=$?
set -e
[[ $rc1 == 2 && $rc2 == 2 && $rc3 == 2 ]] || fail "bad arguments exit 2 ($rc1 $rc2 $rc3)"
"$BIN/certctl" --help | grep -q "demo DIR" || fail "--help lists demo"
ok "bad arguments refused with usage"

echo "$checks passed, 0 failed"
