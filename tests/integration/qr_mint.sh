#!/usr/bin/env bash
# certctl mint prints one line, a code of QR alphanumeric characters no longer
# than 120; its PNG and its terminal drawing both scan (zbarimg) back to
# exactly that line; what it must refuse, it refuses.
source "$(dirname "$0")/lib.sh"

"$BIN/certctl" demo "$T/d" --count 200 >"$T/out" 2>&1 || { cat "$T/out"; fail "demo"; }
CONF=$T/d/certgw.conf
# holders[] of demo.json: "code", then "type", then "certificates".
CITIZEN=$(grep -B1 $'"type":\t"111"' "$T/d/demo.json" | sed -n 's/.*"code":[[:space:]]*"\([^"]*\)".*/\1/p' | head -n1)
ORG=$(grep -B1 $'"type":\t"001"' "$T/d/demo.json" | sed -n 's/.*"code":[[:space:]]*"\([^"]*\)".*/\1/p' | head -n1)
mapfile -t TYPES < <(sed -n '/"holders":/,$p' "$T/d/demo.json" | grep -o '1\.2\.156\.3005\.2\.[0-9A-Z]*' |
  cut -d. -f6 | sort -u | head -n5)
[[ -n $CITIZEN && -n $ORG && ${#TYPES[@]} == 5 ]] || fail "holders and types not found in demo.json"
ok "demo deployment: citizen $CITIZEN, organisation $ORG"

# zbar reads what it can scan, one line per symbol.
scan() { zbarimg --raw -q "$1" 2>/dev/null; }
is_code() { [[ $1 =~ ^CG1:[0-9A-Z\ \$%*+./:-]+$ && ${#1} -le 120 ]]; }

"$BIN/certctl" mint -c "$CONF" --holder "$CITIZEN" --png "$T/c.png" >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "mint"; }
[[ $(wc -l <"$T/out") == 1 ]] || fail "stdout is not one line"
[[ ! -s $T/err ]] || fail "stderr not empty off a terminal: $(cat "$T/err")"
CODE=$(cat "$T/out")
is_code "$CODE" || fail "not a code: \"$CODE\""
[[ ${#CODE} == 88 ]] || fail "a code for every type has ${#CODE} characters, not 88"
[[ $(scan "$T/c.png") == "$CODE" ]] || fail "the PNG scans as \"$(scan "$T/c.png")\", not \"$CODE\""
[[ $(stat -c %a "$T/c.png") == 600 ]] || fail "the PNG (a bearer token) has mode $(stat -c %a "$T/c.png"), not 600"
ok "citizen, every type: one line of ${#CODE} characters; the PNG, mode 600, scans back to it"

ln -s "$T/elsewhere" "$T/link.png"
if "$BIN/certctl" mint -c "$CONF" --holder "$CITIZEN" --png "$T/link.png" >/dev/null 2>&1; then
  fail "mint --png wrote through a symbolic link"
fi
[[ ! -e $T/elsewhere ]] || fail "mint --png wrote through a symbolic link"
"$BIN/certctl" mint -c "$CONF" --holder "$CITIZEN" --png "$T/c.png" >"$T/out2"
[[ $(cat "$T/out2") != "$CODE" ]] || fail "two codes minted alike"
ok "a fresh nonce each time; --png refuses to write through a symbolic link"

types=$(IFS=,; echo "${TYPES[*]:0:4}")
"$BIN/certctl" mint -c "$CONF" --holder "$ORG" --holder-type 001 --types "$types" --ttl 60 \
  --png "$T/o.png" >"$T/out" || fail "mint for an organisation with 4 types"
CODE=$(cat "$T/out")
is_code "$CODE" || fail "not a code: \"$CODE\""
[[ ${#CODE} == 106 ]] || fail "a code with 4 types has ${#CODE} characters, not 106"
[[ $(scan "$T/o.png") == "$CODE" ]] || fail "the 4-type PNG does not scan back"
ok "organisation, 4 types, --ttl 60: ${#CODE} characters, the PNG scans back"

# On a terminal the code is drawn on stderr, light modules as blocks on a
# black background; turned back into pixels it must scan too.
if command -v script >/dev/null; then
  script -qc "'$BIN/certctl' mint -c '$CONF' --holder $CITIZEN --types ${TYPES[0]}" /dev/null |
    tr -d '\r' | sed 's/\x1b\[[0-9;]*m//g' >"$T/tty"
  CODE=$(head -n1 "$T/tty")
  is_code "$CODE" || fail "first line on a terminal is not the code"
  grep -q "^QR version 5, 93 characters, key 2; citizen; 1 type; expires" "$T/tty" ||
    fail "no summary under the drawing"
  # Each cell is two modules: ▀ top light, ▄ bottom light, █ both, space neither.
  sed -n '2,/^QR version/p' "$T/tty" | sed '$d' | sed 's/▀/T/g; s/▄/B/g; s/█/F/g' | awk '
    { w = length($0); for (i = 1; i <= w; i++) { c = substr($0, i, 1)
        top[NR, i] = (c == "T" || c == "F"); bot[NR, i] = (c == "B" || c == "F") } }
    END { s = 4; m = 8; print "P1"; print (w * s + 2 * m), (2 * NR * s + 2 * m)
      for (y = 0; y < 2 * NR * s + 2 * m; y++) { line = ""
        for (x = 0; x < w * s + 2 * m; x++) { yy = int((y - m) / s); xx = int((x - m) / s) + 1
          if (y < m || x < m || yy >= 2 * NR || xx > w) light = 1
          else if (yy % 2 == 0) light = top[yy / 2 + 1, xx]; else light = bot[(yy - 1) / 2 + 1, xx]
          line = line (light ? "0 " : "1 ") }
        print line } }' >"$T/tty.pbm"
  [[ $(scan "$T/tty.pbm") == "$CODE" ]] || fail "the terminal drawing does not scan back"
  ok "on a terminal: drawn on stderr, and the drawing scans back"
else
  ok "# skip terminal drawing: no script(1)"
fi

# Rotation: the key marked mint is the one that seals.
sed -i 's/^\(2 [0-9a-f]*\) mint$/\1/; s/^\(1 [0-9a-f]*\)$/\1 mint/' "$T/d/keyring"
grep -q '^1 [0-9a-f]* mint$' "$T/d/keyring" || fail "could not move mint to key 1"
if command -v script >/dev/null; then
  script -qc "'$BIN/certctl' mint -c '$CONF' --holder $CITIZEN" /dev/null | grep -q "key 1;" ||
    fail "key 1 does not mint after the rotation"
fi
"$BIN/certctl" mint -c "$CONF" --holder "$CITIZEN" >/dev/null || fail "mint after moving mint to key 1"
ok "after moving \"mint\" to key 1, key 1 seals"

refuse() { # refuse STATUS WORDS-IN-STDERR ARGS...
  local want=$1 words=$2 rc=0
  shift 2
  "$BIN/certctl" mint "$@" >"$T/out" 2>"$T/err" || rc=$?
  [[ $rc == "$want" ]] || fail "mint $* exited $rc, not $want"
  [[ ! -s $T/out ]] || fail "mint $* printed a code"
  grep -q -- "$words" "$T/err" || fail "mint $*: no \"$words\" in: $(cat "$T/err")"
}
refuse 1 "max_ttl" -c "$CONF" --holder "$CITIZEN" --ttl 301
refuse 2 "--ttl" -c "$CONF" --holder "$CITIZEN" --ttl 0
refuse 2 "--ttl" -c "$CONF" --holder "$CITIZEN" --ttl 5m
refuse 2 "needed" --holder "$CITIZEN"
refuse 2 "needed" -c "$CONF"
refuse 1 "neither a citizen ID number" -c "$CONF" --holder "${CITIZEN:0:17}Z"
refuse 1 "not a valid citizen ID number" -c "$CONF" --holder "$ORG" --holder-type 111
refuse 1 "111 or 001" -c "$CONF" --holder "$CITIZEN" --holder-type 002
refuse 1 "more than 4" -c "$CONF" --holder "$CITIZEN" --types "$(IFS=,; echo "${TYPES[*]}")"
refuse 1 "not 21" -c "$CONF" --holder "$CITIZEN" --types 1234
refuse 1 "empty type code" -c "$CONF" --holder "$CITIZEN" --types "${TYPES[0]},"
sed -i 's/ mint$//' "$T/d/keyring"
refuse 1 "marked mint" -c "$CONF" --holder "$CITIZEN"
echo "1 nothex" >"$T/d/keyring"
refuse 1 "keyring:1: key 1 is not 32 hex digits" -c "$CONF" --holder "$CITIZEN"
ok "refused: ttl above max_ttl or malformed, missing options, bad holders and types, no mint key, bad key ring"

echo "$checks passed, 0 failed"
