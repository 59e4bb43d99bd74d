/* test_ident.c — unit tests of core/ident.c.
 *
 * Real identifiers and codes from docs/reference (standards.md §1, §5), codes
 * whose check characters were computed by hand (sums in the comments), and
 * every single-character substitution of each, which must all be rejected:
 * MOD 11-2, MOD 31 and MOD 37,36 detect any one substituted character.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/ident.h"

/* The three real identifiers; the type code is the USCC of 住建部
 * (11100000000013338W) plus a 3-digit sequence. */
static const char *const real_idents[] = {
    "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
    "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
    "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
};
static const char real_checks[] = {'F', 'U', '0'};

/* Real USCCs (the defining body and the three issuers) and constructed ones:
 *   91350100M000100Y4: Σ = 1640, 1640 mod 31 = 28, (31-28) = 3  -> '3'
 *   91110000600037341: Σ =  538,  538 mod 31 = 11, (31-11) = 20 -> 'L'
 *   12100000400000761: Σ =  374,  374 mod 31 =  2, (31-2)  = 29 -> 'X'
 *   52440300MJL123456: Σ = 2134, 2134 mod 31 = 26, (31-26) = 5  -> '5'
 *   91350100M00000000: Σ =  620,  620 mod 31 =  0, (31-0) mod 31 = 0 -> '0'
 *   91350100M00000010: Σ =  650,  650 mod 31 = 30, (31-30) = 1 -> '1' */
static const char *const valid_usccs[] = {
    "11100000000013338W", "11220000013544541J", "11430000006122244L", "11330105002500287C",
    "91350100M000100Y43", "91110000600037341L", "12100000400000761X", "52440300MJL1234565",
    "91350100M000000000", "91350100M000000101",
};

/* Citizen IDs, Σ of digit × weight (7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2):
 *   11010519491231002: Σ = 167, mod 11 = 2 -> 'X' (the well-known sample)
 *   44030020000229123: Σ = 188, mod 11 = 1 -> '0' (Feb 29 of 2000, a leap year)
 *   31011519000101001: Σ =  90, mod 11 = 2 -> 'X' (the earliest date allowed)
 *   65010119960229555: Σ = 332, mod 11 = 2 -> 'X'
 *   82000020040229017: Σ = 191, mod 11 = 4 -> '8' (Macao, province 82)
 *   71000019991231008: Σ = 226, mod 11 = 6 -> '6' (Taiwan, province 71) */
static const char *const valid_citizens[] = {
    "11010519491231002X", "440300200002291230", "31011519000101001X",
    "65010119960229555X", "820000200402290178", "710000199912310086",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int parse(const char *s, cg_why_t *why) {
  return cg_ident_parse(s, strlen(s), NULL, why);
}

static int citizen(const char *s, cg_why_t *why) {
  return cg_ident_citizen_validate(s, strlen(s), why);
}

static int uscc(const char *s, cg_why_t *why) {
  return cg_ident_uscc_validate(s, strlen(s), why);
}

/* Builds an identifier with a correct check character, so that a test can
 * reach the segment checks behind it. cg_ident_mod37_36 itself is pinned
 * to the real identifiers in test_mod37_36_real. */
static void make_ident(char *buf, size_t size, const char *type, const char *issuer,
                       const char *serial, const char *version) {
  char joined[256];
  snprintf(joined, sizeof joined, "%s%s%s%s", type, issuer, serial, version);
  char check = cg_ident_mod37_36(joined, strlen(joined));
  assert_true(check != 0);
  snprintf(buf, size, "%s%s.%s.%s.%s.%c", CG_IDENT_ROOT, type, issuer, serial, version, check);
}

/* Builds a citizen ID with a correct check character (pinned to known IDs in
 * test_citizen_check_char). */
static void make_citizen(char out[19], const char *area, const char *date, const char *seq) {
  snprintf(out, 19, "%.6s%.8s%.3s", area, date, seq);
  out[17] = cg_ident_citizen_check_char(out);
  out[18] = '\0';
  assert_true(out[17] != 0);
}

static void make_uscc(char out[19], const char *first17) {
  memcpy(out, first17, 17);
  out[17] = cg_ident_uscc_check_char(first17);
  out[18] = '\0';
  assert_true(out[17] != 0);
}

/* Today + days as YYYYMMDD in China Standard Time, as ident.c sees it. */
static void cst_date(char out[9], int days) {
  time_t t = time(NULL) + 8 * 3600 + (time_t)days * 86400;
  struct tm tm;
  assert_non_null(gmtime_r(&t, &tm));
  assert_int_equal(strftime(out, 9, "%Y%m%d", &tm), 8);
}

/* Substitutes every character of alphabet at every position of s and counts
 * the results that fail with err and a filled why; returns the number of
 * substitutions tried. */
static size_t reject_all_substitutions(const char *s, const char *alphabet,
                                       int (*check)(const char *, cg_why_t *), int err,
                                       size_t *rejected) {
  char buf[CG_IDENT_MAX + 1];
  size_t len = strlen(s), tried = 0;
  *rejected = 0;
  for (size_t i = 0; i < len; i++) {
    for (const char *a = alphabet; *a != '\0'; a++) {
      if (*a == s[i])
        continue;
      memcpy(buf, s, len + 1);
      buf[i] = *a;
      cg_why_t why = {{0}};
      tried++;
      if (check(buf, &why) == err && why.text[0] != '\0')
        (*rejected)++;
      else
        fail_msg("substitution accepted or unexplained: %s", buf);
    }
  }
  return tried;
}

/* ---- MOD 37,36 and the identifier ----------------------------------------- */

static void test_mod37_36_real(void **state) {
  (void)state;
  for (size_t i = 0; i < COUNT(real_idents); i++) {
    /* The middle segments without dots: drop the root and the ".C" check. */
    char joined[128];
    size_t n = 0;
    const char *s = real_idents[i] + strlen(CG_IDENT_ROOT);
    size_t len = strlen(s) - 2;
    for (size_t j = 0; j < len; j++)
      if (s[j] != '.')
        joined[n++] = s[j];
    assert_int_equal(cg_ident_mod37_36(joined, n), real_checks[i]);
  }
}

static void test_mod37_36_rejects_other_characters(void **state) {
  (void)state;
  assert_int_equal(cg_ident_mod37_36("11100000000013338w", 18), 0);
  assert_int_equal(cg_ident_mod37_36("111.", 4), 0);
  assert_int_equal(cg_ident_mod37_36("11 1", 4), 0);
  assert_int_equal(cg_ident_mod37_36("1\0" "1", 3), 0);
}

static void test_parse_real(void **state) {
  (void)state;
  for (size_t i = 0; i < COUNT(real_idents); i++) {
    cg_why_t why = {{0}};
    assert_int_equal(parse(real_idents[i], &why), 0);
    assert_int_equal(parse(real_idents[i], NULL), 0);
  }
}

static void test_parse_segments(void **state) {
  (void)state;
  const char *s = real_idents[1];
  cg_ident_t id;
  memset(&id, 0, sizeof id);
  assert_int_equal(cg_ident_parse(s, strlen(s), &id, NULL), 0);
  assert_ptr_equal(id.type_code, s + 15);
  assert_memory_equal(id.type_code, "11100000000013338W011", 21);
  assert_memory_equal(id.issuer, "11430000006122244L", 18);
  assert_int_equal(id.serial_len, 11);
  assert_memory_equal(id.serial, "20230000403", 11);
  assert_memory_equal(id.version, "001", 3);
  assert_int_equal(id.check, 'U');
}

static void test_parse_uses_len_not_nul(void **state) {
  (void)state;
  char buf[128];
  const char *s = real_idents[0];
  size_t len = strlen(s);
  memcpy(buf, s, len);
  memcpy(buf + len, "XYZ", 4);
  assert_int_equal(cg_ident_parse(buf, len, NULL, NULL), 0);
  assert_int_equal(cg_ident_parse(buf, len + 1, NULL, NULL), CG_EIDENT);
  /* A NUL inside the given length is a character like any other. */
  buf[20] = '\0';
  assert_int_equal(cg_ident_parse(buf, len, NULL, NULL), CG_EIDENT);
}

static void test_parse_substitutions(void **state) {
  (void)state;
  static const char alphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.abcdefghijklmnopqrstuvwxyz -_/";
  for (size_t i = 0; i < COUNT(real_idents); i++) {
    size_t rejected;
    size_t tried = reject_all_substitutions(real_idents[i], alphabet, parse, CG_EIDENT, &rejected);
    assert_int_equal(tried, strlen(real_idents[i]) * (sizeof alphabet - 2));
    assert_int_equal(rejected, tried);
  }
}

static void test_parse_wrong_check_says_expected(void **state) {
  (void)state;
  char buf[128];
  cg_why_t why = {{0}};
  snprintf(buf, sizeof buf, "%s", real_idents[0]);
  buf[strlen(buf) - 1] = 'G';
  assert_int_equal(parse(buf, &why), CG_EIDENT);
  assert_string_equal(why.text, "wrong check character (expected 'F')");
}

static void test_parse_wrong_lengths(void **state) {
  (void)state;
  const char *s = real_idents[0];
  size_t len = strlen(s);
  for (size_t n = 0; n < len; n++) {
    cg_why_t why = {{0}};
    assert_int_equal(cg_ident_parse(s, n, NULL, &why), CG_EIDENT);
    assert_true(why.text[0] != '\0');
  }

  char buf[CG_IDENT_MAX + 8];
  snprintf(buf, sizeof buf, "%s0", s);
  assert_int_equal(parse(buf, NULL), CG_EIDENT);
  snprintf(buf, sizeof buf, "%s.", s);
  assert_int_equal(parse(buf, NULL), CG_EIDENT);

  memset(buf, 'A', sizeof buf);
  memcpy(buf, s, len);
  cg_why_t why = {{0}};
  assert_int_equal(cg_ident_parse(buf, CG_IDENT_MAX + 1, NULL, &why), CG_EIDENT);
  assert_non_null(strstr(why.text, "longer than"));
  assert_int_equal(cg_ident_parse(NULL, 0, NULL, NULL), CG_EIDENT);
}

static void test_parse_lowercase(void **state) {
  (void)state;
  char buf[128];
  /* Every letter of the example in lower case, one at a time and all at once. */
  const char *s = real_idents[0];
  size_t len = strlen(s), letters = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < 'A' || s[i] > 'Z')
      continue;
    memcpy(buf, s, len + 1);
    buf[i] = (char)(s[i] - 'A' + 'a');
    assert_int_equal(parse(buf, NULL), CG_EIDENT);
    letters++;
  }
  assert_int_equal(letters, 3); /* W, J, F */
  assert_int_equal(parse("1.2.156.3005.2.11100000000013338w032.11220000013544541j.2430599.001.f",
                         NULL),
                   CG_EIDENT);
}

static void test_parse_wrong_prefix(void **state) {
  (void)state;
  static const char *const bad[] = {
      "1.2.156.3005.3.11100000000013338W032.11220000013544541J.2430599.001.F",
      "1.2.156.3006.2.11100000000013338W032.11220000013544541J.2430599.001.F",
      "1.2.156.3005.11100000000013338W032.11220000013544541J.2430599.001.F",
      "1.2.156.3005.2..11100000000013338W032.11220000013544541J.2430599.001.F",
      " 1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
      "11100000000013338W032.11220000013544541J.2430599.001.F",
      "1.2.156.3005.2.",
  };
  for (size_t i = 0; i < COUNT(bad); i++) {
    cg_why_t why = {{0}};
    assert_int_equal(parse(bad[i], &why), CG_EIDENT);
    assert_true(why.text[0] != '\0');
  }
  cg_why_t why = {{0}};
  assert_int_equal(parse(bad[0], &why), CG_EIDENT);
  assert_non_null(strstr(why.text, "does not start with"));
}

static void test_parse_serial_bounds(void **state) {
  (void)state;
  char buf[CG_IDENT_MAX + 1];
  char serial[40];
  const char *type = "11100000000013338W032", *issuer = "11220000013544541J";

  make_ident(buf, sizeof buf, type, issuer, "7", "001");
  assert_int_equal(parse(buf, NULL), 0);

  memset(serial, 'Z', CG_IDENT_SERIAL_MAX);
  serial[CG_IDENT_SERIAL_MAX] = '\0';
  make_ident(buf, sizeof buf, type, issuer, serial, "001");
  assert_int_equal(parse(buf, NULL), 0);

  /* 33 characters, with a check character that is right for them. */
  memset(serial, 'Z', CG_IDENT_SERIAL_MAX + 1);
  serial[CG_IDENT_SERIAL_MAX + 1] = '\0';
  make_ident(buf, sizeof buf, type, issuer, serial, "001");
  cg_why_t why = {{0}};
  assert_int_equal(parse(buf, &why), CG_EIDENT);
  assert_non_null(strstr(why.text, "serial"));

  make_ident(buf, sizeof buf, type, issuer, "", "001");
  memset(&why, 0, sizeof why);
  assert_int_equal(parse(buf, &why), CG_EIDENT);
  assert_non_null(strstr(why.text, "serial is empty"));
}

static void test_parse_version_and_type_suffix(void **state) {
  (void)state;
  char buf[CG_IDENT_MAX + 1];
  cg_why_t why = {{0}};
  const char *type = "11100000000013338W032", *issuer = "11220000013544541J";

  make_ident(buf, sizeof buf, type, issuer, "2430599", "0A1");
  assert_int_equal(parse(buf, &why), CG_EIDENT);
  assert_non_null(strstr(why.text, "version"));
  make_ident(buf, sizeof buf, type, issuer, "2430599", "01");
  assert_int_equal(parse(buf, NULL), CG_EIDENT);
  make_ident(buf, sizeof buf, type, issuer, "2430599", "0001");
  assert_int_equal(parse(buf, NULL), CG_EIDENT);

  memset(&why, 0, sizeof why);
  make_ident(buf, sizeof buf, "11100000000013338W03A", issuer, "2430599", "001");
  assert_int_equal(parse(buf, &why), CG_EIDENT);
  assert_non_null(strstr(why.text, "type code"));
  make_ident(buf, sizeof buf, "11100000000013338W0320", issuer, "2430599", "001");
  assert_int_equal(parse(buf, NULL), CG_EIDENT);
}

/* A correct identifier check character does not rescue a bad USCC inside. */
static void test_parse_checks_uscc_segments(void **state) {
  (void)state;
  char buf[CG_IDENT_MAX + 1];
  cg_why_t why = {{0}};

  make_ident(buf, sizeof buf, "11100000000013338X032", "11220000013544541J", "2430599", "001");
  assert_int_equal(parse(buf, &why), CG_EIDENT);
  assert_non_null(strstr(why.text, "type code"));
  assert_non_null(strstr(why.text, "expected 'W'"));

  memset(&why, 0, sizeof why);
  make_ident(buf, sizeof buf, "11100000000013338W032", "11220000013544541K", "2430599", "001");
  assert_int_equal(parse(buf, &why), CG_EIDENT);
  assert_non_null(strstr(why.text, "issuer"));
  assert_non_null(strstr(why.text, "expected 'J'"));

  /* I, O, S, V and Z are not in the USCC alphabet. */
  make_ident(buf, sizeof buf, "11100000000013338W032", "1122000001354454IJ", "2430599", "001");
  assert_int_equal(parse(buf, NULL), CG_EIDENT);
  /* …but they are fine in a serial. */
  make_ident(buf, sizeof buf, "11100000000013338W032", "11220000013544541J", "IOSVZ", "001");
  assert_int_equal(parse(buf, NULL), 0);
}

/* ---- holder types ----------------------------------------------------------- */

static void test_holder_type(void **state) {
  (void)state;
  assert_int_equal(cg_ident_holder_type("111", 3), CG_HOLDER_CITIZEN);
  assert_int_equal(cg_ident_holder_type("001", 3), CG_HOLDER_ORG);
  assert_int_equal(cg_ident_holder_type("11", 2), CG_EHOLDER);
  assert_int_equal(cg_ident_holder_type("1111", 4), CG_EHOLDER);
  assert_int_equal(cg_ident_holder_type("0011", 3), CG_HOLDER_ORG);
  assert_int_equal(cg_ident_holder_type("0011", 4), CG_EHOLDER);
  assert_int_equal(cg_ident_holder_type("000", 3), CG_EHOLDER);
  assert_int_equal(cg_ident_holder_type("101", 3), CG_EHOLDER);
  assert_int_equal(cg_ident_holder_type("110", 3), CG_EHOLDER);
  assert_int_equal(cg_ident_holder_type("002", 3), CG_EHOLDER);
  assert_int_equal(cg_ident_holder_type("011", 3), CG_EHOLDER);
  assert_int_equal(cg_ident_holder_type(" 111", 4), CG_EHOLDER);
  assert_int_equal(cg_ident_holder_type("", 0), CG_EHOLDER);
  assert_int_equal(cg_ident_holder_type(NULL, 0), CG_EHOLDER);

  assert_string_equal(cg_ident_holder_type_code(CG_HOLDER_CITIZEN), "111");
  assert_string_equal(cg_ident_holder_type_code(CG_HOLDER_ORG), "001");
  assert_null(cg_ident_holder_type_code(0));
  assert_null(cg_ident_holder_type_code(3));
}

static void test_holder_validate(void **state) {
  (void)state;
  cg_why_t why = {{0}};
  const char *id = valid_citizens[0], *org = valid_usccs[0];
  assert_int_equal(cg_ident_holder_validate(CG_HOLDER_CITIZEN, id, 18, NULL), 0);
  assert_int_equal(cg_ident_holder_validate(CG_HOLDER_ORG, org, 18, NULL), 0);
  /* The right code under the wrong type. */
  assert_int_equal(cg_ident_holder_validate(CG_HOLDER_ORG, id, 18, NULL), CG_EHOLDER);
  assert_int_equal(cg_ident_holder_validate(CG_HOLDER_CITIZEN, org, 18, NULL), CG_EHOLDER);
  assert_int_equal(cg_ident_holder_validate(7, org, 18, &why), CG_EHOLDER);
  assert_true(why.text[0] != '\0');
}

/* ---- GB 11643 citizen ID ---------------------------------------------------- */

/* One prefix for each residue of Σ mod 11, so every entry of "10X98765432"
 * is reached: 110105194912310 plus the two digits below. */
static const struct {
  const char *first17;
  char check;
} citizen_residues[] = {
    {"11010519491231001", '1'}, /* Σ = 165, mod 11 = 0 */
    {"11010519491231007", '0'}, /* Σ = 177, mod 11 = 1 */
    {"11010519491231002", 'X'}, /* Σ = 167, mod 11 = 2 */
    {"11010519491231008", '9'}, /* Σ = 179, mod 11 = 3 */
    {"11010519491231003", '8'}, /* Σ = 169, mod 11 = 4 */
    {"11010519491231009", '7'}, /* Σ = 181, mod 11 = 5 */
    {"11010519491231004", '6'}, /* Σ = 171, mod 11 = 6 */
    {"11010519491231018", '5'}, /* Σ = 183, mod 11 = 7 */
    {"11010519491231005", '4'}, /* Σ = 173, mod 11 = 8 */
    {"11010519491231000", '3'}, /* Σ = 163, mod 11 = 9 */
    {"11010519491231006", '2'}, /* Σ = 175, mod 11 = 10 */
};

static void test_citizen_check_char(void **state) {
  (void)state;
  for (size_t i = 0; i < COUNT(citizen_residues); i++) {
    char id[19];
    memcpy(id, citizen_residues[i].first17, 17);
    id[17] = citizen_residues[i].check;
    id[18] = '\0';
    assert_int_equal(cg_ident_citizen_check_char(id), citizen_residues[i].check);
    assert_int_equal(citizen(id, NULL), 0);
  }
  for (size_t i = 0; i < COUNT(valid_citizens); i++)
    assert_int_equal(cg_ident_citizen_check_char(valid_citizens[i]), valid_citizens[i][17]);
  assert_int_equal(cg_ident_citizen_check_char("1101051949123100A"), 0);
  assert_int_equal(cg_ident_citizen_check_char("X1010519491231002"), 0);
}

static void test_citizen_valid(void **state) {
  (void)state;
  for (size_t i = 0; i < COUNT(valid_citizens); i++) {
    cg_why_t why = {{0}};
    assert_int_equal(citizen(valid_citizens[i], &why), 0);
    assert_int_equal(citizen(valid_citizens[i], NULL), 0);
  }
}

static void test_citizen_substitutions(void **state) {
  (void)state;
  static const char alphabet[] = "0123456789Xx -";
  for (size_t i = 0; i < COUNT(valid_citizens); i++) {
    size_t rejected;
    size_t tried =
        reject_all_substitutions(valid_citizens[i], alphabet, citizen, CG_EHOLDER, &rejected);
    assert_int_equal(tried, 18 * (sizeof alphabet - 2));
    assert_int_equal(rejected, tried);
  }
}

static void test_citizen_wrong_lengths(void **state) {
  (void)state;
  cg_why_t why = {{0}};
  assert_int_equal(citizen("11010519491231002", &why), CG_EHOLDER);
  assert_non_null(strstr(why.text, "18"));
  assert_int_equal(citizen("11010519491231002X0", NULL), CG_EHOLDER);
  assert_int_equal(citizen("", NULL), CG_EHOLDER);
  assert_int_equal(cg_ident_citizen_validate(NULL, 0, NULL), CG_EHOLDER);
  /* The 15-digit form of GB 11643-1989 is not accepted. */
  assert_int_equal(citizen("110105491231002", NULL), CG_EHOLDER);
}

static void test_citizen_lowercase_x(void **state) {
  (void)state;
  cg_why_t why = {{0}};
  assert_int_equal(citizen("11010519491231002x", &why), CG_EHOLDER);
  assert_non_null(strstr(why.text, "upper-case"));
}

static void test_citizen_province(void **state) {
  (void)state;
  static const char *const ok[] = {"110000", "650000", "710000", "810000", "820000", "330106"};
  static const char *const bad[] = {"000000", "100000", "660000", "700000",
                                    "720000", "800000", "830000", "990000"};
  char id[19];
  for (size_t i = 0; i < COUNT(ok); i++) {
    make_citizen(id, ok[i], "19800101", "123");
    assert_int_equal(citizen(id, NULL), 0);
  }
  for (size_t i = 0; i < COUNT(bad); i++) {
    cg_why_t why = {{0}};
    make_citizen(id, bad[i], "19800101", "123");
    assert_int_equal(citizen(id, &why), CG_EHOLDER);
    assert_non_null(strstr(why.text, "province"));
  }
}

static void test_citizen_dates(void **state) {
  (void)state;
  static const char *const ok[] = {"20000229", "20040229", "19960229", "20240229",
                                   "19000101", "19991231", "20230131", "20230430"};
  static const char *const bad[] = {"19000229", "20230229", "19990231", "20230431",
                                    "20231301", "20230001", "20230100", "20230132",
                                    "18991231", "00000000"};
  char id[19];
  for (size_t i = 0; i < COUNT(ok); i++) {
    make_citizen(id, "110105", ok[i], "002");
    assert_int_equal(citizen(id, NULL), 0);
  }
  for (size_t i = 0; i < COUNT(bad); i++) {
    cg_why_t why = {{0}};
    make_citizen(id, "110105", bad[i], "002");
    assert_int_equal(citizen(id, &why), CG_EHOLDER);
    assert_non_null(strstr(why.text, "birth date"));
  }
  cg_why_t why = {{0}};
  make_citizen(id, "110105", "19990231", "002");
  assert_int_equal(citizen(id, &why), CG_EHOLDER);
  assert_string_equal(why.text, "birth date 19990231 is not a date");
}

static void test_citizen_future(void **state) {
  (void)state;
  char id[19], date[9];
  cg_why_t why = {{0}};

  make_citizen(id, "110105", "29991231", "002");
  assert_int_equal(citizen(id, &why), CG_EHOLDER);
  assert_non_null(strstr(why.text, "future"));

  /* A day's margin either side keeps the test off the midnight boundary. */
  cst_date(date, 2);
  make_citizen(id, "110105", date, "002");
  assert_int_equal(citizen(id, NULL), CG_EHOLDER);
  cst_date(date, -1);
  make_citizen(id, "110105", date, "002");
  assert_int_equal(citizen(id, NULL), 0);
}

/* ---- GB 32100 USCC and GB 11714 --------------------------------------------- */

static void test_uscc_check_char(void **state) {
  (void)state;
  for (size_t i = 0; i < COUNT(valid_usccs); i++)
    assert_int_equal(cg_ident_uscc_check_char(valid_usccs[i]), valid_usccs[i][17]);
  /* Position 17 runs through all 31 characters, so its 31 check characters
   * must all differ: no two entries of the check table may coincide. */
  static const char set[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  char code[18] = "91350100M0000000", seen[32] = {0};
  for (size_t i = 0; i < 31; i++) {
    code[16] = set[i];
    char c = cg_ident_uscc_check_char(code);
    assert_non_null(memchr(set, c, 31));
    assert_null(memchr(seen, c, i));
    seen[i] = c;
  }
  assert_int_equal(cg_ident_uscc_check_char("9135010OM000100Y4"), 0);
  assert_int_equal(cg_ident_uscc_check_char("91350100m000100Y4"), 0);
}

static void test_uscc_valid(void **state) {
  (void)state;
  for (size_t i = 0; i < COUNT(valid_usccs); i++) {
    cg_why_t why = {{0}};
    assert_int_equal(uscc(valid_usccs[i], &why), 0);
    assert_int_equal(uscc(valid_usccs[i], NULL), 0);
  }
}

static void test_uscc_substitutions(void **state) {
  (void)state;
  static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXYIOSVZaly -";
  for (size_t i = 0; i < COUNT(valid_usccs); i++) {
    size_t rejected;
    size_t tried = reject_all_substitutions(valid_usccs[i], alphabet, uscc, CG_EHOLDER, &rejected);
    assert_int_equal(tried, 18 * (sizeof alphabet - 2));
    assert_int_equal(rejected, tried);
  }
}

static void test_uscc_wrong_lengths_and_case(void **state) {
  (void)state;
  cg_why_t why = {{0}};
  assert_int_equal(uscc("11100000000013338", &why), CG_EHOLDER);
  assert_non_null(strstr(why.text, "18"));
  assert_int_equal(uscc("11100000000013338W0", NULL), CG_EHOLDER);
  assert_int_equal(uscc("", NULL), CG_EHOLDER);
  assert_int_equal(cg_ident_uscc_validate(NULL, 0, NULL), CG_EHOLDER);
  assert_int_equal(uscc("91350100m000100y43", NULL), CG_EHOLDER);
  memset(&why, 0, sizeof why);
  assert_int_equal(uscc("11100000000013338X", &why), CG_EHOLDER);
  assert_string_equal(why.text, "wrong check character (expected 'W')");
}

static void test_uscc_area_digits(void **state) {
  (void)state;
  char code[19];
  cg_why_t why = {{0}};
  /* A letter in the area code, with a check character that is right for it. */
  make_uscc(code, "9135A100M000100Y4");
  assert_int_equal(uscc(code, &why), CG_EHOLDER);
  assert_non_null(strstr(why.text, "area code"));
  make_uscc(code, "913501000000100Y4");
  assert_int_equal(uscc(code, NULL), 0);
  make_uscc(code, "9135010M0000100Y4");
  assert_int_equal(uscc(code, NULL), CG_EHOLDER);
  /* Letters are fine in the first two positions. */
  make_uscc(code, "Y1350100M000100Y4");
  assert_int_equal(uscc(code, NULL), 0);
}

static void test_orgcode_check_char(void **state) {
  (void)state;
  /* Positions 9-16 of each real USCC give its position 17. */
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(cg_ident_orgcode_check_char(valid_usccs[i] + 8), valid_usccs[i][16]);
  /* D2143569: Σ = 199, 11 - 199 mod 11 = 10 -> 'X'; 00000000: 11 -> '0'. */
  assert_int_equal(cg_ident_orgcode_check_char("D2143569"), 'X');
  assert_int_equal(cg_ident_orgcode_check_char("00000000"), '0');
  /* 12345678: Σ = 201, 11 - 201 mod 11 = 8. */
  assert_int_equal(cg_ident_orgcode_check_char("12345678"), '8');
  assert_int_equal(cg_ident_orgcode_check_char("d2143569"), 0);
  assert_int_equal(cg_ident_orgcode_check_char("D214356-"), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mod37_36_real),
      cmocka_unit_test(test_mod37_36_rejects_other_characters),
      cmocka_unit_test(test_parse_real),
      cmocka_unit_test(test_parse_segments),
      cmocka_unit_test(test_parse_uses_len_not_nul),
      cmocka_unit_test(test_parse_substitutions),
      cmocka_unit_test(test_parse_wrong_check_says_expected),
      cmocka_unit_test(test_parse_wrong_lengths),
      cmocka_unit_test(test_parse_lowercase),
      cmocka_unit_test(test_parse_wrong_prefix),
      cmocka_unit_test(test_parse_serial_bounds),
      cmocka_unit_test(test_parse_version_and_type_suffix),
      cmocka_unit_test(test_parse_checks_uscc_segments),
      cmocka_unit_test(test_holder_type),
      cmocka_unit_test(test_holder_validate),
      cmocka_unit_test(test_citizen_check_char),
      cmocka_unit_test(test_citizen_valid),
      cmocka_unit_test(test_citizen_substitutions),
      cmocka_unit_test(test_citizen_wrong_lengths),
      cmocka_unit_test(test_citizen_lowercase_x),
      cmocka_unit_test(test_citizen_province),
      cmocka_unit_test(test_citizen_dates),
      cmocka_unit_test(test_citizen_future),
      cmocka_unit_test(test_uscc_check_char),
      cmocka_unit_test(test_uscc_valid),
      cmocka_unit_test(test_uscc_substitutions),
      cmocka_unit_test(test_uscc_wrong_lengths_and_case),
      cmocka_unit_test(test_uscc_area_digits),
      cmocka_unit_test(test_orgcode_check_char),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
