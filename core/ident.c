/* ident.c — the checks certgw runs on an identifier before any lookup:
 * GB/T 36904 e-certificate identifiers, GB 11643 citizen ID numbers and
 * GB 32100 unified social credit codes. Pure functions over the caller's
 * bytes (which need not be NUL-terminated); nothing here allocates or keeps
 * state. Only the canonical spelling passes: upper-case, no spaces.
 */
#include "core/ident.h"

#include <string.h>
#include <time.h>

#include "core/record.h"

static const char alnum36[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
static const char uscc_set[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

static int is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* Value + 1 of 0-9 then A-Z (0..35), the alphabet of MOD 37,36 and of
 * GB 11714; 0 for the rest. A table: every fetch reads some eighty. */
static const unsigned char alnum_tab[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,
    ['7'] = 8,  ['8'] = 9,  ['9'] = 10, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14,
    ['E'] = 15, ['F'] = 16, ['G'] = 17, ['H'] = 18, ['I'] = 19, ['J'] = 20, ['K'] = 21,
    ['L'] = 22, ['M'] = 23, ['N'] = 24, ['O'] = 25, ['P'] = 26, ['Q'] = 27, ['R'] = 28,
    ['S'] = 29, ['T'] = 30, ['U'] = 31, ['V'] = 32, ['W'] = 33, ['X'] = 34, ['Y'] = 35,
    ['Z'] = 36,
};

static int alnum_value(char c) { return (int)alnum_tab[(unsigned char)c] - 1; }

/* Value + 1 of each character of uscc_set, 0 for the rest: a table, as
 * every identifier checked holds two credit codes. */
static const unsigned char uscc_tab[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,
    ['7'] = 8,  ['8'] = 9,  ['9'] = 10, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14,
    ['E'] = 15, ['F'] = 16, ['G'] = 17, ['H'] = 18, ['J'] = 19, ['K'] = 20, ['L'] = 21,
    ['M'] = 22, ['N'] = 23, ['P'] = 24, ['Q'] = 25, ['R'] = 26, ['T'] = 27, ['U'] = 28,
    ['W'] = 29, ['X'] = 30, ['Y'] = 31,
};

static int uscc_value(char c) { return (int)uscc_tab[(unsigned char)c] - 1; }

static int all_digits(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (!is_digit(s[i]))
      return 0;
  return 1;
}

/* One step of ISO 7064 MOD 37,36: (p + v) mod 36 with 0 read as 36, then
 * 2p mod 37. p is 1..36 and v 0..35, so one subtraction each does what two
 * divisions would. */
static int mod37_36_step(int p, int v) {
  p += v;
  if (p > 36)
    p -= 36;
  p *= 2;
  if (p >= 37)
    p -= 37;
  return p;
}

/* A run over s, continuing from p (36 to start); -1 on a character outside
 * 0-9A-Z. */
static int mod37_36_run(int p, const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    int v = alnum_value(s[i]);
    if (v < 0)
      return -1;
    p = mod37_36_step(p, v);
  }
  return p;
}

static char mod37_36_char(int p) {
  return alnum36[(37 - p) % 36];
}

char cg_ident_mod37_36(const char *s, size_t len) {
  int p = mod37_36_run(36, s, len);
  return p < 0 ? 0 : mod37_36_char(p);
}

/* ---- GB/T 36904 identifier ------------------------------------------------ */

enum { SEG_TYPE, SEG_ISSUER, SEG_SERIAL, SEG_VERSION, SEG_CHECK, SEG_COUNT };

const char *cg_ident_type_of(const char *s, size_t len) {
  const size_t root_len = sizeof CG_IDENT_ROOT - 1;
  if (len < root_len + 22 || memcmp(s, CG_IDENT_ROOT, root_len) != 0 || s[root_len + 21] != '.')
    return NULL;
  return s + root_len;
}

int cg_ident_parse(const char *s, size_t len, cg_ident_t *out, cg_why_t *why) {
  const size_t root_len = sizeof CG_IDENT_ROOT - 1;
  const char *seg[SEG_COUNT];
  size_t seg_len[SEG_COUNT];
  size_t nseg = 0;
  cg_why_t inner;
  int p;

  if (s == NULL || len == 0)
    return cg_why_set(why, CG_EIDENT, "the identifier is empty");
  if (len > CG_IDENT_MAX)
    return cg_why_set(why, CG_EIDENT, "longer than %d characters", CG_IDENT_MAX);
  if (len < root_len || memcmp(s, CG_IDENT_ROOT, root_len) != 0)
    return cg_why_set(why, CG_EIDENT, "does not start with %s", CG_IDENT_ROOT);

  /* One pass: the segments, the alphabet, and the check character's MOD
   * 37,36 run over the segments before it (p when the fourth one ends). */
  const char *start = s + root_len;
  int p_check = 36;
  p = 36;
  for (const char *c = start; c <= s + len; c++) {
    if (c == s + len || *c == '.') {
      if (nseg == SEG_COUNT)
        return cg_why_set(why, CG_EIDENT, "more than %d segments after the root", SEG_COUNT);
      seg[nseg] = start;
      seg_len[nseg] = (size_t)(c - start);
      if (++nseg == SEG_CHECK)
        p_check = p;
      start = c + 1;
    } else {
      int v = alnum_value(*c);
      if (v < 0)
        return cg_why_set(why, CG_EIDENT, "character %zu is not 0-9, A-Z or a dot",
                          (size_t)(c - s) + 1);
      p = mod37_36_step(p, v);
    }
  }
  if (nseg != SEG_COUNT)
    return cg_why_set(why, CG_EIDENT, "%zu segments after the root, not %d", nseg, SEG_COUNT);

  /* The type code is the defining body's USCC plus a 3-digit sequence. */
  if (seg_len[SEG_TYPE] != 21)
    return cg_why_set(why, CG_EIDENT, "type code has %zu characters, not 21", seg_len[SEG_TYPE]);
  if (cg_ident_uscc_validate(seg[SEG_TYPE], 18, &inner) != 0)
    return cg_why_set(why, CG_EIDENT, "type code: defining body: %s", inner.text);
  if (!all_digits(seg[SEG_TYPE] + 18, 3))
    return cg_why_set(why, CG_EIDENT, "type code does not end in 3 digits");

  if (seg_len[SEG_ISSUER] != 18)
    return cg_why_set(why, CG_EIDENT, "issuer has %zu characters, not 18", seg_len[SEG_ISSUER]);
  if (cg_ident_uscc_validate(seg[SEG_ISSUER], 18, &inner) != 0)
    return cg_why_set(why, CG_EIDENT, "issuer: %s", inner.text);

  if (seg_len[SEG_SERIAL] == 0)
    return cg_why_set(why, CG_EIDENT, "the serial is empty");
  if (seg_len[SEG_SERIAL] > CG_IDENT_SERIAL_MAX)
    return cg_why_set(why, CG_EIDENT, "serial has %zu characters, more than %d",
                      seg_len[SEG_SERIAL], CG_IDENT_SERIAL_MAX);

  if (seg_len[SEG_VERSION] != 3 || !all_digits(seg[SEG_VERSION], 3))
    return cg_why_set(why, CG_EIDENT, "version is not 3 digits");

  if (seg_len[SEG_CHECK] != 1)
    return cg_why_set(why, CG_EIDENT, "check segment has %zu characters, not 1", seg_len[SEG_CHECK]);

  char expected = mod37_36_char(p_check);
  if (seg[SEG_CHECK][0] != expected)
    return cg_why_set(why, CG_EIDENT, "wrong check character (expected '%c')", expected);

  if (out != NULL) {
    out->type_code = seg[SEG_TYPE];
    out->issuer = seg[SEG_ISSUER];
    out->serial = seg[SEG_SERIAL];
    out->serial_len = seg_len[SEG_SERIAL];
    out->version = seg[SEG_VERSION];
    out->check = seg[SEG_CHECK][0];
  }
  return 0;
}

/* ---- holder types ---------------------------------------------------------- */

int cg_ident_holder_type(const char *s, size_t len) {
  if (s != NULL && len == 3 && memcmp(s, "111", 3) == 0)
    return CG_HOLDER_CITIZEN;
  if (s != NULL && len == 3 && memcmp(s, "001", 3) == 0)
    return CG_HOLDER_ORG;
  return CG_EHOLDER;
}

const char *cg_ident_holder_type_code(int type) {
  switch (type) {
  case CG_HOLDER_CITIZEN:
    return "111";
  case CG_HOLDER_ORG:
    return "001";
  default:
    return NULL;
  }
}

int cg_ident_holder_validate(int type, const char *code, size_t len, cg_why_t *why) {
  switch (type) {
  case CG_HOLDER_CITIZEN:
    return cg_ident_citizen_validate(code, len, why);
  case CG_HOLDER_ORG:
    return cg_ident_uscc_validate(code, len, why);
  default:
    return cg_why_set(why, CG_EHOLDER, "unknown holder type %d", type);
  }
}

/* ---- GB 11643 citizen ID number -------------------------------------------- */

char cg_ident_citizen_check_char(const char *first17) {
  /* W(i) = 2^(18-i) mod 11 for positions i = 1..17. */
  static const int weight[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (int i = 0; i < 17; i++) {
    if (!is_digit(first17[i]))
      return 0;
    sum += (first17[i] - '0') * weight[i];
  }
  return "10X98765432"[sum % 11];
}

static int province_ok(int code) {
  return (code >= 11 && code <= 65) || code == 71 || code == 81 || code == 82;
}

static int is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m) {
  static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

static int decimal(const char *s, size_t len) {
  int v = 0;
  for (size_t i = 0; i < len; i++)
    v = v * 10 + (s[i] - '0');
  return v;
}

/* Today as YYYYMMDD in China Standard Time (cg_record_today): a child born
 * this morning in Beijing is still "yesterday" in UTC. 0 if the clock
 * cannot be read. */
static long today_cst(void) {
  time_t now = time(NULL);
  return now == (time_t)-1 ? 0 : (long)cg_record_today(now);
}

int cg_ident_citizen_validate(const char *s, size_t len, cg_why_t *why) {
  if (s == NULL || len != 18)
    return cg_why_set(why, CG_EHOLDER, "a citizen ID has 18 characters, not %zu",
                      s == NULL ? (size_t)0 : len);
  for (size_t i = 0; i < 17; i++)
    if (!is_digit(s[i]))
      return cg_why_set(why, CG_EHOLDER, "character %zu is not a digit", i + 1);

  int province = decimal(s, 2);
  if (!province_ok(province))
    return cg_why_set(why, CG_EHOLDER, "area code %.6s has no province %02d", s, province);

  int y = decimal(s + 6, 4), m = decimal(s + 10, 2), d = decimal(s + 12, 2);
  if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
    return cg_why_set(why, CG_EHOLDER, "birth date %.8s is not a date", s + 6);
  long birth = y * 10000L + m * 100 + d;
  if (birth < 19000101)
    return cg_why_set(why, CG_EHOLDER, "birth date %.8s is before 1900", s + 6);
  /* Without a clock only the calendar check applies; rejecting every
   * citizen for that would be worse than a missed plausibility check. */
  long today = today_cst();
  if (today != 0 && birth > today)
    return cg_why_set(why, CG_EHOLDER, "birth date %.8s is in the future", s + 6);

  char expected = cg_ident_citizen_check_char(s);
  if (s[17] != expected) {
    if (s[17] == 'x' && expected == 'X')
      return cg_why_set(why, CG_EHOLDER, "check character must be upper-case 'X'");
    return cg_why_set(why, CG_EHOLDER, "wrong check character (expected '%c')", expected);
  }
  return 0;
}

/* ---- GB 32100 unified social credit code ----------------------------------- */

char cg_ident_uscc_check_char(const char *first17) {
  /* W(i) = 3^(i-1) mod 31 for positions i = 1..17. */
  static const int weight[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
  int sum = 0;
  for (int i = 0; i < 17; i++) {
    int v = uscc_value(first17[i]);
    if (v < 0)
      return 0;
    sum += v * weight[i];
  }
  return uscc_set[(31 - sum % 31) % 31];
}

int cg_ident_uscc_validate(const char *s, size_t len, cg_why_t *why) {
  if (s == NULL || len != 18)
    return cg_why_set(why, CG_EHOLDER, "a USCC has 18 characters, not %zu",
                      s == NULL ? (size_t)0 : len);
  for (size_t i = 0; i < 18; i++)
    if (uscc_value(s[i]) < 0)
      return cg_why_set(why, CG_EHOLDER,
                        "character %zu is not 0-9 or an upper-case letter other than I, O, S, V, Z",
                        i + 1);
  if (!all_digits(s + 2, 6))
    return cg_why_set(why, CG_EHOLDER, "characters 3-8 (area code) are not all digits");

  char expected = cg_ident_uscc_check_char(s);
  if (s[17] != expected)
    return cg_why_set(why, CG_EHOLDER, "wrong check character (expected '%c')", expected);
  return 0;
}

char cg_ident_orgcode_check_char(const char *first8) {
  static const int weight[8] = {3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (int i = 0; i < 8; i++) {
    int v = alnum_value(first8[i]);
    if (v < 0)
      return 0;
    sum += v * weight[i];
  }
  int c = 11 - sum % 11;
  return c == 10 ? 'X' : c == 11 ? '0' : (char)('0' + c);
}
