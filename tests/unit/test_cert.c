/* test_cert.c — unit tests of core/cert.c.
 *
 * The canonical body is the byte string a seal signs, so it is checked byte
 * for byte against hand-written expectations, and against the same object
 * spelled another way. Every check cg_cert_from_json promises is broken once,
 * starting from one valid certificate (a real identifier: its type code is
 * 住建部's USCC plus 032, its issuer a real USCC; holder 11010519491231002X).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <mbedtls/base64.h>

#include "core/cert.h"

#include "sample_cert.h"

/* Every member but certificateHolderName, in no particular order. */
#define FIELDS                                                                                    \
  SAMPLE_HEAD                                                                                     \
  "\"certificateHolderCode\":\"" HOLDER "\","                                                     \
  "\"certificateHolderTypeCode\":\"111\","                                                        \
  "\"certificateIssuingAuthorityName\":\"北京市公安局西城分局\","                                 \
  "\"certificateIssuingAuthorityCode\":\"" ISSUER "\","                                           \
  "\"certificateIssuedDate\":\"20240501\","                                                       \
  "\"certificateEffectiveDate\":\"20240502\","                                                    \
  "\"certificateExpiringDate\":\"20290501\","                                                     \
  "\"certificateAreaCode\":\"110102\","                                                           \
  "\"data\":{\"address\":\"北京市西城区\",\"floors\":3,\"Zone\":\"A\"}"

static const char cert_text[] = "{" FIELDS ",\"certificateHolderName\":\"张三\"}";

/* The same certificate: other order, white space everywhere it may be. */
static const char cert_text_other[] =
    " \n{\t\"data\" : { \"Zone\":\"A\" ,\"floors\" : 3,\r\n \"address\":\"北京市西城区\" } ,\n"
    "  \"certificateAreaCode\" : \"110102\",\n"
    "  \"certificateExpiringDate\":\"20290501\",  \"certificateEffectiveDate\":\"20240502\",\n"
    "  \"certificateIssuedDate\":\"20240501\", \"status\":  \"valid\",\n"
    "  \"certificateIssuingAuthorityCode\":\"" ISSUER "\",\n"
    "  \"certificateHolderName\":\"\\u5f20\\u4e09\",\n" /* 张三, escaped */
    "  \"seal\" : { \"signer\":\"" SIGNER_HEX "\", \"algorithm\":\"ES256\",\n"
    "             \"signature\":\"" SIG_B64 "\" },\n"
    "  \"certificateIssuingAuthorityName\":\"北京市公安局西城分局\",\n"
    "  \"certificateHolderTypeCode\":\"111\", \"certificateHolderCode\":\"" HOLDER "\",\n"
    "  \"certificateNumber\":\"京2024-0001\", \"certificateTypeCode\":\"" TYPE "\",\n"
    "  \"certificateName\":\"居住证\", \"certificateIdentifier\":\"" IDENT "\"\n"
    "}\r\n";

static const char expect_body[] =
    "{\"certificateAreaCode\":\"110102\","
    "\"certificateEffectiveDate\":\"20240502\","
    "\"certificateExpiringDate\":\"20290501\","
    "\"certificateHolderCode\":\"" HOLDER "\","
    "\"certificateHolderName\":\"张三\","
    "\"certificateHolderTypeCode\":\"111\","
    "\"certificateIdentifier\":\"" IDENT "\","
    "\"certificateIssuedDate\":\"20240501\","
    "\"certificateIssuingAuthorityCode\":\"" ISSUER "\","
    "\"certificateIssuingAuthorityName\":\"北京市公安局西城分局\","
    "\"certificateName\":\"居住证\","
    "\"certificateNumber\":\"京2024-0001\","
    "\"certificateTypeCode\":\"" TYPE "\","
    "\"data\":{\"Zone\":\"A\",\"address\":\"北京市西城区\",\"floors\":3},"
    "\"status\":\"valid\"}";

static const char *const required[] = {
    "certificateAreaCode",       "certificateEffectiveDate",
    "certificateHolderCode",     "certificateHolderName",
    "certificateHolderTypeCode", "certificateIdentifier",
    "certificateIssuedDate",     "certificateIssuingAuthorityCode",
    "certificateIssuingAuthorityName", "certificateName",
    "certificateNumber",         "certificateTypeCode",
    "status",
};

/* ---- helpers ------------------------------------------------------------- */

static int parse_text(const char *text, size_t len, cg_buf_t *body, cg_cert_meta_t *meta,
                      cg_seal_t *seal, cg_why_t *why) {
  cg_buf_init(body, CG_CERT_BODY_MAX);
  memset(why, 0, sizeof *why);
  return cg_cert_parse(text, len, body, meta, seal, why);
}

/* The certificate with certificateHolderName spelled as raw JSON `name`
 * and `extra` (raw members, each starting with a comma) at the end. */
static char *text_with(const char *name, const char *extra) {
  size_t cap = strlen(FIELDS) + strlen(name) + strlen(extra) + 64;
  char *t = malloc(cap);
  assert_non_null(t);
  snprintf(t, cap, "{" FIELDS ",\"certificateHolderName\":%s%s}", name, extra);
  return t;
}

/* cg_cert_parse on text_with(name, extra): the error, why in *why. */
static int try_text(const char *name, const char *extra, cg_why_t *why) {
  cg_buf_t body;
  cg_cert_meta_t meta;
  cg_seal_t seal;
  char *t = text_with(name, extra);
  int err = parse_text(t, strlen(t), &body, &meta, &seal, why);
  if (err != 0)
    assert_int_equal(body.len, 0);
  cg_buf_free(&body);
  free(t);
  return err;
}

/* cg_cert_from_json on the certificate with member key set to the JSON
 * value `value` (NULL: removed). */
static int try_member(const char *key, const char *value, cg_why_t *why) {
  cJSON *obj = cJSON_Parse(cert_text);
  cg_buf_t body;
  cg_cert_meta_t meta;
  cg_seal_t seal;
  int err;

  assert_non_null(obj);
  cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
  if (value != NULL) {
    cJSON *v = cJSON_Parse(value);
    assert_non_null(v);
    cJSON_AddItemToObject(obj, key, v);
  }
  cg_buf_init(&body, CG_CERT_BODY_MAX);
  memset(why, 0, sizeof *why);
  err = cg_cert_from_json(obj, &body, &meta, &seal, why);
  if (err != 0)
    assert_int_equal(body.len, 0);
  cg_buf_free(&body);
  cJSON_Delete(obj);
  return err;
}

static void expect_member(const char *key, const char *value, int want, const char *why_has) {
  cg_why_t why = {""};
  int err = try_member(key, value, &why);
  /* Named locals: gcc -O2 cannot see through the ternaries in the calls and
   * warns that a %s argument may be null. */
  const char *k = key != NULL ? key : "(none)";
  const char *v = value != NULL ? value : "(removed)";
  if (err != want)
    fail_msg("%s = %s: got %d (%s), want %d", k, v, err, why.text, want);
  if (why_has != NULL && strstr(why.text, why_has) == NULL)
    fail_msg("%s = %s: why \"%s\" does not mention \"%s\"", k, v, why.text, why_has);
}

/* cg_cert_canonical of a JSON text into out (max bytes at most). */
static int canon(const char *json, cg_buf_t *out, size_t max, cg_why_t *why) {
  cJSON *v = cJSON_Parse(json);
  int err;
  assert_non_null(v);
  cg_buf_init(out, max);
  memset(why, 0, sizeof *why);
  err = cg_cert_canonical(v, out, why);
  cJSON_Delete(v);
  return err;
}

static void assert_canon(const char *json, const char *want) {
  cg_buf_t out;
  cg_why_t why;
  int err = canon(json, &out, 1 << 20, &why);
  if (err != 0)
    fail_msg("%s: error %d (%s)", json, err, why.text);
  if (out.len != strlen(want) || memcmp(out.base, want, out.len) != 0)
    fail_msg("canonical form\n  got  %.*s\n  want %s", (int)out.len, out.base, want);
  cg_buf_free(&out);
}

/* The seal of SEAL_JSON. The signature stays base64, as the seal object
 * and the store keep it. */
static void expected_seal(cg_seal_t *s) {
  memset(s, 0, sizeof *s);
  s->alg = CG_SEAL_ES256;
  s->sig_len = (uint16_t)strlen(SIG_B64);
  memcpy(s->sig, SIG_B64, s->sig_len + 1);
  for (int i = 0; i < CG_SEAL_FPR_LEN; i++) {
    unsigned v;
    sscanf(SIGNER_HEX + 2 * i, "%2x", &v);
    s->signer[i] = (uint8_t)v;
  }
}

/* ---- the canonical body -------------------------------------------------- */

static void test_canonical_small_object(void **state) {
  (void)state;
  /* Sorted by bytes (upper case first), nested objects too, arrays keep
   * their order; minimal escapes with lower-case hex; \/ and \u00e9 and a
   * surrogate pair come out as raw bytes; integers in plain decimal. */
  assert_canon("{ \"z\": 1, \"B\": \"x\", \"a\": {\"y\": [3, {\"k2\": null, \"k1\": true}], \"x\": false},"
               "  \"s\": \"q\\\"b\\\\s\\/n\\nt\\tc\\u0001d\\u001Fe\\b\\f\\r \\u007f 中文 \\u00e9 "
               "\\ud83d\\ude00\","
               "  \"n\": -7, \"m\": 0, \"e\": 1E3, \"big\": 999999999999999, \"neg0\": -0 }",
               "{\"B\":\"x\",\"a\":{\"x\":false,\"y\":[3,{\"k1\":true,\"k2\":null}]},"
               "\"big\":999999999999999,\"e\":1000,\"m\":0,\"n\":-7,\"neg0\":0,"
               "\"s\":\"q\\\"b\\\\s/n\\nt\\tc\\u0001d\\u001fe\\b\\f\\r \x7f 中文 \xc3\xa9 "
               "\xf0\x9f\x98\x80\",\"z\":1}");
  assert_canon("[]", "[]");
  assert_canon("{}", "{}");
  assert_canon("\"\"", "\"\"");
  assert_canon("[1, [2, [3]], {\"b\": [], \"a\": {}}]", "[1,[2,[3]],{\"a\":{},\"b\":[]}]");
  /* Every control character takes its shortest escape. */
  assert_canon("\"\\u0002\\u0007\\u000b\\u000e\\u001b\\u0010\"",
               "\"\\u0002\\u0007\\u000b\\u000e\\u001b\\u0010\"");
}

static void test_canonical_rejects(void **state) {
  static const char *const bad[] = {
      "1.5", "[0.1]", "{\"a\":1e15}", "{\"a\":-1e15}", "{\"a\":1e400}", "{\"a\":12345678901234567}",
      "{\"a\":1,\"a\":2}", "{\"b\":{\"x\":1,\"y\":2,\"x\":3}}",
      "{\"\":1}", "{\"1a\":1}", "{\"a-b\":1}", "{\"a b\":1}", "{\"é\":1}", "{\"_a\":1}",
      "{\"a\":\"\xc3\x28\"}", "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}",
      "[\"\xe4\xb8\"]", "[\"\xff\"]",
      "{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":1}", /* 65 */
  };
  (void)state;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cg_buf_t out;
    cg_why_t why;
    int err = canon(bad[i], &out, 1 << 20, &why);
    if (err != CG_EBADREQ)
      fail_msg("%s: got %d, want CG_EBADREQ", bad[i], err);
    assert_true(why.text[0] != '\0');
    cg_buf_free(&out);
  }
  /* The longest key allowed is 64 characters. */
  assert_canon("{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":1}",
               "{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":1}");
}

/* n containers (objects or arrays, alternating) around the integer 1. */
static char *nested(int n) {
  char *s = malloc((size_t)n * 6 + 8), *p = s;
  assert_non_null(s);
  for (int i = 0; i < n; i++)
    p += sprintf(p, i % 2 ? "[" : "{\"a\":");
  *p++ = '1';
  for (int i = n; i-- > 0;)
    *p++ = i % 2 ? ']' : '}';
  *p = '\0';
  return s;
}

static void test_canonical_depth(void **state) {
  cg_buf_t out;
  cg_why_t why;
  (void)state;

  for (int n = 1; n <= 12; n++) {
    char *s = nested(n);
    int err = canon(s, &out, 1 << 20, &why);
    assert_int_equal(err, n <= CG_CERT_DEPTH_MAX ? 0 : CG_EBADREQ);
    cg_buf_free(&out);
    free(s);
  }
}

static void test_canonical_too_big(void **state) {
  cg_buf_t out;
  cg_why_t why;
  (void)state;

  /* "abcdefghij" is 12 bytes in canonical form: 11 do not hold it... */
  assert_int_equal(canon("\"abcdefghij\"", &out, 11, &why), CG_ETOOBIG);
  cg_buf_free(&out);
  /* ...12 do, although escaping could have made it up to six times longer. */
  assert_int_equal(canon("\"abcdefghij\"", &out, 12, &why), 0);
  assert_int_equal(out.len, 12);
  cg_buf_free(&out);
  assert_int_equal(canon("[\"a\\nb\"]", &out, 8, &why), 0);
  assert_memory_equal(out.base, "[\"a\\nb\"]", 8);
  cg_buf_free(&out);
  assert_int_equal(canon("[\"a\\nb\"]", &out, 7, &why), CG_ETOOBIG);
  cg_buf_free(&out);
  assert_int_equal(canon("[123456]", &out, 7, &why), CG_ETOOBIG);
  cg_buf_free(&out);
}

static void test_cert_body_exact(void **state) {
  cg_buf_t body;
  cg_cert_meta_t meta;
  cg_seal_t seal, want;
  cg_why_t why;
  (void)state;

  assert_int_equal(parse_text(cert_text, strlen(cert_text), &body, &meta, &seal, &why), 0);
  if (body.len != strlen(expect_body) || memcmp(body.base, expect_body, body.len) != 0)
    fail_msg("body\n  got  %.*s\n  want %s", (int)body.len, body.base, expect_body);
  assert_null(memmem(body.base, body.len, "seal", 4));

  assert_string_equal(meta.identifier, IDENT);
  assert_string_equal(meta.type_code, TYPE);
  assert_string_equal(meta.holder_code, HOLDER);
  assert_int_equal(meta.holder_type, CG_HOLDER_CITIZEN);
  assert_int_equal(meta.status, CG_CERT_VALID);
  assert_int_equal(meta.issued, 20240501);
  assert_int_equal(meta.effective, 20240502);
  assert_int_equal(meta.expiring, 20290501);

  expected_seal(&want);
  assert_int_equal(seal.alg, want.alg);
  assert_int_equal(seal.sig_len, want.sig_len);
  assert_memory_equal(seal.sig, want.sig, want.sig_len);
  assert_memory_equal(seal.signer, want.signer, CG_SEAL_FPR_LEN);
  cg_buf_free(&body);
}

static void test_cert_body_independent_of_spelling(void **state) {
  cg_buf_t a, b;
  cg_cert_meta_t ma, mb;
  cg_seal_t sa, sb;
  cg_why_t why;
  (void)state;

  assert_int_equal(parse_text(cert_text, strlen(cert_text), &a, &ma, &sa, &why), 0);
  if (parse_text(cert_text_other, strlen(cert_text_other), &b, &mb, &sb, &why) != 0)
    fail_msg("%s", why.text);
  assert_int_equal(a.len, b.len);
  assert_memory_equal(a.base, b.base, a.len);
  assert_string_equal(ma.identifier, mb.identifier);
  assert_string_equal(ma.type_code, mb.type_code);
  assert_string_equal(ma.holder_code, mb.holder_code);
  assert_int_equal(ma.holder_type, mb.holder_type);
  assert_int_equal(ma.status, mb.status);
  assert_int_equal(ma.issued, mb.issued);
  assert_int_equal(ma.effective, mb.effective);
  assert_int_equal(ma.expiring, mb.expiring);
  assert_int_equal(sa.sig_len, sb.sig_len);
  assert_memory_equal(sa.sig, sb.sig, sa.sig_len);
  assert_memory_equal(sa.signer, sb.signer, CG_SEAL_FPR_LEN);
  cg_buf_free(&a);
  cg_buf_free(&b);
}

static void test_cert_body_appends(void **state) {
  cJSON *obj = cJSON_Parse(cert_text);
  cg_buf_t body;
  cg_cert_meta_t meta;
  cg_why_t why;
  (void)state;

  /* body is appended to; with seal NULL a seal member is ignored. */
  cg_buf_init(&body, CG_CERT_BODY_MAX);
  assert_int_equal(cg_buf_puts(&body, "prefix"), 0);
  assert_int_equal(cg_cert_from_json(obj, &body, &meta, NULL, &why), 0);
  assert_int_equal(body.len, 6 + strlen(expect_body));
  assert_memory_equal(body.base, "prefix", 6);
  assert_memory_equal(body.base + 6, expect_body, strlen(expect_body));

  /* Nor is it needed then. */
  cJSON_DeleteItemFromObjectCaseSensitive(obj, "seal");
  cg_buf_reset(&body);
  assert_int_equal(cg_cert_from_json(obj, &body, &meta, NULL, &why), 0);
  assert_int_equal(body.len, strlen(expect_body));
  assert_memory_equal(body.base, expect_body, body.len);
  cg_buf_free(&body);
  cJSON_Delete(obj);
}

/* ---- what cg_cert_from_json refuses -------------------------------------- */

static void test_required_fields(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
    expect_member(required[i], NULL, CG_EBADREQ, required[i]);
    expect_member(required[i], "\"\"", CG_EBADREQ, required[i]);
    expect_member(required[i], "123", CG_EBADREQ, required[i]);
    expect_member(required[i], "null", CG_EBADREQ, required[i]);
  }
  /* Optional members: absent is fine. */
  expect_member("data", NULL, 0, NULL);
  expect_member("certificateExpiringDate", NULL, 0, NULL);
  expect_member("seal", NULL, CG_EBADREQ, "seal");
}

static void test_not_an_object(void **state) {
  static const char *const texts[] = {"[]", "\"x\"", "1", "null", "", " ", "{", "{\"a\":}"};
  (void)state;
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    cg_buf_t body;
    cg_cert_meta_t meta;
    cg_why_t why;
    assert_int_equal(parse_text(texts[i], strlen(texts[i]), &body, &meta, NULL, &why),
                     CG_EBADREQ);
    assert_true(why.text[0] != '\0');
    cg_buf_free(&body);
  }
}

static void test_meta_without_expiry(void **state) {
  cJSON *obj = cJSON_Parse(cert_text);
  cg_buf_t body;
  cg_cert_meta_t meta;
  cg_why_t why;
  (void)state;

  cJSON_DeleteItemFromObjectCaseSensitive(obj, "certificateExpiringDate");
  cg_buf_init(&body, CG_CERT_BODY_MAX);
  memset(&meta, 0xff, sizeof meta);
  assert_int_equal(cg_cert_from_json(obj, &body, &meta, NULL, &why), 0);
  assert_int_equal(meta.expiring, 0);
  assert_null(memmem(body.base, body.len, "Expiring", 8));
  cg_buf_free(&body);
  cJSON_Delete(obj);
}

static void test_identifier(void **state) {
  (void)state;
  /* The right check character is F; any other is refused. */
  static const char others[] = "0123456789ABCDEGHIJKLMNOPQRSTUVWXYZ";
  for (const char *c = others; *c; c++) {
    char v[sizeof IDENT + 2];
    snprintf(v, sizeof v, "\"%s\"", IDENT);
    v[strlen(v) - 2] = *c;
    expect_member("certificateIdentifier", v, CG_EIDENT, NULL);
  }
  expect_member("certificateIdentifier", "\"1.2.156.3005.2.x\"", CG_EIDENT, NULL);
  expect_member("certificateIdentifier", "\"" IDENT " \"", CG_EIDENT, NULL);
}

static void test_holder(void **state) {
  (void)state;
  expect_member("certificateHolderCode", "\"110105194912310021\"", CG_EHOLDER, NULL);
  expect_member("certificateHolderCode", "\"11010519491231002x\"", CG_EHOLDER, NULL);
  expect_member("certificateHolderCode", "\"11010519491331002X\"", CG_EHOLDER, NULL);
  expect_member("certificateHolderCode", "\"1101051949123100\"", CG_EHOLDER, NULL);
  /* A valid USCC is not a citizen ID. */
  expect_member("certificateHolderCode", "\"91350100M000100Y43\"", CG_EHOLDER, NULL);
  expect_member("certificateHolderTypeCode", "\"112\"", CG_EHOLDER, "certificateHolderTypeCode");
  expect_member("certificateHolderTypeCode", "\"11\"", CG_EHOLDER, "certificateHolderTypeCode");
  /* An organisation: type 001 with a USCC passes, with a citizen ID not. */
  expect_member("certificateHolderTypeCode", "\"001\"", CG_EHOLDER, NULL);
}

static void test_org_holder(void **state) {
  cJSON *obj = cJSON_Parse(cert_text);
  cg_buf_t body;
  cg_cert_meta_t meta;
  cg_why_t why;
  (void)state;

  cJSON_ReplaceItemInObjectCaseSensitive(obj, "certificateHolderTypeCode",
                                         cJSON_CreateString("001"));
  cJSON_ReplaceItemInObjectCaseSensitive(obj, "certificateHolderCode",
                                         cJSON_CreateString("91350100M000100Y43"));
  cg_buf_init(&body, CG_CERT_BODY_MAX);
  assert_int_equal(cg_cert_from_json(obj, &body, &meta, NULL, &why), 0);
  assert_int_equal(meta.holder_type, CG_HOLDER_ORG);
  assert_string_equal(meta.holder_code, "91350100M000100Y43");
  assert_non_null(memmem(body.base, body.len, "\"certificateHolderTypeCode\":\"001\"", 33));
  cg_buf_free(&body);
  cJSON_Delete(obj);
}

static void test_identifier_agreement(void **state) {
  (void)state;
  expect_member("certificateTypeCode", "\"11100000000013338W033\"", CG_EBADREQ,
                "certificateTypeCode");
  expect_member("certificateTypeCode", "\"11100000000013338W03\"", CG_EBADREQ,
                "certificateTypeCode");
  expect_member("certificateTypeCode", "\"11100000000013338W0320\"", CG_EBADREQ,
                "certificateTypeCode");
  expect_member("certificateTypeCode", "\"11100000000013338W032111111\"", CG_EBADREQ,
                "certificateTypeCode");
  /* A real USCC, but not the identifier's issuer. */
  expect_member("certificateIssuingAuthorityCode", "\"11430000006122244L\"", CG_EBADREQ,
                "certificateIssuingAuthorityCode");
  expect_member("certificateIssuingAuthorityCode", "\"11220000013544541\"", CG_EBADREQ,
                "certificateIssuingAuthorityCode");
  expect_member("certificateIssuingAuthorityCode", "\"11220000013544541JJ\"", CG_EBADREQ,
                "certificateIssuingAuthorityCode");
}

static void test_area_code(void **state) {
  (void)state;
  expect_member("certificateAreaCode", "\"11010\"", CG_EBADREQ, "certificateAreaCode");
  expect_member("certificateAreaCode", "\"1101020\"", CG_EBADREQ, "certificateAreaCode");
  expect_member("certificateAreaCode", "\"11010A\"", CG_EBADREQ, "certificateAreaCode");
  expect_member("certificateAreaCode", "\"000000\"", 0, NULL);
}

static void test_dates(void **state) {
  (void)state;
  expect_member("certificateIssuedDate", "\"20230230\"", CG_EBADREQ, "certificateIssuedDate");
  expect_member("certificateIssuedDate", "\"2024-05-01\"", CG_EBADREQ, "certificateIssuedDate");
  expect_member("certificateEffectiveDate", "\"20241301\"", CG_EBADREQ,
                "certificateEffectiveDate");
  expect_member("certificateEffectiveDate", "\"2024050\"", CG_EBADREQ,
                "certificateEffectiveDate");
  expect_member("certificateExpiringDate", "\"20230229\"", CG_EBADREQ, "certificateExpiringDate");
  expect_member("certificateExpiringDate", "\"\"", CG_EBADREQ, "certificateExpiringDate");
  expect_member("certificateExpiringDate", "20290501", CG_EBADREQ, "certificateExpiringDate");
  /* Effective 20240502: expiring a day before is refused, that day is not. */
  expect_member("certificateExpiringDate", "\"20240501\"", CG_EBADREQ, "before");
  expect_member("certificateExpiringDate", "\"20240502\"", 0, NULL);
  expect_member("certificateExpiringDate", "\"20240229\"", CG_EBADREQ, "before");
}

static void test_status(void **state) {
  static const char *const good[] = {"\"valid\"", "\"suspended\"", "\"revoked\""};
  (void)state;
  for (int i = 0; i < 3; i++) {
    cJSON *obj = cJSON_Parse(cert_text);
    cg_buf_t body;
    cg_cert_meta_t meta;
    cg_why_t why;
    cJSON_ReplaceItemInObjectCaseSensitive(obj, "status", cJSON_Parse(good[i]));
    cg_buf_init(&body, CG_CERT_BODY_MAX);
    assert_int_equal(cg_cert_from_json(obj, &body, &meta, NULL, &why), 0);
    assert_int_equal(meta.status, CG_CERT_VALID + i);
    cg_buf_free(&body);
    cJSON_Delete(obj);
  }
  expect_member("status", "\"active\"", CG_EBADREQ, "status");
  expect_member("status", "\"Valid\"", CG_EBADREQ, "status");
  expect_member("status", "\"valid \"", CG_EBADREQ, "status");
  expect_member("data", "[]", CG_EBADREQ, "data");
  expect_member("data", "\"x\"", CG_EBADREQ, "data");
}

static void test_status_names(void **state) {
  (void)state;
  assert_string_equal(cg_cert_status_name(CG_CERT_VALID), "valid");
  assert_string_equal(cg_cert_status_name(CG_CERT_SUSPENDED), "suspended");
  assert_string_equal(cg_cert_status_name(CG_CERT_REVOKED), "revoked");
  assert_null(cg_cert_status_name(0));
  assert_null(cg_cert_status_name(4));
  assert_int_equal(cg_cert_status_parse("revoked", 7), CG_CERT_REVOKED);
  assert_int_equal(cg_cert_status_parse("revoked", 6), CG_EBADREQ);
  assert_int_equal(cg_cert_status_parse("validx", 6), CG_EBADREQ);
  assert_int_equal(cg_cert_status_parse("", 0), CG_EBADREQ);
}

static void test_duplicate_keys(void **state) {
  cg_why_t why;
  (void)state;
  /* cJSON keeps both members; which one a verifier sees must not matter. */
  assert_int_equal(try_text("\"张三\"", ",\"certificateName\":\"居住证\"", &why), CG_EBADREQ);
  assert_non_null(strstr(why.text, "certificateName"));
  assert_int_equal(try_text("\"张三\"", ",\"certificateHolderName\":\"李四\"", &why), CG_EBADREQ);
  assert_non_null(strstr(why.text, "twice"));
  /* Inside data, and inside something nested in data. */
  assert_int_equal(try_text("\"张三\"", ",\"x\":{\"a\":1,\"a\":1}", &why), CG_EBADREQ);
  assert_int_equal(try_text("\"张三\"", ",\"x\":[{\"b\":[{\"c\":1,\"c\":2}]}]", &why), CG_EBADREQ);
  /* The same key in different objects is fine. */
  assert_int_equal(try_text("\"张三\"", ",\"x\":{\"status\":1},\"y\":{\"status\":2}", &why), 0);
}

static void test_numbers(void **state) {
  cg_why_t why;
  (void)state;
  assert_int_equal(try_text("\"张三\"", ",\"n\":1.5", &why), CG_EBADREQ);
  assert_non_null(strstr(why.text, "integer"));
  assert_int_equal(try_text("\"张三\"", ",\"n\":[1,2,0.5]", &why), CG_EBADREQ);
  assert_int_equal(try_text("\"张三\"", ",\"n\":1000000000000000", &why), CG_EBADREQ);
  assert_int_equal(try_text("\"张三\"", ",\"n\":-999999999999999", &why), 0);
  assert_int_equal(try_text("\"张三\"", ",\"n\":2.0", &why), 0);
}

static void test_strings_utf8(void **state) {
  static const char *const bad[] = {
      "\"\xc3\x28\"",         /* continuation missing */
      "\"\xc0\xaf\"",         /* overlong '/' */
      "\"\xe0\x80\xaf\"",     /* overlong, 3 bytes */
      "\"\xed\xa0\x80\"",     /* UTF-16 surrogate D800 */
      "\"\xf4\x90\x80\x80\"", /* past U+10FFFF */
      "\"\xe5\xbc\"",         /* 张 cut short */
      "\"\x80\"",             /* lone continuation byte */
  };
  cg_why_t why;
  (void)state;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(try_text(bad[i], "", &why), CG_EBADREQ);
    assert_non_null(strstr(why.text, "UTF-8"));
  }
  /* Also inside data, and as a key. */
  assert_int_equal(try_text("\"张三\"", ",\"x\":{\"y\":[\"\xed\xbf\xbf\"]}", &why), CG_EBADREQ);
  assert_int_equal(try_text("\"张三\"", ",\"\xe5\xbc\xa0\":1", &why), CG_EBADREQ);
  /* Escaped surrogates: a pair is fine, a lone one is not JSON for cJSON. */
  assert_int_equal(try_text("\"\\ud83d\\ude00\"", "", &why), 0);
  assert_int_equal(try_text("\"\\ud83d\"", "", &why), CG_EBADREQ);
  assert_int_equal(try_text("\"\\ude00\"", "", &why), CG_EBADREQ);
}

static void test_escaped_nul(void **state) {
  cg_why_t why;
  (void)state;
  /* cJSON would end the string at the NUL: the signed bytes would differ. */
  assert_int_equal(try_text("\"张\\u0000三\"", "", &why), CG_EBADREQ);
  assert_non_null(strstr(why.text, "u0000"));
  assert_int_equal(try_text("\"a\\\\\\u0000\"", "", &why), CG_EBADREQ); /* \\ then \u0000 */
  assert_int_equal(try_text("\"张三\"", ",\"x\":\"\\u0000\"", &why), CG_EBADREQ);
  /* An escaped backslash followed by the letters u0000 is no NUL. */
  assert_int_equal(try_text("\"a\\\\u0000\"", "", &why), 0);
  assert_int_equal(try_text("\"u0000\"", "", &why), 0);
  /* cJSON decodes a \u without four hex digits into a NUL as well: the
   * name would have been cut to 张三 (and a seal over 张三 would pass). */
  static const char *const bad_u[] = {"\"张三\\uZZZZ李四\"", "\"张三\\u12\"",
                                      "\"张三\\u123G\"", "\"张三\\u\"", "\"a\\\\\\uZZZZ\""};
  for (size_t i = 0; i < sizeof bad_u / sizeof bad_u[0]; i++) {
    assert_int_equal(try_text(bad_u[i], "", &why), CG_EBADREQ);
    assert_non_null(strstr(why.text, "four hex digits"));
  }
  assert_int_equal(try_text("\"张三\\u674e\"", "", &why), 0); /* 李, spelled as an escape */
  /* A raw NUL byte inside the name (the length given, not found by strlen). */
  char *t = text_with("\"张三X李四\"", "");
  char *x = strstr(t, "X李四");
  cg_buf_t body;
  cg_cert_meta_t meta;
  cg_seal_t seal;
  assert_non_null(x);
  *x = '\0';
  assert_int_equal(parse_text(t, strlen(x + 1) + (size_t)(x + 1 - t), &body, &meta, &seal, &why),
                   CG_EBADREQ);
  assert_non_null(strstr(why.text, "NUL byte"));
  assert_int_equal(body.len, 0);
  cg_buf_free(&body);
  free(t);
}

static void test_trailing_text(void **state) {
  static const char *const tails[] = {"x", "}", "{}", " ,", "\n{}", "\"", " 1"};
  cg_buf_t body;
  cg_cert_meta_t meta;
  cg_seal_t seal;
  cg_why_t why;
  char t[sizeof cert_text + 16];
  (void)state;

  for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
    snprintf(t, sizeof t, "%s%s", cert_text, tails[i]);
    assert_int_equal(parse_text(t, strlen(t), &body, &meta, &seal, &why), CG_EBADREQ);
    cg_buf_free(&body);
  }
  snprintf(t, sizeof t, "%s \t\r\n", cert_text);
  assert_int_equal(parse_text(t, strlen(t), &body, &meta, &seal, &why), 0);
  cg_buf_free(&body);
  /* len bounds the text: what follows it is not looked at. */
  snprintf(t, sizeof t, "%sgarbage", cert_text);
  assert_int_equal(parse_text(t, strlen(cert_text), &body, &meta, &seal, &why), 0);
  cg_buf_free(&body);
  /* A text cut short is not JSON. */
  assert_int_equal(parse_text(cert_text, strlen(cert_text) - 1, &body, &meta, &seal, &why),
                   CG_EBADREQ);
  cg_buf_free(&body);
}

static void test_depth(void **state) {
  cg_why_t why;
  (void)state;
  /* The certificate object is one level: a member nesting seven more
   * containers makes eight, eight more make nine. */
  for (int n = 1; n <= 9; n++) {
    char *inner = nested(n), extra[128];
    snprintf(extra, sizeof extra, ",\"x\":%s", inner);
    int err = try_text("\"张三\"", extra, &why);
    assert_int_equal(err, n + 1 <= CG_CERT_DEPTH_MAX ? 0 : CG_EBADREQ);
    if (err != 0)
      assert_non_null(strstr(why.text, "deeper"));
    free(inner);
  }
  assert_int_equal(try_text("\"张三\"", ",\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]", &why),
                   CG_EBADREQ);

  /* Deeper than cJSON's own limit. */
  size_t n = 2000;
  char *deep = malloc(2 * n + 8), *p = deep;
  assert_non_null(deep);
  memset(p, '[', n);
  p[n] = '1';
  memset(p + n + 1, ']', n);
  p[2 * n + 1] = '\0';
  assert_int_equal(try_text(deep, "", &why), CG_EBADREQ);
  free(deep);
}

static void test_too_big(void **state) {
  cg_buf_t body;
  cg_cert_meta_t meta;
  cg_seal_t seal;
  cg_why_t why;
  (void)state;

  /* A body bound smaller than the certificate: refused, body untouched. */
  cg_buf_init(&body, 200);
  assert_int_equal(cg_buf_puts(&body, "keep"), 0);
  assert_int_equal(cg_cert_parse(cert_text, strlen(cert_text), &body, &meta, &seal, &why),
                   CG_ETOOBIG);
  assert_true(why.text[0] != '\0');
  assert_int_equal(body.len, 4);
  assert_memory_equal(body.base, "keep", 4);
  cg_buf_free(&body);

  /* Exactly the size of the body is enough. */
  cg_buf_init(&body, strlen(expect_body));
  assert_int_equal(cg_cert_parse(cert_text, strlen(cert_text), &body, &meta, &seal, &why), 0);
  assert_int_equal(body.len, strlen(expect_body));
  cg_buf_free(&body);
  cg_buf_init(&body, strlen(expect_body) - 1);
  assert_int_equal(cg_cert_parse(cert_text, strlen(cert_text), &body, &meta, &seal, &why),
                   CG_ETOOBIG);
  cg_buf_free(&body);
}

#define PHOTO ",\"photo\":\"\"" /* what the member adds besides its text */

/* A certificate with a member of n 'A's (a photo in base64, say). */
static int with_long_string(size_t n, size_t *body_len, cg_why_t *why) {
  char *s = malloc(n + 16), *t;
  cg_buf_t body;
  cg_cert_meta_t meta;
  cg_seal_t seal;
  int err;

  assert_non_null(s);
  strcpy(s, ",\"photo\":\"");
  memset(s + 10, 'A', n);
  strcpy(s + 10 + n, "\"");
  t = text_with("\"张三\"", s);
  cg_buf_init(&body, CG_CERT_BODY_MAX);
  err = cg_cert_parse(t, strlen(t), &body, &meta, &seal, why);
  *body_len = body.len;
  cg_buf_free(&body);
  free(t);
  free(s);
  return err;
}

static void test_large_certificates(void **state) {
  size_t len;
  cg_why_t why;
  (void)state;

  /* Well under the 64 KiB bound, though six times it would not be. */
  if (with_long_string(30000, &len, &why) != 0)
    fail_msg("30000-byte string refused: %s", why.text);
  assert_true(len > 30000 && len < CG_CERT_BODY_MAX);
  /* The body ends up exactly at the bound. */
  size_t rest = strlen(expect_body) + strlen(PHOTO);
  assert_int_equal(with_long_string(CG_CERT_BODY_MAX - rest, &len, &why), 0);
  assert_int_equal(len, CG_CERT_BODY_MAX);
  assert_int_equal(with_long_string(CG_CERT_BODY_MAX - rest + 1, &len, &why), CG_ETOOBIG);
  assert_int_equal(len, 0);
  /* A line longer than any certificate may be is refused before parsing. */
  assert_int_equal(with_long_string(CG_CERT_LINE_MAX, &len, &why), CG_ETOOBIG);
}

/* ---- seals --------------------------------------------------------------- */

static int seal_from(const char *json, cg_seal_t *seal, cg_why_t *why) {
  cJSON *v = cJSON_Parse(json);
  int err;
  assert_non_null(v);
  memset(why, 0, sizeof *why);
  err = cg_cert_seal_from_json(v, seal, why);
  cJSON_Delete(v);
  return err;
}

static void test_seal_parse(void **state) {
  static const char *const bad[] = {
      "[]",
      "{}",
      "{\"algorithm\":\"HS256\",\"signature\":\"" SIG_B64 "\",\"signer\":\"" SIGNER_HEX "\"}",
      "{\"algorithm\":\"es256\",\"signature\":\"" SIG_B64 "\",\"signer\":\"" SIGNER_HEX "\"}",
      "{\"algorithm\":\"\",\"signature\":\"" SIG_B64 "\",\"signer\":\"" SIGNER_HEX "\"}",
      "{\"algorithm\":1,\"signature\":\"" SIG_B64 "\",\"signer\":\"" SIGNER_HEX "\"}",
      "{\"signature\":\"" SIG_B64 "\",\"signer\":\"" SIGNER_HEX "\"}",
      /* signer: upper case, too short, too long, not hex */
      "{\"algorithm\":\"ES256\",\"signature\":\"" SIG_B64
      "\",\"signer\":\"8684DB073C905E23395A246D9101B38F83A75F897D32EC78208738A26418B95B\"}",
      "{\"algorithm\":\"ES256\",\"signature\":\"" SIG_B64
      "\",\"signer\":\"8684db073c905e23395a246d9101b38f83a75f897d32ec78208738a26418b95\"}",
      "{\"algorithm\":\"ES256\",\"signature\":\"" SIG_B64 "\",\"signer\":\"" SIGNER_HEX "00\"}",
      "{\"algorithm\":\"ES256\",\"signature\":\"" SIG_B64
      "\",\"signer\":\"g684db073c905e23395a246d9101b38f83a75f897d32ec78208738a26418b95b\"}",
      /* signature: not base64, empty, only padding, unpadded, bad padding,
       * URL-safe alphabet, white space */
      "{\"algorithm\":\"ES256\",\"signature\":\"not base64!\",\"signer\":\"" SIGNER_HEX "\"}",
      "{\"algorithm\":\"ES256\",\"signature\":\"\",\"signer\":\"" SIGNER_HEX "\"}",
      "{\"algorithm\":\"ES256\",\"signature\":\"====\",\"signer\":\"" SIGNER_HEX "\"}",
      "{\"algorithm\":\"ES256\",\"signature\":\"QQ\",\"signer\":\"" SIGNER_HEX "\"}",
      "{\"algorithm\":\"ES256\",\"signature\":\"QQ=\",\"signer\":\"" SIGNER_HEX "\"}",
      "{\"algorithm\":\"ES256\",\"signature\":\"A===\",\"signer\":\"" SIGNER_HEX "\"}",
      "{\"algorithm\":\"ES256\",\"signature\":\"QQ=A\",\"signer\":\"" SIGNER_HEX "\"}",
      "{\"algorithm\":\"ES256\",\"signature\":\"ab-_\",\"signer\":\"" SIGNER_HEX "\"}",
      "{\"algorithm\":\"ES256\",\"signature\":\"QUJD REVG\",\"signer\":\"" SIGNER_HEX "\"}",
  };
  cg_seal_t seal, want;
  cg_why_t why;
  (void)state;

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int err = seal_from(bad[i], &seal, &why);
    if (err != CG_EBADREQ)
      fail_msg("%s: got %d, want CG_EBADREQ", bad[i], err);
    assert_non_null(strstr(why.text, "seal"));
  }

  char *big = malloc(1024), *p = big;
  assert_non_null(big);
  p += sprintf(p, "{\"algorithm\":\"RS256\",\"signer\":\"%s\",\"signature\":\"", SIGNER_HEX);
  memset(p, 'A', 684); /* 513 bytes */
  strcpy(p + 684, "\"}");
  assert_int_equal(seal_from(big, &seal, &why), CG_EBADREQ);
  memset(p, 'A', 680); /* 510 bytes, then "AA==": 511 */
  strcpy(p + 680, "AA==\"}");
  assert_int_equal(seal_from(big, &seal, &why), 0);
  assert_int_equal(seal.alg, CG_SEAL_RS256);
  assert_int_equal(seal.sig_len, 684);
  assert_memory_equal(seal.sig, p, 684);
  assert_int_equal(seal.sig[684], '\0');
  free(big);
  assert_int_equal(seal_from("{\"algorithm\":\"ES256\",\"signature\":\"QQ==\",\"signer\":\"" SIGNER_HEX
                             "\"}", &seal, &why),
                   0);
  assert_string_equal(seal.sig, "QQ==");

  assert_int_equal(seal_from(SEAL_JSON, &seal, &why), 0);
  expected_seal(&want);
  assert_int_equal(seal.alg, CG_SEAL_ES256);
  assert_int_equal(seal.sig_len, strlen(SIG_B64));
  assert_string_equal(seal.sig, SIG_B64);
  assert_memory_equal(seal.signer, want.signer, CG_SEAL_FPR_LEN);

  /* Through a certificate: a bad seal fails it. */
  expect_member("seal", "{\"algorithm\":\"ES384\",\"signature\":\"" SIG_B64
                        "\",\"signer\":\"" SIGNER_HEX "\"}",
                CG_EBADREQ, "seal");
  expect_member("seal", "\"" SIG_B64 "\"", CG_EBADREQ, "seal");
}

/* A seal of a sig_len-byte signature through JSON and back. */
static void seal_round_trip(cg_seal_alg_t alg, uint16_t sig_len) {
  uint8_t raw[CG_SEAL_SIG_MAX];
  size_t b64len = 0;
  cg_seal_t in, out;
  cg_buf_t json;
  cg_why_t why;
  cJSON *v;

  memset(&in, 0, sizeof in);
  in.alg = alg;
  for (int i = 0; i < sig_len; i++)
    raw[i] = (uint8_t)(i * 37 + sig_len);
  assert_int_equal(mbedtls_base64_encode((unsigned char *)in.sig, sizeof in.sig, &b64len, raw,
                                         sig_len),
                   0);
  in.sig_len = (uint16_t)b64len;
  for (int i = 0; i < CG_SEAL_FPR_LEN; i++)
    in.signer[i] = (uint8_t)(255 - i * 5);
  cg_buf_init(&json, 4096);
  assert_int_equal(cg_cert_seal_json(&in, &json), 0);

  /* The signature is padded standard base64, the signer lower-case hex. */
  size_t b64 = 4 * (((size_t)sig_len + 2) / 3);
  assert_int_equal(b64len, b64);
  assert_int_equal(json.len, strlen("{\"algorithm\":\"ES256\",\"signature\":\"") + b64 +
                                 strlen("\",\"signer\":\"") + 64 + 2);
  assert_memory_equal(json.base, "{\"algorithm\":\"", 14);
  assert_memory_equal(json.base + 14, cg_seal_alg_name(alg), 5);
  assert_memory_equal(json.base + json.len - 66, "fffaf5f0", 8); /* 255, 250, 245, 240 */
  assert_int_equal(json.base[json.len - 1], '}');

  v = cJSON_ParseWithLength(json.base, json.len);
  assert_non_null(v);
  /* Its own canonical form: it is written with keys sorted. */
  cg_buf_t c;
  cg_buf_init(&c, 4096);
  assert_int_equal(cg_cert_canonical(v, &c, &why), 0);
  assert_int_equal(c.len, json.len);
  assert_memory_equal(c.base, json.base, json.len);
  cg_buf_free(&c);

  memset(&out, 0xaa, sizeof out);
  assert_int_equal(cg_cert_seal_from_json(v, &out, &why), 0);
  assert_int_equal(out.alg, alg);
  assert_int_equal(out.sig_len, b64len);
  assert_string_equal(out.sig, in.sig);
  assert_memory_equal(out.signer, in.signer, CG_SEAL_FPR_LEN);
  cJSON_Delete(v);
  cg_buf_free(&json);
}

static void test_seal_round_trip(void **state) {
  (void)state;
  for (uint16_t n = 1; n <= 9; n++)
    seal_round_trip(CG_SEAL_ES256, n);
  seal_round_trip(CG_SEAL_ES256, 70);
  seal_round_trip(CG_SEAL_ES256, 72);
  seal_round_trip(CG_SEAL_RS256, 256);
  seal_round_trip(CG_SEAL_RS256, 512);
}

static void test_seal_json_errors(void **state) {
  cg_seal_t s;
  cg_buf_t out;
  (void)state;

  expected_seal(&s);
  s.alg = CG_SEAL_NONE;
  cg_buf_init(&out, 4096);
  assert_int_equal(cg_cert_seal_json(&s, &out), CG_EBADREQ);
  cg_buf_free(&out);
  s.alg = CG_SEAL_ES256;
  s.sig_len = CG_SEAL_B64_MAX + 1;
  cg_buf_init(&out, 4096);
  assert_int_equal(cg_cert_seal_json(&s, &out), CG_EBADREQ);
  cg_buf_free(&out);
  s.sig_len = (uint16_t)strlen(SIG_B64);
  cg_buf_init(&out, 100);
  assert_int_equal(cg_cert_seal_json(&s, &out), CG_ETOOBIG);
  assert_true(out.len <= 100);
  cg_buf_free(&out);
}

/* ---- small parsers -------------------------------------------------------- */

static int utf8(const char *s) { return cg_utf8_valid(s, strlen(s)); }

static void test_utf8_valid(void **state) {
  (void)state;
  assert_true(cg_utf8_valid("", 0));
  assert_true(utf8("plain ASCII ~\x7f"));
  assert_true(utf8("中文 电子证照"));
  assert_true(utf8("\xc2\x80"));         /* U+0080, the first 2-byte */
  assert_true(utf8("\xdf\xbf"));         /* U+07FF */
  assert_true(utf8("\xe0\xa0\x80"));     /* U+0800, the first 3-byte */
  assert_true(utf8("\xed\x9f\xbf"));     /* U+D7FF, just below the surrogates */
  assert_true(utf8("\xee\x80\x80"));     /* U+E000, just above */
  assert_true(utf8("\xef\xbf\xbf"));     /* U+FFFF */
  assert_true(utf8("\xf0\x90\x80\x80")); /* U+10000 */
  assert_true(utf8("\xf0\x9f\x98\x80")); /* U+1F600 */
  assert_true(utf8("\xf4\x8f\xbf\xbf")); /* U+10FFFF, the last */

  assert_false(utf8("\xc3\x28"));
  assert_false(utf8("\xc0\xaf"));
  assert_false(utf8("\xc1\xbf"));
  assert_false(utf8("\xe0\x80\xaf"));
  assert_false(utf8("\xe0\x9f\xbf"));
  assert_false(utf8("\xf0\x8f\xbf\xbf"));
  assert_false(utf8("\xed\xa0\x80"));
  assert_false(utf8("\xed\xbf\xbf"));
  assert_false(utf8("\xf4\x90\x80\x80"));
  assert_false(utf8("\xf5\x80\x80\x80"));
  assert_false(utf8("\xf8\x88\x80\x80\x80"));
  assert_false(utf8("\xfe"));
  assert_false(utf8("\xff"));
  assert_false(utf8("\x80"));
  assert_false(utf8("a\xbf"));
  assert_false(utf8("\xe4\xb8"));       /* 中 cut short */
  assert_false(utf8("\xe4\xb8" "a"));
  assert_false(utf8("\xf0\x9f\x98"));
  /* A NUL inside the length is refused; the length is what counts. */
  assert_false(cg_utf8_valid("a\0b", 3));
  assert_true(cg_utf8_valid("ab\xe4", 2));
  assert_false(cg_utf8_valid("ab\xe4\xb8\xad", 4));
  assert_true(cg_utf8_valid("ab\xe4\xb8\xad", 5));
}

static int date(const char *s, uint32_t *out) { return cg_cert_date_parse(s, strlen(s), out); }

static void test_date_parse(void **state) {
  static const char *const good[] = {"20000229", "20240229", "19000101", "19000228", "20241231",
                                     "20230131", "20230430", "99991231", "21000228", "19960229"};
  static const char *const bad[] = {"19000229", "21000229", "20230229", "20230230", "20230431",
                                    "18991231", "20241301", "20240001", "20240100", "20240132",
                                    "00000000", "2024051",  "202405011", "2024-5-1", "2024050a",
                                    " 2024050", "+2024050", ""};
  uint32_t v;
  (void)state;

  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    v = 0;
    if (date(good[i], &v) != 0)
      fail_msg("%s refused", good[i]);
    assert_int_equal(v, strtoul(good[i], NULL, 10));
  }
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    v = 12345;
    if (date(bad[i], &v) != CG_EBADREQ)
      fail_msg("%s accepted", bad[i]);
    assert_int_equal(v, 12345);
  }
  /* len, not the NUL, ends the date. */
  assert_int_equal(cg_cert_date_parse("20240229xyz", 8, &v), 0);
  assert_int_equal(v, 20240229);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_canonical_small_object),
      cmocka_unit_test(test_canonical_rejects),
      cmocka_unit_test(test_canonical_depth),
      cmocka_unit_test(test_canonical_too_big),
      cmocka_unit_test(test_cert_body_exact),
      cmocka_unit_test(test_cert_body_independent_of_spelling),
      cmocka_unit_test(test_cert_body_appends),
      cmocka_unit_test(test_required_fields),
      cmocka_unit_test(test_not_an_object),
      cmocka_unit_test(test_meta_without_expiry),
      cmocka_unit_test(test_identifier),
      cmocka_unit_test(test_holder),
      cmocka_unit_test(test_org_holder),
      cmocka_unit_test(test_identifier_agreement),
      cmocka_unit_test(test_area_code),
      cmocka_unit_test(test_dates),
      cmocka_unit_test(test_status),
      cmocka_unit_test(test_status_names),
      cmocka_unit_test(test_duplicate_keys),
      cmocka_unit_test(test_numbers),
      cmocka_unit_test(test_strings_utf8),
      cmocka_unit_test(test_escaped_nul),
      cmocka_unit_test(test_trailing_text),
      cmocka_unit_test(test_depth),
      cmocka_unit_test(test_too_big),
      cmocka_unit_test(test_large_certificates),
      cmocka_unit_test(test_seal_parse),
      cmocka_unit_test(test_seal_round_trip),
      cmocka_unit_test(test_seal_json_errors),
      cmocka_unit_test(test_utf8_valid),
      cmocka_unit_test(test_date_parse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
