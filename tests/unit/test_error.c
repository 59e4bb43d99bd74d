/* test_error.c — unit tests of core/error.c.
 *
 * The table is the HTTP contract: error.code names are stable snake_case
 * and each code answers with its status. Codes are enumerated twice — from
 * the X-macro and by walking the enum range — so a code added to one and not
 * the other, or a hole in the table, shows up here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <string.h>

#include "core/error.h"

static const int codes[] = {
#define XX(s, name, status, msg) CG_##s,
    CG_ERRNO_MAP(XX)
#undef XX
};
#define NCODES (sizeof codes / sizeof codes[0])

static int snake_case(const char *s) {
  if (s == NULL || *s == '\0' || *s == '_')
    return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
      return 0;
  return 1;
}

static void test_range_matches_table(void **state) {
  (void)state;
  /* Every value strictly between the sentinels is a table entry, once. */
  assert_int_equal(CG__ERRNO_END - CG__ERRNO_BASE - 1, (int)NCODES);
  for (size_t i = 0; i < NCODES; i++) {
    assert_true(codes[i] < 0);
    assert_in_range(codes[i], CG__ERRNO_BASE + 1, CG__ERRNO_END - 1);
  }
}

static void test_names_distinct_snake_case(void **state) {
  (void)state;
  for (int e = CG__ERRNO_BASE + 1; e < CG__ERRNO_END; e++) {
    const char *name = cg_err_name(e);
    assert_non_null(name);
    if (!snake_case(name))
      fail_msg("code %d has name \"%s\", not [a-z_]+", e, name);
    for (int f = CG__ERRNO_BASE + 1; f < e; f++)
      if (strcmp(name, cg_err_name(f)) == 0)
        fail_msg("codes %d and %d share the name \"%s\"", f, e, name);
  }
}

static void test_messages(void **state) {
  (void)state;
  for (int e = CG__ERRNO_BASE + 1; e < CG__ERRNO_END; e++) {
    const char *msg = cg_strerror(e);
    assert_non_null(msg);
    assert_true(strlen(msg) > 0);
    assert_string_not_equal(msg, "unknown error");
    int status = cg_err_status(e);
    assert_in_range(status, 400, 599);
  }
}

static void test_contract_statuses(void **state) {
  static const struct {
    int err;
    int status;
    const char *name;
  } want[] = {
      {CG_EIDENT, 400, "invalid_identifier"},
      {CG_EHOLDER, 400, "invalid_holder_code"},
      {CG_EUNAUTH, 401, "unauthorized"},
      {CG_ETOKEN, 401, "invalid_code"},
      {CG_EEXPIRED, 410, "code_expired"},
      {CG_EREVOKED, 410, "certificate_revoked"},
      {CG_EFORBIDDEN, 403, "forbidden"},
      {CG_ENOTFOUND, 404, "not_found"},
      {CG_ERATE, 429, "rate_limited"},
      {CG_EUPSTREAM, 503, "upstream_unavailable"},
      {CG_EUPTIMEOUT, 504, "upstream_timeout"},
      {CG_EBADREQ, 400, "bad_request"},
      {CG_ETOOBIG, 413, "payload_too_large"},
      {CG_EINTERNAL, 500, "internal_error"},
  };
  (void)state;
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    assert_int_equal(cg_err_status(want[i].err), want[i].status);
    assert_string_equal(cg_err_name(want[i].err), want[i].name);
  }
}

static void test_success(void **state) {
  (void)state;
  assert_string_equal(cg_strerror(0), "success");
  assert_string_equal(cg_err_name(0), "ok");
  assert_int_equal(cg_err_status(0), 200);
}

static void test_unknown_codes(void **state) {
  static const int unknown[] = {CG__ERRNO_BASE, CG__ERRNO_END, CG__ERRNO_BASE - 1, -1, -22, 1,
                                42, INT_MIN, INT_MAX};
  (void)state;
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    assert_string_equal(cg_strerror(unknown[i]), "unknown error");
    assert_int_equal(cg_err_status(unknown[i]), 500);
    /* An HTTP body still needs a valid error.code. */
    assert_string_equal(cg_err_name(unknown[i]), "internal_error");
  }
}

static void test_why_set(void **state) {
  cg_why_t why;
  (void)state;

  assert_int_equal(cg_why_set(NULL, CG_EIDENT, "ignored %d", 1), CG_EIDENT);
  memset(&why, 'x', sizeof why);
  assert_int_equal(cg_why_set(&why, CG_EHOLDER, "%s: wrong check character '%c'", "code", 'X'),
                   CG_EHOLDER);
  assert_string_equal(why.text, "code: wrong check character 'X'");
  /* The code passes through unchanged, 0 included. */
  assert_int_equal(cg_why_set(&why, 0, "fine"), 0);
  assert_string_equal(why.text, "fine");
}

static void test_why_truncates(void **state) {
  char longtext[1000];
  cg_why_t why;
  (void)state;

  for (size_t i = 0; i < sizeof longtext - 1; i++)
    longtext[i] = (char)('a' + i % 26);
  longtext[sizeof longtext - 1] = '\0';
  memset(&why, 'x', sizeof why);
  assert_int_equal(cg_why_set(&why, CG_EBADREQ, "%s", longtext), CG_EBADREQ);
  assert_int_equal(strlen(why.text), sizeof why.text - 1);
  assert_memory_equal(why.text, longtext, sizeof why.text - 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_range_matches_table),
      cmocka_unit_test(test_names_distinct_snake_case),
      cmocka_unit_test(test_messages),
      cmocka_unit_test(test_contract_statuses),
      cmocka_unit_test(test_success),
      cmocka_unit_test(test_unknown_codes),
      cmocka_unit_test(test_why_set),
      cmocka_unit_test(test_why_truncates),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
