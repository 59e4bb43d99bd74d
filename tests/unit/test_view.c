/* test_view.c — unit tests of core/view.c.
 *
 * A view is made one of two ways: cut from the stored bytes through the
 * record's member index, or by parsing the body and writing it again. A
 * venue must never be able to tell which one served it, so every
 * certificate here is rendered for every scope both ways and the bytes
 * compared; the view is then parsed and checked against the certificate
 * member by member (what the scope hides is absent, what it masks is
 * masked). An index that does not fit its body must send the view down the
 * parsing path: never a crash, never other bytes.
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

#include "core/cert.h"
#include "core/record.h"
#include "core/view.h"

#include "sample_cert.h"

/* Every member but the holder's name, type and code and `data`. */
#define FIELDS                                                                                     \
  SAMPLE_HEAD                                                                                      \
  "\"certificateIssuingAuthorityName\":\"北京市公安局西城分局\","                        \
  "\"certificateIssuingAuthorityCode\":\"" ISSUER "\","                                            \
  "\"certificateIssuedDate\":\"20240501\","                                                        \
  "\"certificateEffectiveDate\":\"20240502\","                                                     \
  "\"certificateExpiringDate\":\"20290501\","                                                      \
  "\"certificateAreaCode\":\"110102\""

#define DATA_PLAIN                                                                                 \
  "{\"address\":\"北京市西城区金融街8号院3号楼2单元501\",\"phone\":\"010-"          \
  "66012345\","                                                                                    \
  "\"mobile\":\"13812345678\",\"gender\":\"男\",\"floors\":3,"                                    \
  "\"nested\":{\"a\":[1,2,{\"b\":\"c\"}],\"phone\":\"13900001111\"},\"list\":"                     \
  "[\"x\",\"y\"],"                                                                                 \
  "\"flag\":true,\"none\":null}"

/* ---- certificates ---------------------------------------------------------
 */

/* What varies between the certificates: raw JSON for the holder's name,
 * the data object ("" leaves it out) and extra members (each starting with
 * a comma); the holder's type and code (NULL: a citizen, HOLDER). */
typedef struct spec {
  const char *label;
  const char *name;
  const char *data;
  const char *extra;
  const char *holder_type;
  const char *holder;
} spec_t;

/* A parsed certificate and the record pointing at its body. */
typedef struct cert {
  cg_buf_t body;
  cg_cert_meta_t meta;
  cg_seal_t seal;
  cg_record_t rec; /* with its member index, when it has one */
  uint8_t ix[CG_RECORD_INDEX_MAX];
} cert_t;

static char *spec_text(const spec_t *sp) {
  const char *ht = sp->holder_type ? sp->holder_type : "111";
  const char *hc = sp->holder ? sp->holder : HOLDER;
  size_t cap = strlen(FIELDS) + strlen(sp->name) + strlen(sp->data) + strlen(sp->extra) +
               strlen(ht) + strlen(hc) + 160;
  char *t = malloc(cap);
  int n;
  assert_non_null(t);
  n = snprintf(t, cap,
               "{" FIELDS ",\"certificateHolderTypeCode\":\"%s\",\"certificateHolderCode\":\"%s\","
               "\"certificateHolderName\":%s%s%s%s}",
               ht, hc, sp->name, sp->data[0] ? ",\"data\":" : "", sp->data, sp->extra);
  assert_true(n > 0 && (size_t)n < cap);
  return t;
}

/* Parses the text of sp as certgw's import does and makes its record. */
static cert_t *cert_new(const spec_t *sp) {
  cert_t *c = calloc(1, sizeof *c);
  char *text = spec_text(sp);
  cg_why_t why;
  int err;

  assert_non_null(c);
  memset(&why, 0, sizeof why);
  cg_buf_init(&c->body, CG_CERT_BODY_MAX + 1);
  if ((err = cg_cert_parse(text, strlen(text), &c->body, &c->meta, &c->seal, &why)) != 0)
    fail_msg("certificate \"%s\" refused (%d): %s", sp->label, err, why.text);
  free(text);
  /* A NUL after the body (not part of it) lets tests search it as a string. */
  assert_int_equal(cg_buf_putc(&c->body, '\0'), 0);
  c->body.len--;
  c->rec.status = (uint8_t)c->meta.status;
  c->rec.seal_state = CG_SEAL_VERIFIED;
  c->rec.trust_gen = 7;
  c->rec.source = CG_SOURCE_IMPORT;
  c->rec.holder_type = (uint8_t)c->meta.holder_type;
  c->rec.issued = c->meta.issued;
  c->rec.effective = c->meta.effective;
  c->rec.expiring = c->meta.expiring;
  c->rec.fetched_at = 1714521600;
  cg_record_holder_key(c->meta.holder_type, c->meta.holder_code, strlen(c->meta.holder_code),
                       c->rec.holder_key);
  c->rec.body = c->body.base;
  c->rec.body_len = (uint32_t)c->body.len;
  c->rec.seal_alg = (uint8_t)c->seal.alg;
  c->rec.signer = c->seal.signer;
  c->rec.sig = c->seal.sig;
  c->rec.sig_len = c->seal.sig_len;
  cg_record_index_set(&c->rec, &c->meta.index, c->ix);
  return c;
}

static void cert_free(cert_t *c) {
  cg_buf_free(&c->body);
  free(c);
}

/* rec without its member index: the parsing path. */
static cg_record_t unindexed(const cg_record_t *rec) {
  cg_record_t r = *rec;
  r.index = NULL;
  r.index_len = 0;
  return r;
}

/* ---- scopes ---------------------------------------------------------------
 */

/* Appends the comma-separated names of csv to list. */
static void scope_list(char (*list)[48], int *n, const char *csv) {
  const char *p = csv;
  while (*p) {
    size_t len = strcspn(p, ",");
    assert_true(len > 0 && len < 48 && *n < CG_SCOPE_LIST_MAX);
    memcpy(list[*n], p, len);
    list[*n][len] = '\0';
    (*n)++;
    p += len;
    if (*p == ',')
      p++;
  }
}

/* A scope of all types; fields "*" or a list, mask a list. */
static cg_scope_t scope_make(const char *fields, const char *mask) {
  cg_scope_t s;
  memset(&s, 0, sizeof s);
  strcpy(s.name, "test");
  s.all_types = 1;
  if (strcmp(fields, "*") == 0)
    s.all_fields = 1;
  else
    scope_list(s.fields, &s.nfields, fields);
  scope_list(s.mask, &s.nmask, mask);
  cg_view_scope_prepare(&s); /* as loading a config does */
  return s;
}

#define HOTEL_FIELDS                                                                               \
  "certificateIdentifier,certificateName,certificateTypeCode,"                                     \
  "certificateHolderName,"                                                                         \
  "certificateHolderCode,certificateHolderTypeCode,"                                               \
  "certificateIssuingAuthorityName,"                                                               \
  "certificateEffectiveDate,certificateExpiringDate,status"
#define HOTEL_MASK "certificateHolderName,certificateHolderCode"

static const struct {
  const char *fields, *mask;
} scopes[] = {
    {"*", ""}, /* full */
    {"*", HOTEL_MASK ",data.address,data.phone,data.mobile"},
    {"*", "noSuchMember"},
    {"*", "data"}, /* a mask on an object: shown as it is */
    {"*", "certificateIdentifier,certificateNumber,certificateIssuingAuthorityName,"
          "certificateName,certificateAreaCode,status"},
    {"*", "aaExtra,zzNum,zzObj,zzList,zzText,data.floors,data.nested,data.list,"
          "data.flag,"
          "data.none,data.gender"},
    {HOTEL_FIELDS, HOTEL_MASK},
    {HOTEL_FIELDS ",data", HOTEL_MASK ",data.address"},
    {"certificateIdentifier,data,status", "data.address,data.mobile"},
    {"data", ""},
    {"data.address", "data.address"},
    {"data.address", ""},
    {"certificateHolderName,data.gender,data.phone,data.nested,data.list,data."
     "floors,data.note",
     "certificateHolderName,data.phone,data.nested,data.list,data.floors,data."
     "gender,data.note"},
    {"data.noSuchField", "data.noSuchField"},
    {"certificateName", "data.address"}, /* masks a field it does not show */
    {"nothing", ""},
    {"nothing", "certificateHolderName"},
    {"status", ""},
    {"aaExtra,zzNum,zzObj,zzList,zzText,aaBig", "aaExtra,zzText,zzNum"},
    {"certificateHolderName,certificateHolderCode,data.address,data.mobile",
     "certificateHolderName,certificateHolderCode,data.address,data.mobile"},
};
#define NSCOPES (sizeof scopes / sizeof scopes[0])

/* ---- rendering both ways ------------------------------------------------- */

/* The view of rec for s, NUL-terminated (the caller frees it); its
 * cg_view_render result in *err. */
static char *render(const cg_scope_t *s, const cg_record_t *rec, uint32_t gen, size_t *len,
                    int *err) {
  cg_buf_t out;
  char *v;
  cg_buf_init(&out, 1 << 20);
  *err = cg_view_render(s, rec, gen, &out);
  *len = out.len;
  v = malloc(out.len + 1);
  assert_non_null(v);
  if (out.len > 0)
    memcpy(v, out.base, out.len);
  v[out.len] = '\0';
  cg_buf_free(&out);
  return v;
}

/* Renders rec for s through its index and without; the two must agree,
 * result and bytes. Returns the indexed view (NULL when rendering failed). */
static char *render_both(const cg_scope_t *s, const cg_record_t *rec, uint32_t gen,
                         const char *what) {
  cg_record_t plain = unindexed(rec);
  size_t ilen, plen;
  int ierr, perr;
  char *iv = render(s, rec, gen, &ilen, &ierr);
  char *pv = render(s, &plain, gen, &plen, &perr);

  if (ierr != perr || ilen != plen || memcmp(iv, pv, ilen) != 0)
    fail_msg("%s: the two paths differ\n  indexed (%d): %s\n  parsed  (%d): %s", what, ierr, iv,
             perr, pv);
  free(pv);
  if (ierr != 0) {
    free(iv);
    return NULL;
  }
  return iv;
}

static int in_list(const char (*list)[48], int n, const char *prefix, const char *name) {
  char full[128];
  snprintf(full, sizeof full, "%s%s", prefix, name);
  for (int i = 0; i < n; i++)
    if (strcmp(list[i], full) == 0)
      return 1;
  return 0;
}

static int wants_data(const cg_scope_t *s) {
  if (s->all_fields || in_list(s->fields, s->nfields, "", "data"))
    return 1;
  for (int i = 0; i < s->nfields; i++)
    if (strncmp(s->fields[i], "data.", 5) == 0)
      return 1;
  return 0;
}

/* One member of the view against the certificate's: equal, or masked when
 * the scope masks it and it is a string, or "****" when it masks a number,
 * object or list (nothing of which may show). */
static void check_value(const cg_scope_t *s, const char *prefix, const cJSON *orig,
                        const cJSON *shown, const char *what) {
  int masks = in_list(s->mask, s->nmask, prefix, orig->string);
  if (masks && (cJSON_IsNumber(orig) || cJSON_IsObject(orig) || cJSON_IsArray(orig))) {
    if (!cJSON_IsString(shown) || strcmp(shown->valuestring, "****") != 0)
      fail_msg("%s: %s%s shown, not \"****\"", what, prefix, orig->string);
  } else if (masks && cJSON_IsString(orig)) {
    cg_buf_t m;
    cg_buf_init(&m, 1 << 20);
    assert_int_equal(cg_view_mask(orig->string, orig->valuestring, &m), 0);
    assert_int_equal(cg_buf_putc(&m, '\0'), 0);
    if (!cJSON_IsString(shown) || strcmp(shown->valuestring, m.base) != 0)
      fail_msg("%s: %s%s not masked as \"%s\"", what, prefix, orig->string, m.base);
    cg_buf_free(&m);
  } else if (!cJSON_Compare(orig, shown, 1)) {
    fail_msg("%s: %s%s changed", what, prefix, orig->string);
  }
}

/* Members of o in strictly rising order (the canonical form; no duplicates). */
static void check_sorted(const cJSON *o, const cJSON *stop, const char *what) {
  for (const cJSON *c = o->child; c != NULL && c->next != NULL && c->next != stop; c = c->next)
    if (strcmp(c->string, c->next->string) >= 0)
      fail_msg("%s: %s before %s", what, c->string, c->next->string);
}

/* The view is one JSON object: the certificate's members the scope shows, in
 * canonical order, those it masks masked, then `seal` saying what is known
 * of the seal (and, for full scopes, the seal itself). */
static void check_view(const cg_scope_t *s, const cert_t *c, uint32_t gen, const char *view,
                       const char *what) {
  const char *end = NULL;
  cJSON *v = cJSON_ParseWithOpts(view, &end, 1), *body, *seal, *last;
  int whole = s->all_fields || in_list(s->fields, s->nfields, "", "data");

  if (v == NULL || !cJSON_IsObject(v))
    fail_msg("%s: not a JSON object: %s", what, view);
  body = cJSON_ParseWithLength(c->body.base, c->body.len);
  assert_non_null(body);
  for (last = v->child; last != NULL && last->next != NULL; last = last->next)
    ;
  if (last == NULL || strcmp(last->string, "seal") != 0 || !cJSON_IsObject(last))
    fail_msg("%s: the seal is not the last member: %s", what, view);
  seal = last;
  check_sorted(v, seal, what);

  /* What is shown may be shown, and is what the certificate says. */
  for (const cJSON *m = v->child; m != seal; m = m->next) {
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(body, m->string);
    if (o == NULL)
      fail_msg("%s: %s is not in the certificate", what, m->string);
    if (strcmp(m->string, "data") == 0) {
      assert_true(wants_data(s) && cJSON_IsObject(m));
      check_sorted(m, NULL, what);
      for (const cJSON *d = m->child; d != NULL; d = d->next) {
        const cJSON *od = cJSON_GetObjectItemCaseSensitive(o, d->string);
        if (od == NULL || !(whole || in_list(s->fields, s->nfields, "data.", d->string)))
          fail_msg("%s: data.%s shown", what, d->string);
        check_value(s, "data.", od, d, what);
      }
      continue;
    }
    if (!s->all_fields && !in_list(s->fields, s->nfields, "", m->string))
      fail_msg("%s: %s shown", what, m->string);
    check_value(s, "", o, m, what);
  }
  /* What may be shown is. */
  for (const cJSON *o = body->child; o != NULL; o = o->next) {
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(v, o->string);
    if (strcmp(o->string, "data") == 0) {
      if (wants_data(s) && m == NULL)
        fail_msg("%s: data missing", what);
      for (const cJSON *od = o->child; m != NULL && od != NULL; od = od->next)
        if ((whole || in_list(s->fields, s->nfields, "data.", od->string)) &&
            cJSON_GetObjectItemCaseSensitive(m, od->string) == NULL)
          fail_msg("%s: data.%s missing", what, od->string);
    } else if ((s->all_fields || in_list(s->fields, s->nfields, "", o->string)) && m == NULL) {
      fail_msg("%s: %s missing", what, o->string);
    }
  }

  const cJSON *st = cJSON_GetObjectItemCaseSensitive(seal, "status");
  assert_true(cJSON_IsString(st));
  assert_string_equal(st->valuestring, cg_view_seal_status(&c->rec, gen));
  if (cg_view_is_full(s)) {
    const cJSON *sig = cJSON_GetObjectItemCaseSensitive(seal, "signature");
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(seal, "algorithm");
    const cJSON *signer = cJSON_GetObjectItemCaseSensitive(seal, "signer");
    assert_true(cJSON_IsString(sig) && cJSON_IsString(alg) && cJSON_IsString(signer));
    assert_string_equal(sig->valuestring, SIG_B64);
    assert_string_equal(alg->valuestring, "ES256");
    assert_string_equal(signer->valuestring, SIGNER_HEX);
  } else {
    assert_null(cJSON_GetObjectItemCaseSensitive(seal, "signature"));
    assert_null(cJSON_GetObjectItemCaseSensitive(seal, "signer"));
  }
  cJSON_Delete(body);
  cJSON_Delete(v);
}

/* Every scope of the table on c: both paths agree, through a record
 * encoded and decoded as well, and the view is right. */
static void check_cert(const cert_t *c, const char *label) {
  cg_record_t in = c->rec, back;
  cg_buf_t enc;
  char what[160];

  cg_buf_init(&enc, 1 << 20);
  assert_int_equal(cg_record_encode(&in, &enc), 0);
  assert_int_equal(cg_record_decode(enc.base, enc.len, &back), 0);
  assert_int_equal(back.index_len, c->rec.index_len);
  if (back.index_len > 0)
    assert_memory_equal(back.index, c->rec.index, back.index_len);

  for (size_t i = 0; i < NSCOPES; i++) {
    cg_scope_t s = scope_make(scopes[i].fields, scopes[i].mask);
    snprintf(what, sizeof what, "%s, scope %zu (fields %.40s; mask %.40s)", label, i,
             scopes[i].fields, scopes[i].mask);
    char *v = render_both(&s, &c->rec, 7, what);
    if (v == NULL)
      fail_msg("%s: not rendered", what);
    check_view(&s, c, 7, v, what);

    /* The same from the decoded record (the index as stored). */
    size_t dlen;
    int derr;
    char *dv = render(&s, &back, 7, &dlen, &derr);
    assert_int_equal(derr, 0);
    assert_int_equal(dlen, strlen(v));
    assert_memory_equal(dv, v, dlen);
    free(dv);

    /* The same from a scope without its prepared lookups (each name
     * compared with each entry, the masking rule found from the name). */
    cg_scope_t raw = s;
    raw.prepared = 0;
    raw.field_bits = raw.mask_bits = raw.data_field_bits = raw.data_mask_bits = 0;
    memset(raw.mask_rule, 0, sizeof raw.mask_rule);
    dv = render(&raw, &c->rec, 7, &dlen, &derr);
    assert_int_equal(derr, 0);
    assert_int_equal(dlen, strlen(v));
    assert_memory_equal(dv, v, dlen);
    free(dv);
    free(v);
  }
  cg_buf_free(&enc);
}

/* ---- the certificates ---------------------------------------------------- */

/* check_cert on each of specs[0..n), every one of which has a member index. */
static void check_indexed(const spec_t *specs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    cert_t *c = cert_new(&specs[i]);
    assert_true(c->rec.index != NULL);
    check_cert(c, specs[i].label);
    cert_free(c);
  }
}

static void test_views_plain(void **state) {
  (void)state;
  static const spec_t specs[] = {
      {"plain", "\"张三丰\"", DATA_PLAIN, "", NULL, NULL},
      {"no data", "\"张三丰\"", "", "", NULL, NULL},
      {"empty data", "\"张三丰\"", "{}", "", NULL, NULL},
      {"organisation", "\"北京市某某科技有限公司\"", DATA_PLAIN, "", "001", ISSUER},
      {"extra members", "\"张三丰\"", DATA_PLAIN,
       ",\"aaExtra\":\"before every certificate member\",\"zzNum\":-42,"
       "\"zzObj\":{\"k\":\"v\",\"data\":{\"address\":\"x\"}},\"zzList\":[],"
       "\"zzText\":\"末尾\"",
       NULL, NULL},
      {"short values", "\"张\"",
       "{\"address\":\"\",\"phone\":\"12\",\"mobile\":\"1\",\"gender\":\"女\"}", "", NULL, NULL},
      {"four-byte characters", "\"😀张三\"",
       "{\"address\":\"𠀀𠀁𠀂𠀃𠀄𠀅𠀆𠀇𠀈𠀉𠀊\",\"phone\":\"😀😁😂😃😄😅😆😇\"}", "", NULL, NULL},
      {"DEL and U+2028", "\"张\\u007f三\"",
       "{\"address\":\"\\u2028北京市西城区金融街\\u007f8号院\","
       "\"phone\":\"\\u00e9\\u00e9\\u00e91234\"}",
       "", NULL, NULL},
      /* Separators in strings, where nothing needs an escape. */
      {"separators", "\"张,三:{丰}\"",
       "{\"address\":\"a,b:{c}[d]:1,g}]\",\"mobile\":\"1,3:8{}[]5678\","
       "\"phone\":\":,{\"}",
       ",\"aaExtra\":\"},{\",\"zzText\":\":\"", NULL, NULL},
  };
  check_indexed(specs, sizeof specs / sizeof specs[0]); /* these all have an index */
}

static void test_views_escapes(void **state) {
  (void)state;
  static const spec_t specs[] = {
      /* Escapes in masked strings: the indexed path must hand them over. */
      {"escaped name", "\"张\\\"三\\\\丰\\n\"", DATA_PLAIN, "", NULL, NULL},
      {"escaped unicode name", "\"\\u5f20\\u4e09\\u0001\"", DATA_PLAIN, "", NULL, NULL},
      {"escaped address", "\"张三丰\"",
       "{\"address\":\"北京市\\\"西城区\\\"金融街\\t8号院3号楼\","
       "\"phone\":\"138\\\\1234\\u001f5678\","
       "\"mobile\":\"13812345678\"}",
       "", NULL, NULL},
      /* Escapes only where nothing is masked: copied as they are stored. */
      {"escapes unmasked", "\"张三丰\"",
       "{\"address\":\"北京市西城区金融街8号院3号楼\","
       "\"note\":\"line\\nbreak \\\"q\\\" \\\\ \\u001f\","
       "\"gender\":\"男\"}",
       ",\"aaExtra\":\"x\\ny\",\"zzText\":\"tab\\there\"", NULL, NULL},
      /* Separators next to escaped quotes: a scanner would stop there. */
      {"separators in strings", "\"张,三:{丰}\"",
       "{\"address\":\"a,b:{c}[d]\\\"e\\\",\\\"f\\\":1,g\",\"mobile\":\"1,3:8{}"
       "[]5678\","
       "\"phone\":\"\\\",\\\"x\\\":\\\"\"}",
       ",\"aaExtra\":\"},{\\\"data\\\":{\",\"zzText\":\"\\\"phone\\\":\\\"\"", NULL, NULL},
      {"escapes everywhere", "\"\\\"\\\"\"",
       "{\"address\":\"\\\\\",\"phone\":\"\\r\\n\",\"mobile\":\"\\b\\f\","
       "\"note\":\"\\\"\"}",
       ",\"aaExtra\":\"\\\\\\\\\"", NULL, NULL},
  };
  check_indexed(specs, sizeof specs / sizeof specs[0]);
}

static void test_views_not_strings(void **state) {
  (void)state;
  /* Masks meet numbers, objects, arrays (hidden: "****"), booleans and null
   * (shown as they are). */
  static const spec_t specs[] = {
      {"values not strings", "\"张三丰\"",
       "{\"address\":12345,\"phone\":{\"n\":\"13812345678\",\"phone\":[1,2]},"
       "\"mobile\":[\"138\",\"1234\",5678],\"gender\":null,\"floors\":-3,"
       "\"nested\":{},"
       "\"list\":[[],{}],\"flag\":false,\"note\":999999999999999}",
       ",\"aaExtra\":false,\"zzNum\":0,\"zzObj\":{\"a\":{\"b\":{\"c\":[1]}}},"
       "\"zzList\":[\"1101**\",null],\"zzText\":true",
       NULL, NULL},
  };
  for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
    cert_t *c = cert_new(&specs[i]);
    check_cert(c, specs[i].label);
    cert_free(c);
  }
}

/* A string of n copies of the UTF-8 character ch, quoted. */
static char *repeat(const char *ch, size_t n) {
  size_t w = strlen(ch);
  char *s = malloc(n * w + 3);
  assert_non_null(s);
  s[0] = '"';
  for (size_t i = 0; i < n; i++)
    memcpy(s + 1 + i * w, ch, w);
  memcpy(s + 1 + n * w, "\"", 2);
  return s;
}

static void test_views_long_values(void **state) {
  (void)state;
  /* The indexed path copies a masked string to a 512-byte buffer: one
   * byte either side of that, and far past it. */
  static const size_t lens[] = {510, 511, 512, 513, 3000};
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    char *addr = repeat("a", lens[i]), *name = repeat("张", lens[i] / 3), data[4096];
    char label[64];
    snprintf(data, sizeof data, "{\"address\":%s,\"mobile\":\"13812345678\"}", addr);
    snprintf(label, sizeof label, "masked strings of %zu bytes", lens[i]);
    spec_t sp = {label, name, data, "", NULL, NULL};
    cert_t *c = cert_new(&sp);
    check_cert(c, label);
    cert_free(c);
    free(addr);
    free(name);
  }
  /* Past 4 KiB masked: whatever the result, the same both ways. */
  char *big = repeat("a", 5000);
  spec_t sp = {"masked name of 5000 bytes", big, DATA_PLAIN, "", NULL, NULL};
  cert_t *c = cert_new(&sp);
  cg_scope_t hotel = scope_make(HOTEL_FIELDS, HOTEL_MASK);
  char *v = render_both(&hotel, &c->rec, 7, sp.label);
  if (v != NULL)
    check_view(&hotel, c, 7, v, sp.label);
  free(v);
  cert_free(c);
  free(big);
}

/* A body of nearly 64 KiB: offsets past 32767 in the index. */
static void test_views_large_body(void **state) {
  char *big = repeat("x", 60000), *extra = malloc(60100);
  (void)state;
  assert_non_null(extra);
  snprintf(extra, 60100, ",\"aaBig\":%s", big);
  spec_t sp = {"large body", "\"张三丰\"", DATA_PLAIN, extra, NULL, NULL};
  cert_t *c = cert_new(&sp);
  assert_true(c->rec.index != NULL);
  assert_true(c->meta.index.top[c->meta.index.ntop - 1] > 60000);
  check_cert(c, sp.label);
  cert_free(c);
  free(extra);
  free(big);
}

/* ---- the exact bytes ------------------------------------------------------
 */

#define SEAL_FULL                                                                                  \
  "\"seal\":{\"status\":\"verified\",\"algorithm\":\"ES256\",\"signature\":"                       \
  "\"" SIG_B64 "\",\"signer\":\"" SIGNER_HEX "\"}}"

static void expect_view(const cert_t *c, const char *fields, const char *mask, const char *expect) {
  cg_scope_t s = scope_make(fields, mask);
  char *v = render_both(&s, &c->rec, 7, fields);
  assert_non_null(v);
  assert_string_equal(v, expect);
  check_view(&s, c, 7, v, fields);
  free(v);
}

static void test_views_exact(void **state) {
  spec_t sp = {"plain", "\"张三丰\"", DATA_PLAIN, "", NULL, NULL};
  cert_t *c = cert_new(&sp);
  char *full;
  (void)state;

  expect_view(c, HOTEL_FIELDS, HOTEL_MASK,
              "{\"certificateEffectiveDate\":\"20240502\","
              "\"certificateExpiringDate\":\"20290501\","
              "\"certificateHolderCode\":\"1101**********002X\","
              "\"certificateHolderName\":\"张**\","
              "\"certificateHolderTypeCode\":\"111\","
              "\"certificateIdentifier\":\"" IDENT "\","
              "\"certificateIssuingAuthorityName\":\"北京市公安局西城分局\","
              "\"certificateName\":\"居住证\","
              "\"certificateTypeCode\":\"" TYPE "\","
              "\"status\":\"valid\",\"seal\":{\"status\":\"verified\"}}");
  expect_view(c, "certificateName,data.address,data.mobile,data.nested",
              "data.address,data.mobile,data.nested",
              "{\"certificateName\":\"居住证\",\"data\":{"
              "\"address\":\"北京市西城区金融街****\",\"mobile\":\"138****5678\","
              "\"nested\":\"****\"},"
              "\"seal\":{\"status\":\"verified\"}}");
  expect_view(c, "data.address", "data.address",
              "{\"data\":{\"address\":\"北京市西城区金融街****\"},"
              "\"seal\":{\"status\":\"verified\"}}");
  expect_view(c, "data.noSuchField", "", "{\"data\":{},\"seal\":{\"status\":\"verified\"}}");
  /* Nothing the scope shows: the seal alone, still one object. */
  expect_view(c, "nothing", "", "{\"seal\":{\"status\":\"verified\"}}");
  expect_view(c, "nothing", "certificateHolderName", "{\"seal\":{\"status\":\"verified\"}}");

  /* A full scope gets the stored body and the seal to check it with. */
  full = malloc(c->body.len + sizeof SEAL_FULL + 1);
  assert_non_null(full);
  memcpy(full, c->body.base, c->body.len - 1);
  memcpy(full + c->body.len - 1, "," SEAL_FULL, sizeof SEAL_FULL + 1);
  expect_view(c, "*", "", full);
  /* Every field and a mask that finds nothing: the same members, cut from
   * the index, but only the seal's status. */
  memcpy(full + c->body.len - 1, ",\"seal\":{\"status\":\"verified\"}}", 31);
  expect_view(c, "*", "noSuchMember", full);
  free(full);
  cert_free(c);
}

/* A view is appended to what the buffer holds (lists of views are built
 * so), and a failed one leaves that as it was. */
static void test_views_append(void **state) {
  spec_t sp = {"append", "\"张\\\"三丰\"", DATA_PLAIN, "", NULL, NULL};
  cert_t *c = cert_new(&sp);
  static const struct {
    const char *fields, *mask;
  } cases[] = {{HOTEL_FIELDS, HOTEL_MASK},
               {"nothing", ""},
               {"data.address", "data.address"},
               {"*", ""},
               {"*", "data.mobile"}};
  (void)state;
  for (int indexed = 0; indexed < 2; indexed++) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      cg_scope_t s = scope_make(cases[i].fields, cases[i].mask);
      cg_record_t r = indexed ? c->rec : unindexed(&c->rec);
      cg_buf_t out;
      size_t len;
      int err;
      char *alone = render(&s, &r, 7, &len, &err);
      assert_int_equal(err, 0);
      cg_buf_init(&out, 1 << 20);
      assert_int_equal(cg_buf_puts(&out, "[{\"x\":1},"), 0);
      assert_int_equal(cg_view_render(&s, &r, 7, &out), 0);
      assert_int_equal(out.len, 9 + len);
      assert_memory_equal(out.base, "[{\"x\":1},", 9);
      assert_memory_equal(out.base + 9, alone, len);
      cg_buf_free(&out);
      free(alone);
    }
  }
  /* Refused: the buffer as it was. */
  cg_scope_t hotel = scope_make(HOTEL_FIELDS, HOTEL_MASK);
  cg_record_t r = c->rec;
  cg_buf_t out;
  r.body_len--; /* no closing brace */
  cg_buf_init(&out, 1 << 20);
  assert_int_equal(cg_buf_puts(&out, "[{"), 0);
  assert_int_equal(cg_view_render(&hotel, &r, 7, &out), CG_ERECORD);
  assert_int_equal(out.len, 2);
  cg_buf_free(&out);
  /* Too big for the buffer, wherever the bound falls (in the members or in
   * the seal): the same. */
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cg_scope_t s = scope_make(cases[i].fields, cases[i].mask);
    for (int indexed = 0; indexed < 2; indexed++) {
      cg_record_t rr = indexed ? c->rec : unindexed(&c->rec);
      size_t len;
      int err;
      char *alone = render(&s, &rr, 7, &len, &err);
      for (size_t max = 2; max < 2 + len; max++) {
        cg_buf_init(&out, max);
        assert_int_equal(cg_buf_puts(&out, "[{"), 0);
        err = cg_view_render(&s, &rr, 7, &out);
        if (err == 0 || out.len != 2)
          fail_msg("scope %zu, %s, max %zu: %d, %zu bytes left: %.*s", i,
                   indexed ? "indexed" : "parsed", max, err, out.len, (int)out.len, out.base);
        cg_buf_free(&out);
      }
      cg_buf_init(&out, 2 + len + 512); /* (the seal reserves room for a full one) */
      assert_int_equal(cg_buf_puts(&out, "[{"), 0);
      assert_int_equal(cg_view_render(&s, &rr, 7, &out), 0);
      cg_buf_free(&out);
      free(alone);
    }
  }
  cert_free(c);
}

/* ---- which path is taken --------------------------------------------------
 */

/* c's record with the inside of a hidden object member spoiled so that the
 * body no longer parses: only a view cut from the index can still be made
 * (the index path checks each value's outline, a '{' … '}', not inside). */
static void spoil(cert_t *c, const char *member) {
  char *p = strstr(c->body.base, member); /* body.base: cert_new made it a C string */
  assert_non_null(p);
  p += strlen(member);
  assert_true(p[0] == '{' && p[1] == '"');
  p[1] = 'x';
}

static void test_index_path_taken(void **state) {
  spec_t sp = {"spoiled", "\"张三丰\"", DATA_PLAIN, ",\"zzObj\":{\"k\":12345}", NULL, NULL};
  /* (A backslash, not a quote: a string with an escaped quote inside fails
   * the index path's outline check wherever it is, shown or not.) */
  spec_t esc = {"spoiled, escaped name",
                "\"张\\\\三丰\"",
                DATA_PLAIN,
                ",\"zzObj\":{\"k\":12345}",
                NULL,
                NULL};
  cg_scope_t hotel = scope_make(HOTEL_FIELDS, HOTEL_MASK);
  cg_scope_t addr = scope_make("data.address,certificateHolderCode", "data.address");
  cert_t *good = cert_new(&sp), *c = cert_new(&sp), *e = cert_new(&esc);
  cg_record_t plain;
  size_t len, glen;
  int err;
  char *v, *g;
  (void)state;

  spoil(c, "\"zzObj\":");
  spoil(e, "\"zzObj\":");

  /* The hotel's view never reads zzObj: cut from the index, it is made
   * (and is the view of the unspoiled certificate); parsing fails. */
  v = render(&hotel, &c->rec, 7, &len, &err);
  assert_int_equal(err, 0);
  g = render(&hotel, &good->rec, 7, &glen, &err);
  assert_int_equal(err, 0);
  assert_int_equal(len, glen);
  assert_memory_equal(v, g, len);
  free(v);
  free(g);
  plain = unindexed(&c->rec);
  v = render(&hotel, &plain, 7, &len, &err);
  assert_int_equal(err, CG_ERECORD);
  assert_int_equal(len, 0); /* nothing left behind */
  free(v);

  /* An escape in a masked string sends the view down the parsing path... */
  v = render(&hotel, &e->rec, 7, &len, &err);
  assert_int_equal(err, CG_ERECORD);
  assert_int_equal(len, 0);
  free(v);
  /* ...but not where that string is not shown. */
  v = render(&addr, &e->rec, 7, &len, &err);
  assert_int_equal(err, 0);
  assert_string_equal(v, "{\"certificateHolderCode\":\"" HOLDER "\","
                         "\"data\":{\"address\":\"北京市西城区金融街****\"},"
                         "\"seal\":{\"status\":\"verified\"}}");
  free(v);

  /* Long masked strings take the parsing path too. */
  char *name = repeat("a", 600);
  spec_t lsp = {"spoiled, long name", name, DATA_PLAIN, ",\"zzObj\":{\"k\":12345}", NULL, NULL};
  cert_t *l = cert_new(&lsp);
  spoil(l, "\"zzObj\":");
  v = render(&hotel, &l->rec, 7, &len, &err);
  assert_int_equal(err, CG_ERECORD);
  free(v);
  v = render(&addr, &l->rec, 7, &len, &err);
  assert_int_equal(err, 0);
  free(v);
  free(name);

  cert_free(l);
  cert_free(good);
  cert_free(c);
  cert_free(e);
}

/* ---- indexes that do not fit --------------------------------------------- */

/* n extra members ",\"xNN\":NN" (for the top level) or the members of a data
 * object of n fields. */
static char *members(int n, int object) {
  char *s = malloc((size_t)n * 24 + 8), *p = s;
  assert_non_null(s);
  *p = '\0';
  if (object)
    *p++ = '{';
  for (int i = 0; i < n; i++)
    p += sprintf(p, "%s\"x%03d\":%d", object && i == 0 ? "" : ",", i, i);
  if (object)
    *p++ = '}';
  *p = '\0';
  return s;
}

static void test_index_limits(void **state) {
  (void)state;
  /* 15 members of its own (data among them, not the seal) and 49 more make
   * 64: the index holds them; one more leaves it empty. */
  for (int extra = 48; extra <= 51; extra++) {
    char *x = members(extra, 0), label[64];
    spec_t sp = {label, "\"张三丰\"", DATA_PLAIN, x, NULL, NULL};
    snprintf(label, sizeof label, "%d top-level members", 15 + extra);
    cert_t *c = cert_new(&sp);
    if (15 + extra <= CG_CERT_INDEX_MAX) {
      assert_int_equal(c->meta.index.ntop, 15 + extra);
      assert_int_equal(c->meta.index.ndata, 9);
      assert_non_null(c->rec.index);
    } else {
      assert_int_equal(c->meta.index.ntop, 0);
      assert_int_equal(c->meta.index.ndata, 0);
      assert_null(c->rec.index);
      assert_int_equal(c->rec.index_len, 0);
    }
    check_cert(c, label);
    cert_free(c);
    free(x);
  }
  for (int n = 63; n <= 66; n++) {
    char *d = members(n, 1), label[64];
    spec_t sp = {label, "\"张三丰\"", d, "", NULL, NULL};
    snprintf(label, sizeof label, "%d data members", n);
    cert_t *c = cert_new(&sp);
    assert_int_equal(c->meta.index.ntop, n <= CG_CERT_INDEX_MAX ? 15 : 0);
    assert_int_equal(c->meta.index.ndata, n <= CG_CERT_INDEX_MAX ? n : 0);
    check_cert(c, label);
    cert_free(c);
    free(d);
  }
}

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static unsigned get16(const uint8_t *p) { return p[0] | (unsigned)p[1] << 8; }

/* Renders c with the packed index ix[0..len) for the scopes of the table:
 * the same bytes as the parsing path. 1 if cg_record_index_get took it. */
static int try_index(const cert_t *c, const uint8_t *ix, size_t len, const char *what) {
  cg_record_t r = c->rec;
  cg_cert_index_t got;
  char label[200];
  r.index = ix;
  r.index_len = (uint16_t)len;
  for (size_t i = 0; i < NSCOPES; i++) {
    cg_scope_t s = scope_make(scopes[i].fields, scopes[i].mask);
    snprintf(label, sizeof label, "%s, scope %zu", what, i);
    char *v = render_both(&s, &r, 7, label);
    if (v == NULL)
      fail_msg("%s: not rendered", label);
    check_view(&s, c, 7, v, label);
    free(v);
  }
  return cg_record_index_get(&r, &got) == 0;
}

static void test_index_corrupt(void **state) {
  spec_t sp = {"corrupt", "\"张三丰\"", DATA_PLAIN, ",\"aaExtra\":\"x\",\"zzNum\":-42", NULL, NULL};
  cert_t *c = cert_new(&sp);
  size_t n = c->rec.index_len, entries = (n - 4) / 2;
  uint8_t ix[4 + 4 * 80];
  char what[96];
  (void)state;

  assert_true(try_index(c, c->rec.index, n, "intact"));

  /* Each offset a byte or two off. One byte off is never at a quote, so
   * the index is refused; two before may be the quote that closes the
   * value before, which only the view can tell. */
  for (size_t k = 0; k < entries; k++) {
    static const int deltas[] = {-2, -1, 1, 2};
    for (size_t d = 0; d < 4; d++) {
      memcpy(ix, c->rec.index, n);
      put16(ix + 4 + 2 * k, get16(ix + 4 + 2 * k) + (unsigned)deltas[d]);
      snprintf(what, sizeof what, "offset %zu moved by %d", k, deltas[d]);
      int taken = try_index(c, ix, n, what);
      if (deltas[d] == -1 || deltas[d] == 1)
        assert_false(taken);
    }
  }
  /* Offsets outside the body, or at a byte that is no quote. */
  const unsigned bad[] = {0, c->rec.body_len - 1, c->rec.body_len, 0xffff};
  for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
    memcpy(ix, c->rec.index, n);
    put16(ix + 4, bad[b]);
    assert_false(try_index(c, ix, n, "first offset outside"));
    memcpy(ix, c->rec.index, n);
    put16(ix + n - 2, bad[b]);
    assert_false(try_index(c, ix, n, "last offset outside"));
  }
  memcpy(ix, c->rec.index, n);
  put16(ix + 6, get16(c->rec.index + 8));
  put16(ix + 8, get16(c->rec.index + 6));
  assert_false(try_index(c, ix, n, "offsets swapped"));
  memcpy(ix, c->rec.index, n);
  put16(ix + 8, get16(c->rec.index + 6));
  assert_false(try_index(c, ix, n, "offset repeated"));

  /* Counts and length that do not agree. */
  memcpy(ix, c->rec.index, n);
  memset(ix + n, 0, sizeof ix - n);
  assert_false(try_index(c, ix, n - 2, "index_len short"));
  assert_false(try_index(c, ix, n + 2, "index_len long"));
  assert_false(try_index(c, ix, 0, "index_len 0"));
  for (size_t len = 1; len < 4; len++)
    assert_false(try_index(c, ix, len, "index_len below 4"));
  put16(ix, get16(c->rec.index) + 1);
  assert_false(try_index(c, ix, n, "ntop one more"));
  memcpy(ix, c->rec.index, n);
  put16(ix + 2, get16(c->rec.index + 2) + 1);
  assert_false(try_index(c, ix, n, "ndata one more"));
  put16(ix, 0);
  put16(ix + 2, 0);
  assert_false(try_index(c, ix, 4, "ntop 0"));
  /* No offsets for the members of a data object that has some: the index
   * is well formed, and the view must still show them (parsing path). */
  memcpy(ix, c->rec.index, n);
  put16(ix + 2, 0);
  assert_true(try_index(c, ix, 4 + 2 * get16(ix), "data offsets left out"));
  /* More offsets than an index holds (the length agreeing). */
  memset(ix, 0, sizeof ix);
  put16(ix, 65);
  put16(ix + 2, 0);
  for (int i = 0; i < 65; i++)
    put16(ix + 4 + 2 * i, c->meta.index.top[i < c->meta.index.ntop ? i : 0]);
  assert_false(try_index(c, ix, 4 + 2 * 65, "ntop 65"));
  put16(ix, 1);
  put16(ix + 2, 65);
  assert_false(try_index(c, ix, 4 + 2 * 66, "ndata 65"));
  cert_free(c);
}

/* An index entry moved into a value, where a member of a nested object
 * starts (after its ',', at a name's quote, so it passes the index check):
 * the shown member before it would swallow part of the hidden one. The view
 * must still be the parsing path's, the hidden member nowhere in it. */
static void test_index_into_value(void **state) {
  spec_t sp = {"nested", "\"张三丰\"", DATA_PLAIN,
               ",\"aShown\":{\"k\":[1,\"}]\"]},\"bHidden\":{\"x\":{\"s\":\"SECRET\"},\"y\":2}", NULL,
               NULL};
  cert_t *c = cert_new(&sp);
  const char *body = c->rec.body, *h = strstr(body, "\"bHidden\":"), *x;
  uint8_t ix[CG_RECORD_INDEX_MAX];
  size_t n = c->rec.index_len, k;
  cg_scope_t shown = scope_make("aShown,status", "");
  cg_record_t r = c->rec;
  char *v;
  (void)state;

  assert_non_null(h);
  x = strstr(h, "\"y\":");
  assert_non_null(x);
  memcpy(ix, c->rec.index, n);
  for (k = 0; k < c->meta.index.ntop && body + c->meta.index.top[k] != h; k++)
    ;
  assert_true(k < c->meta.index.ntop);
  put16(ix + 4 + 2 * k, (unsigned)(x - body));
  r.index = ix;
  v = render_both(&shown, &r, 7, "an entry moved into a value");
  assert_non_null(v);
  assert_null(strstr(v, "SECRET"));
  assert_non_null(strstr(v, "\"aShown\":{\"k\":[1,\"}]\"]}"));
  free(v);
  cert_free(c);
}

/* An empty value masked, on both paths (nothing to star). */
static void test_mask_empty(void **state) {
  spec_t sp = {"empty", "\"张三丰\"", "{\"phone\":\"\",\"address\":\"\"}", "", NULL, NULL};
  cert_t *c = cert_new(&sp);
  cg_scope_t s = scope_make("data.phone,data.address", "data.phone,data.address");
  char *v;
  (void)state;

  v = render_both(&s, &c->rec, 7, "empty masked values");
  assert_non_null(v);
  assert_non_null(strstr(v, "\"data\":{\"address\":\"\",\"phone\":\"\"}"));
  free(v);
  cert_free(c);
}

/* A value that is not UTF-8 (only a corrupt record holds one) is refused,
 * not read past its end: each rule counts characters by their lead bytes. */
static void test_mask_not_utf8(void **state) {
  static const char *const fields[] = {"phone", "address", "certificateHolderName", "idNumber"};
  static const char *const values[] = {"\xe5", "\xe5" "A", "ab\xe5", "\xc3", "\xf0\x9f",
                                       "a\x80" "b", "\xff", "\xe5\x8c" "A"};
  spec_t sp = {"bad utf8", "\"张三丰\"", "{\"address\":\"北京市海淀区\",\"phone\":\"\"}", "", NULL,
               NULL};
  cg_scope_t s = scope_make("data.phone,data.address", "data.phone,data.address");
  cg_buf_t out;
  size_t len;
  int err;
  char *v, *at;
  (void)state;

  cg_buf_init(&out, 4096);
  for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
      cg_buf_reset(&out);
      assert_int_equal(cg_buf_puts(&out, "<"), 0);
      assert_int_equal(cg_view_mask(fields[f], values[i], &out), CG_ERECORD);
      assert_int_equal(out.len, 1);
    }
  cg_buf_free(&out);

  /* The same through a stored body whose address lost a continuation byte
   * (e5 8c 97 made e5 41 42, the length and the member index unchanged):
   * both paths refuse the record. */
  cert_t *c = cert_new(&sp);
  cg_record_t plain = unindexed(&c->rec);
  at = memmem(c->body.base, c->body.len, "\"address\":\"\xe5\x8c\x97", 14);
  assert_non_null(at);
  memcpy(at + 12, "AB", 2);
  v = render(&s, &c->rec, 7, &len, &err);
  assert_int_equal(err, CG_ERECORD);
  free(v);
  v = render(&s, &plain, 7, &len, &err);
  assert_int_equal(err, CG_ERECORD);
  free(v);
  cert_free(c);
}

/* ---- masking, types, seal status -------------------------------------------
 */

static void expect_mask(const char *field, const char *value, const char *expect) {
  cg_buf_t out;
  cg_buf_init(&out, 4096);
  assert_int_equal(cg_buf_puts(&out, "<"), 0); /* the mask is appended */
  assert_int_equal(cg_view_mask(field, value, &out), 0);
  assert_int_equal(cg_buf_putc(&out, '\0'), 0);
  if (out.base[0] != '<' || strcmp(out.base + 1, expect) != 0)
    fail_msg("mask(%s, \"%s\") = \"%s\", not \"%s\"", field, value, out.base, expect);
  cg_buf_free(&out);
}

static void test_mask(void **state) {
  (void)state;
  /* ID numbers, codes and anything else: first and last four. */
  expect_mask("certificateHolderCode", HOLDER, "1101**********002X");
  expect_mask("certificateHolderCode", ISSUER, "1122**********541J");
  expect_mask("certificateNumber", "京2024-0001", "京202**0001");
  expect_mask("certificateNumber", "123456789", "1234*6789");
  expect_mask("certificateNumber", "12345678", "1*******"); /* too short for both ends */
  expect_mask("other", "ab", "a*");
  expect_mask("other", "a", "*");
  expect_mask("other", "", "");
  /* Names: the first character. */
  expect_mask("certificateHolderName", "张三丰", "张**");
  expect_mask("certificateHolderName", "张三", "张*");
  expect_mask("certificateHolderName", "张", "*");
  expect_mask("certificateHolderName", "John Smith", "J*********");
  expect_mask("certificateHolderName", "😀张", "😀*");
  /* Addresses and places: the first nine characters; of nine or fewer,
   * half (never the whole address). */
  expect_mask("address", "北京市西城区金融街8号院3号楼", "北京市西城区金融街****");
  expect_mask("address", "北京市西城区金融街8", "北京市西城区金融街****");
  expect_mask("address", "北京市西城区金融街", "北京市西****");
  expect_mask("address", "历下区泉城路1号", "历下区泉****");
  expect_mask("address", "北京市西城区", "北京市****");
  expect_mask("address", "a", "****");
  expect_mask("address", "", "");
  expect_mask("location", "1234567890", "123456789****");
  expect_mask("birthPlace", "湖北省武汉市江岸区某某街道", "湖北省武汉市江岸区****");
  /* Phone numbers: first three and last four. */
  expect_mask("phone", "13812345678", "138****5678");
  expect_mask("mobile", "13812345678", "138****5678");
  expect_mask("telephone", "010-66012345", "010*****2345");
  expect_mask("phone", "12345678", "123*5678");
  expect_mask("phone", "1234567", "1******");
  expect_mask("phone", "12", "1*");
  /* Names that call for several rules: the phone's first, then the place's,
   * then the name's. */
  expect_mask("mobileAddress", "13812345678", "138****5678");
  expect_mask("addressPhone", "13812345678", "138****5678");
  expect_mask("birthPlaceName", "1234567890", "123456789****");
  expect_mask("contactNameLocation", "1234567890", "123456789****");
  expect_mask("officeName", "1234567890", "1*********");
  expect_mask("hone", "13812345678", "138****5678");
  expect_mask("Place", "1234567890", "123456789****");
  /* Near misses: other rules' parts cut short, or in other cases. */
  expect_mask("hon", "1234567890", "1234**7890");
  expect_mask("ddres", "1234567890", "1234**7890");
  expect_mask("place", "1234567890", "1234**7890");
  expect_mask("name", "1234567890", "1234**7890");
  expect_mask("Nam", "1234567890", "1234**7890");
  expect_mask("ocatio", "1234567890", "1234**7890");
}

/* The rules as first written (one strstr each), against cg_view_mask over
 * names made of the rules' parts, cut and joined every way. */
static int ref_has(const char *f, const char *part) { return strstr(f, part) != NULL; }

static void ref_mask(const char *field, const char *value, char *out) {
  cg_buf_t b;
  cg_buf_init(&b, 1 << 12);
  const char *rule = ref_has(field, "hone") || ref_has(field, "obile") ? "phone"
                     : ref_has(field, "ddress") || ref_has(field, "ocation") ||
                             ref_has(field, "Place")
                         ? "address"
                     : ref_has(field, "Name") ? "Name"
                                              : "other";
  assert_int_equal(cg_view_mask(rule, value, &b), 0);
  memcpy(out, b.base, b.len);
  out[b.len] = '\0';
  cg_buf_free(&b);
}

static void test_mask_rules(void **state) {
  static const char *const parts[] = {"",      "p",     "phone", "hone",  "hon",     "mobile",
                                      "obil",  "ddress", "addr", "ocation", "locatio", "Place",
                                      "Plac",  "Name",  "Nam",   "N",     "certificateHolder",
                                      "x",     "data.", "o",     "d",     "h"};
  const size_t np = sizeof parts / sizeof parts[0];
  char field[128], want[256];
  int tried = 0;
  (void)state;

  for (size_t i = 0; i < np; i++)
    for (size_t j = 0; j < np; j++)
      for (size_t k = 0; k < np; k++) {
        snprintf(field, sizeof field, "%s%s%s", parts[i], parts[j], parts[k]);
        ref_mask(field, "13812345678901", want);
        cg_buf_t b;
        cg_buf_init(&b, 1 << 12);
        assert_int_equal(cg_view_mask(field, "13812345678901", &b), 0);
        if (b.len != strlen(want) || memcmp(b.base, want, b.len) != 0)
          fail_msg("field \"%s\": \"%.*s\", not \"%s\"", field, (int)b.len, b.base, want);
        cg_buf_free(&b);
        tried++;
      }
  assert_int_equal(tried, (int)(np * np * np));
}

static void test_type_allowed(void **state) {
  cg_scope_t s = scope_make("*", "");
  (void)state;
  assert_true(cg_view_type_allowed(&s, TYPE));
  assert_true(cg_view_type_allowed(&s, "11100000000019713D001"));
  s.all_types = 0;
  assert_false(cg_view_type_allowed(&s, TYPE));
  strcpy(s.types[0], "11100000000019713D001");
  strcpy(s.types[1], "11100000000019713D005");
  s.ntypes = 2;
  assert_true(cg_view_type_allowed(&s, "11100000000019713D001"));
  assert_true(cg_view_type_allowed(&s, "11100000000019713D005"));
  assert_false(cg_view_type_allowed(&s, "11100000000019713D002"));
  assert_false(cg_view_type_allowed(&s, TYPE));
  /* 21 characters compared: what follows does not count. */
  assert_true(cg_view_type_allowed(&s, "11100000000019713D001.2430599"));
}

static void test_is_full(void **state) {
  cg_scope_t a = scope_make("*", ""), b = scope_make("*", "certificateHolderName"),
             c = scope_make(HOTEL_FIELDS ",data", "");
  (void)state;
  assert_true(cg_view_is_full(&a));
  assert_false(cg_view_is_full(&b));
  assert_false(cg_view_is_full(&c));
}

static void test_seal_status(void **state) {
  spec_t sp = {"seal", "\"张三丰\"", DATA_PLAIN, "", NULL, NULL};
  cert_t *c = cert_new(&sp);
  cg_scope_t hotel = scope_make(HOTEL_FIELDS, HOTEL_MASK), full = scope_make("*", "");
  cg_record_t *r = &c->rec;
  (void)state;

  r->seal_state = CG_SEAL_VERIFIED;
  r->trust_gen = 3;
  assert_string_equal(cg_view_seal_status(r, 3), "verified");
  assert_string_equal(cg_view_seal_status(r, 4), "unchecked"); /* other anchors since */
  assert_string_equal(cg_view_seal_status(r, 0), "unchecked"); /* no trust store */
  r->trust_gen = 0;
  assert_string_equal(cg_view_seal_status(r, 0), "unchecked");
  r->seal_state = CG_SEAL_INVALID;
  r->seal_reason = CG_SEAL_SIGNER_REVOKED;
  r->trust_gen = 9;
  assert_string_equal(cg_view_seal_status(r, 9), "invalid");
  assert_string_equal(cg_view_seal_status(r, 8), "unchecked");
  r->seal_state = CG_SEAL_UNCHECKED;
  assert_string_equal(cg_view_seal_status(r, 9), "unchecked");

  /* And as the views say it. */
  static const struct {
    uint8_t state;
    uint32_t rec_gen, gen;
    const char *seal;
  } cases[] = {
      {CG_SEAL_VERIFIED, 3, 3, "\"seal\":{\"status\":\"verified\"}}"},
      {CG_SEAL_VERIFIED, 3, 4, "\"seal\":{\"status\":\"unchecked\"}}"},
      {CG_SEAL_VERIFIED, 0, 0, "\"seal\":{\"status\":\"unchecked\"}}"},
      {CG_SEAL_INVALID, 3, 3, "\"seal\":{\"status\":\"invalid\",\"reason\":\"signer_revoked\"}}"},
      {CG_SEAL_INVALID, 3, 5, "\"seal\":{\"status\":\"unchecked\"}}"},
      {CG_SEAL_UNCHECKED, 3, 3, "\"seal\":{\"status\":\"unchecked\"}}"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *v;
    size_t len, slen = strlen(cases[i].seal);
    r->seal_state = cases[i].state;
    r->seal_reason = cases[i].state == CG_SEAL_INVALID ? CG_SEAL_SIGNER_REVOKED : 0;
    r->trust_gen = cases[i].rec_gen;
    v = render_both(&hotel, r, cases[i].gen, "seal status");
    assert_non_null(v);
    len = strlen(v);
    assert_true(len > slen);
    assert_string_equal(v + len - slen, cases[i].seal);
    check_view(&hotel, c, cases[i].gen, v, "seal status");
    free(v);
    /* A full scope also gets the seal itself, whatever its status. */
    v = render_both(&full, r, cases[i].gen, "seal status, full");
    assert_non_null(v);
    assert_non_null(strstr(v, "\"algorithm\":\"ES256\",\"signature\":\"" SIG_B64
                              "\",\"signer\":\"" SIGNER_HEX "\"}}"));
    check_view(&full, c, cases[i].gen, v, "seal status, full");
    free(v);
  }
  cert_free(c);
}

/* A body that is not an object is refused, whatever the path. */
static void test_not_a_body(void **state) {
  static const char *const bodies[] = {"",       "{",   "[]",  "{\"a\":1", "xx}",
                                       "{\"a\":}", "[1]}", "1}",  "\"a\"}"};
  cg_scope_t hotel = scope_make(HOTEL_FIELDS, HOTEL_MASK), full = scope_make("*", "");
  uint8_t sig[CG_SEAL_FPR_LEN] = {0};
  (void)state;
  for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
    cg_record_t r;
    size_t len;
    int err;
    char *v;
    memset(&r, 0, sizeof r);
    r.body = bodies[i];
    r.body_len = (uint32_t)strlen(bodies[i]);
    r.seal_alg = CG_SEAL_ES256;
    r.signer = sig;
    r.sig = "AAAA";
    r.sig_len = 4;
    v = render(&hotel, &r, 1, &len, &err);
    assert_int_equal(err, CG_ERECORD);
    assert_int_equal(len, 0);
    free(v);
    if (r.body_len < 2 || bodies[i][r.body_len - 1] != '}') {
      v = render(&full, &r, 1, &len, &err);
      assert_int_equal(err, CG_ERECORD);
      free(v);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_views_plain),
      cmocka_unit_test(test_views_escapes),
      cmocka_unit_test(test_views_not_strings),
      cmocka_unit_test(test_views_long_values),
      cmocka_unit_test(test_views_large_body),
      cmocka_unit_test(test_views_exact),
      cmocka_unit_test(test_views_append),
      cmocka_unit_test(test_index_path_taken),
      cmocka_unit_test(test_index_limits),
      cmocka_unit_test(test_index_corrupt),
      cmocka_unit_test(test_index_into_value),
      cmocka_unit_test(test_mask_empty),
      cmocka_unit_test(test_mask_not_utf8),
      cmocka_unit_test(test_mask),
      cmocka_unit_test(test_mask_rules),
      cmocka_unit_test(test_type_allowed),
      cmocka_unit_test(test_is_full),
      cmocka_unit_test(test_seal_status),
      cmocka_unit_test(test_not_a_body),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
