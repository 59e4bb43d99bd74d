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
ok "every record checks out (identifiers, holder codes, seals, index, demo.json, upstream sets)"

# The upstream platforms' data sets: 3000 / 20 certificates each, every seal
# good to a trust store that knows only the demo's anchors and signers, and
# none of them in the store or in the other set.
U=$T/d/upstream
for f in city.jsonl province.jsonl tls/ca.pem tls/server.pem tls/server.key tls/other-ca.pem; do
  [[ -s "$U/$f" ]] || fail "missing upstream/$f"
done
[[ $(stat -c %a "$U/tls/server.key") == 600 ]] || fail "server.key is not private"
for name in city province; do
  [[ $(wc -l <"$U/$name.jsonl") == 150 ]] || fail "$name.jsonl: $(wc -l <"$U/$name.jsonl") lines, not 150"
  "$BIN/certctl" import -d "$T/scratch" --trust "$T/d/trust" --refuse-bad-seals "$U/$name.jsonl" \
    >"$T/imp" 2>&1 || { cat "$T/imp"; fail "import of $name.jsonl"; }
  grep -q "^imported 150 certificates (0 replaced)" "$T/imp" || { cat "$T/imp"; fail "$name: not 150 new"; }
  grep -q "^seals: 150 verified, 0 invalid" "$T/imp" || { cat "$T/imp"; fail "$name: seals"; }
done
ids() { grep -o '"certificateIdentifier":"[^"]*"' "$1" | sort; }
"$BIN/certctl" export -c "$T/d/certgw.conf" -o "$T/local.jsonl" >/dev/null 2>&1 || fail "export"
ids "$T/local.jsonl" >"$T/local.ids"
ids "$U/city.jsonl" >"$T/city.ids"
ids "$U/province.jsonl" >"$T/province.ids"
[[ $(wc -l <"$T/local.ids") == 3000 ]] || fail "export: not 3000 identifiers"
dups=$(sort "$T/local.ids" "$T/city.ids" "$T/province.ids" | uniq -d | wc -l)
[[ $dups == 0 ]] || fail "$dups identifiers in more than one of store, city and province"
ok "upstream/city.jsonl and province.jsonl: 150 each, all seals verify on import, disjoint from each other and the store"

grep -q '"upstream":' "$T/d/demo.json" || fail "demo.json has no upstream"
for name in city province; do
  port=$(sed -n "/^\[upstream $name\]/,/^\[/ s|^url = http://127.0.0.1:\([0-9]*\)$|\1|p" "$T/d/certgw.conf")
  [[ -n $port ]] || fail "certgw.conf: no [upstream $name] url"
  # cJSON prints each array on one line: the simulator's command line.
  cmd=$(sed -n "/\"$name\":/,/\"command\":/ s/.*\"command\":[[:space:]]*\[\(.*\)\].*/\1/p" "$T/d/demo.json")
  # Absolute paths, symbolic links resolved.
  [[ $cmd == "\"$(realpath "$BIN")/certgw-upstream-sim\", \"--name\", \"$name\", \"--listen\", \"127.0.0.1:$port\", \"--data\", \"$(realpath "$U")/$name.jsonl\", \"--access-id\", \""*"\", \"--token\", \""*'"' ]] ||
    fail "upstream.$name command: $cmd"
  grep -q "\"listen\":[[:space:]]*\"127.0.0.1:$port\"" "$T/d/demo.json" || fail "upstream.$name listen"
done
grep -q '^\[upstream\]' "$T/d/certgw.conf" || fail "certgw.conf has no [upstream]"
[[ $(grep -c '^feed = yes' "$T/d/certgw.conf") == 2 ]] || fail "certgw.conf: feed = yes on both tiers"
ok "demo.json: upstream city and province with listen, command (certgw.conf's ports) and certificates"

openssl x509 -in "$U/tls/server.pem" -noout -text >"$T/server.txt" || fail "server.pem does not parse"
grep -q "DNS:platform.test" "$T/server.txt" || fail "no DNS:platform.test in the SAN"
grep -q "IP Address:127.0.0.1" "$T/server.txt" || fail "no IP:127.0.0.1 in the SAN"
grep -q "ASN1 OID: prime256v1" "$T/server.txt" || fail "server key is not P-256"
openssl verify -CAfile "$U/tls/ca.pem" -purpose sslserver "$U/tls/server.pem" >/dev/null 2>&1 ||
  fail "server.pem does not verify against ca.pem"
openssl verify -CAfile "$U/tls/ca.pem" -verify_hostname platform.test "$U/tls/server.pem" >/dev/null 2>&1 ||
  fail "server.pem not for platform.test"
openssl verify -CAfile "$U/tls/ca.pem" -verify_ip 127.0.0.1 "$U/tls/server.pem" >/dev/null 2>&1 ||
  fail "server.pem not for 127.0.0.1"
if openssl verify -CAfile "$U/tls/other-ca.pem" "$U/tls/server.pem" >/dev/null 2>&1; then
  fail "server.pem verifies against other-ca.pem"
fi
if openssl verify -CAfile "$U/tls/ca.pem" -verify_hostname other.test "$U/tls/server.pem" >/dev/null 2>&1; then
  fail "server.pem verifies for other.test"
fi
[[ $(openssl pkey -in "$U/tls/server.key" -pubout) == $(openssl x509 -in "$U/tls/server.pem" -noout -pubkey) ]] ||
  fail "server.key does not match server.pem"
ok "upstream TLS: server.pem for platform.test and 127.0.0.1 verifies against ca.pem, not other-ca.pem"

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
cp "$U/tls/ca.pem" "$T/old-ca.pem"
"$BIN/certctl" demo "$T/d" --count 50 --force --upstream-ports 18091,18092 >/dev/null 2>&1 || fail "demo --force"
"$BIN/certctl" stat -d "$T/d/data" --json >"$T/stat.json"
[[ $(json_num "$T/stat.json" total) == 50 ]] || fail "--force did not replace the store"
[[ $(wc -l <"$U/city.jsonl") == 50 && $(wc -l <"$U/province.jsonl") == 50 ]] || fail "--force: upstream sets not 50"
! cmp -s "$U/tls/ca.pem" "$T/old-ca.pem" || fail "--force kept the old TLS CA"
grep -q '^url = http://127.0.0.1:18091$' "$T/d/certgw.conf" && grep -q '^url = http://127.0.0.1:18092$' "$T/d/certgw.conf" ||
  fail "--upstream-ports not in certgw.conf"
grep -q '"--listen", "127.0.0.1:18092"' "$T/d/demo.json" || fail "--upstream-ports not in demo.json"
"$BUILD/tests/check_demo" "$T/d" >/dev/null || fail "check_demo after --force"
ok "refuses to overwrite; --force replaces (upstream too); --upstream-ports honoured"

# The same seed makes the same data, the platforms' sets included (seals
# differ: the keys are new each time).
for i in 1 2; do
  "$BIN/certctl" demo "$T/s$i" --count 400 --seed 9 --keep-source >/dev/null 2>&1 || fail "demo --seed"
done
for f in certificates.jsonl upstream/city.jsonl upstream/province.jsonl; do
  cmp -s <(sed 's/,"seal":.*//' "$T/s1/$f") <(sed 's/,"seal":.*//' "$T/s2/$f") || fail "--seed 9 twice: $f differs"
done
"$BIN/certctl" demo "$T/s3" --count 400 --seed 10 >/dev/null 2>&1 || fail "demo --seed 10"
! cmp -s <(ids "$T/s1/upstream/city.jsonl") <(ids "$T/s3/upstream/city.jsonl") || fail "--seed 10 made the same city set"
ok "--seed: the same store and upstream sets again; another seed, other sets"

set +e
"$BIN/certctl" demo "$T/e" --count 0 >/dev/null 2>&1; rc1=$?
"$BIN/certctl" demo "$T/e" --port 70000 >/dev/null 2>&1; rc2=$?
"$BIN/certctl" nonsense >/dev/null 2>&1; rc3=$?
rc4=""
for bad in 18091 18091,18091 18080,18091 0,1 1,70000 1,2,3 a,b; do
  "$BIN/certctl" demo "$T/e" --port 18080 --upstream-ports "$bad" >/dev/null 2>&1; rc4="$rc4$?"
done
set -e
[[ $rc1 == 2 && $rc2 == 2 && $rc3 == 2 && $rc4 == 2222222 ]] || fail "bad arguments exit 2 ($rc1 $rc2 $rc3 $rc4)"
[[ ! -e "$T/e" ]] || fail "a refused demo left $T/e behind"
"$BIN/certctl" --help | grep -q "demo DIR" || fail "--help lists demo"
ok "bad arguments refused with usage"

echo "$checks passed, 0 failed"
