#!/usr/bin/env bash
# certctl import/export: a round trip is byte-exact; a bad line is reported
# with its number and leaves the store exactly as it was.
source "$(dirname "$0")/lib.sh"

"$BIN/certctl" demo "$T/d" --count 2000 --keep-source >/dev/null 2>&1 || fail "demo"
"$BIN/certctl" export -c "$T/d/certgw.conf" -o "$T/a.jsonl" 2>/dev/null || fail "export"
[[ $(wc -l <"$T/a.jsonl") == 2000 ]] || fail "export wrote $(wc -l <"$T/a.jsonl") lines"
cmp -s "$T/a.jsonl" "$T/d/certificates.jsonl" || fail "export differs from what demo imported"
ok "export writes what was imported, byte for byte"

"$BIN/certctl" import -d "$T/s" --trust "$T/d/trust" "$T/a.jsonl" >"$T/out" || fail "import into a new store"
cp "$T/out" "$T/out.first"
grep -q "imported 2000 certificates (0 replaced)" "$T/out" || { cat "$T/out"; fail "import summary"; }
"$BIN/certctl" export -d "$T/s" >"$T/b.jsonl" 2>/dev/null
cmp -s "$T/a.jsonl" "$T/b.jsonl" || fail "export of the re-imported store differs"
ok "import then export round-trips byte for byte"

"$BIN/certctl" import -d "$T/s" --trust "$T/d/trust" --threads 1 "$T/a.jsonl" >"$T/out" || fail "re-import"
grep -q "(2000 replaced)" "$T/out" || fail "re-import did not replace"
"$BIN/certctl" stat -d "$T/s" --json >"$T/before.json"
[[ $(json_num "$T/before.json" cert) == 2000 && $(json_num "$T/before.json" holder) == 2000 ]] ||
  fail "replacing duplicated entries"
ok "re-import replaces, no duplicate index entries"

# A bad check character on line 1500. The lines before it suspend their
# certificates, so any of them stored would show in stat's counts.
awk 'NR<1500 { sub(/"status":"valid"/, "\"status\":\"suspended\"") }
     NR==1500 { sub(/"certificateHolderCode":"[0-9A-Z]*"/, "\"certificateHolderCode\":\"110105194912310021\"") }
     { print }' \
  "$T/a.jsonl" >"$T/bad.jsonl"
if "$BIN/certctl" import -d "$T/s" --trust "$T/d/trust" "$T/bad.jsonl" >"$T/out" 2>&1; then fail "bad import succeeded"; fi
grep -q "bad.jsonl:1500: " "$T/out" || { cat "$T/out"; fail "line 1500 not named"; }
grep -q "nothing was imported" "$T/out" || fail "no word on the store"
"$BIN/certctl" stat -d "$T/s" --json >"$T/after.json"
cmp -s "$T/before.json" "$T/after.json" || fail "a failed import changed the store"
ok "bad line 1500 reported; store unchanged"

# A failed import into an empty store leaves it empty, although the lines
# before the bad one were fine.
head -n 20 "$T/a.jsonl" >"$T/short.jsonl"
echo '{"certificateIdentifier": "not json' >>"$T/short.jsonl"
if "$BIN/certctl" import -d "$T/e" --trust "$T/d/trust" "$T/short.jsonl" >"$T/out" 2>&1; then fail "truncated import succeeded"; fi
grep -q "short.jsonl:21: not valid JSON" "$T/out" || { cat "$T/out"; fail "line 21"; }
"$BIN/certctl" stat -d "$T/e" --json >"$T/e.json"
[[ $(json_num "$T/e.json" total) == 0 ]] || fail "lines before the bad one were stored"
ok "nothing stored from a file with a bad line"

# Blank lines and CRLF are fine; standard input works.
sed -n '1,5p' "$T/a.jsonl" | sed 's/$/\r/' >"$T/crlf.jsonl"
printf '\n\n  \t \r\n' >>"$T/crlf.jsonl"
sed -n '6,8p' "$T/a.jsonl" >>"$T/crlf.jsonl"
"$BIN/certctl" import -d "$T/c" --trust "$T/d/trust" - <"$T/crlf.jsonl" >"$T/out" || fail "stdin import"
grep -q "imported 8 certificates" "$T/out" || { cat "$T/out"; fail "crlf count"; }
ok "CRLF, blank lines (white space alone too) and standard input"

# Seals: every seal verified on import; a changed body is stored as an
# invalid seal (counted), or refused with --refuse-bad-seals.
grep -q "seals: 2000 verified, 0 invalid" "$T/out.first" || { cat "$T/out.first"; fail "seals not all verified"; }
sed -n '1,10p' "$T/a.jsonl" | sed '4s/"certificateNumber":"[^"]*"/"certificateNumber":"FORGED"/' >"$T/forged.jsonl"
"$BIN/certctl" import -d "$T/f" --trust "$T/d/trust" "$T/forged.jsonl" >"$T/out" || fail "import of a forged line"
grep -q "seals: 9 verified, 1 invalid, bad_signature 1" "$T/out" || { cat "$T/out"; fail "forged seal not caught"; }
if "$BIN/certctl" import -d "$T/g" --trust "$T/d/trust" --refuse-bad-seals "$T/forged.jsonl" >"$T/out" 2>&1; then
  fail "--refuse-bad-seals imported a forged line"
fi
grep -q "forged.jsonl:4: the seal does not verify: bad_signature" "$T/out" || { cat "$T/out"; fail "line 4 not named"; }
"$BIN/certctl" import -d "$T/h" --no-verify "$T/forged.jsonl" | grep -q "not verified" || fail "--no-verify"
"$BIN/certctl" stat -d "$T/h" --json >"$T/h.json"
[[ $(json_num "$T/h.json" seal_unchecked) == 10 ]] || fail "--no-verify did not store seals unchecked"
ok "seals verified on import; a forged body is counted invalid or refused; --no-verify defers"

# A certificate its issuer revoked after sealing it (the change feed's
# word; the sealed body still reads valid) is exported with "revoked": true
# in its seal object, and imported so; its seal still verifies (the seal
# member is not part of the body). Imported again without the word (an
# older file), it stays revoked. A "revoked" that is not true or false is
# refused.
sed -n '3p' "$T/a.jsonl" >"$T/one.jsonl"
sed 's/}}$/,"revoked":true}}/' "$T/one.jsonl" >"$T/rev.jsonl"
cmp -s "$T/one.jsonl" "$T/rev.jsonl" && fail "the line does not end with its seal object"
"$BIN/certctl" import -d "$T/r" --trust "$T/d/trust" --refuse-bad-seals "$T/rev.jsonl" >"$T/out" 2>&1 ||
  { cat "$T/out"; fail "import of a line with \"revoked\": true"; }
"$BIN/certctl" export -d "$T/r" -o "$T/r1.jsonl" 2>/dev/null || fail "export of r"
cmp -s "$T/rev.jsonl" "$T/r1.jsonl" || { diff "$T/rev.jsonl" "$T/r1.jsonl" | head -c 600; fail "a revoked certificate does not export as it was imported"; }
"$BIN/certctl" import -d "$T/r" --trust "$T/d/trust" "$T/one.jsonl" >"$T/out" 2>&1 || { cat "$T/out"; fail "re-import of r"; }
"$BIN/certctl" export -d "$T/r" -o "$T/r2.jsonl" 2>/dev/null || fail "export of r again"
cmp -s "$T/rev.jsonl" "$T/r2.jsonl" || fail "importing the line without \"revoked\" un-revoked the certificate"
"$BIN/certctl" verify --trust "$T/d/trust" "$T/r2.jsonl" >"$T/out" 2>&1 || { cat "$T/out"; fail "verify of a revoked line"; }
sed 's/}}$/,"revoked":"yes"}}/' "$T/one.jsonl" >"$T/bad-rev.jsonl"
if "$BIN/certctl" import -d "$T/r" --trust "$T/d/trust" "$T/bad-rev.jsonl" >"$T/out" 2>&1; then fail "\"revoked\":\"yes\" imported"; fi
grep -q "bad-rev.jsonl:1: seal.revoked must be true or false" "$T/out" || { cat "$T/out"; fail "bad revoked not named"; }
ok "a certificate revoked after sealing exports and imports as revoked, stays so under an older line, and its seal verifies"

if "$BIN/certctl" import -d "$T/c" --trust "$T/d/trust" "$T/missing.jsonl" >/dev/null 2>&1; then fail "missing file"; fi
if "$BIN/certctl" import "$T/a.jsonl" >/dev/null 2>&1; then fail "no store named"; fi
ok "missing file and missing store refused"

echo "$checks passed, 0 failed"
