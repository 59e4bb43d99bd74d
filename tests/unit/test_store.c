/* test_store.c — unit tests of core/store.c.
 *
 * Each test gets a fresh data directory under $CG_TEST_TMP (or /tmp) and
 * removes it afterwards. The invariant checked throughout is the one
 * store.c promises: the holder index holds (holder key, identifier) for
 * exactly the certificates stored — after replacements, out-of-order bulk
 * puts and aborts alike.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/cert.h"
#include "core/ident.h"
#include "core/record.h"
#include "core/store.h"

#define MAP_SIZE (256ULL << 20)

/* ---- temp dirs and records ------------------------------------------------ */

typedef struct fixture {
  char dir[512];  /* the temp dir, removed by teardown */
  char path[600]; /* dir/data: the store */
} fixture_t;

static int setup(void **state) {
  fixture_t *f = calloc(1, sizeof *f);

  if (f == NULL || cg_test_mkdtemp("test_store", f->dir, sizeof f->dir) != 0)
    return -1;
  snprintf(f->path, sizeof f->path, "%s/data", f->dir);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture_t *f = *state;
  int rc = cg_test_rmtree(f->dir);
  free(f);
  return rc;
}

static cg_store_t *open_store(const fixture_t *f, int readonly) {
  cg_store_opts_t o = {.path = f->path, .map_size = MAP_SIZE, .readonly = readonly};
  cg_store_t *s = NULL;
  cg_why_t why = {{0}};
  int err = cg_store_open(&s, &o, &why);
  if (err != 0)
    fail_msg("cg_store_open %s: %d (%s)", f->path, err, why.text);
  return s;
}

/* Citizen ID number i: 11010519491231 + 3-digit sequence + check. */
static void citizen(int i, char out[19]) {
  snprintf(out, 19, "11010519491231%03d", i % 1000);
  out[17] = cg_ident_citizen_check_char(out);
  out[18] = '\0';
}

static uint8_t signer[CG_SEAL_FPR_LEN];
static char sig[96]; /* base64 of a 70-byte ES256 signature */

/* Encodes a record of ident for holder (type, code) into b (reset first). */
static void make_record(cg_buf_t *b, const char *ident, int holder_type, const char *code,
                        int status) {
  char body[256];
  cg_record_t r;

  for (int i = 0; i < CG_SEAL_FPR_LEN; i++)
    signer[i] = (uint8_t)i;
  for (int i = 0; i < 96; i++)
    sig[i] = (char)('A' + i % 26);
  snprintf(body, sizeof body, "{\"certificateHolderCode\":\"%s\",\"certificateIdentifier\":\"%s\"}",
           code, ident);
  memset(&r, 0, sizeof r);
  r.status = (uint8_t)status;
  r.source = CG_SOURCE_IMPORT;
  r.holder_type = (uint8_t)holder_type;
  r.issued = r.effective = 20240501;
  r.fetched_at = 1700000000;
  cg_record_holder_key(holder_type, code, strlen(code), r.holder_key);
  r.body = body;
  r.body_len = (uint32_t)strlen(body);
  r.seal_alg = CG_SEAL_ES256;
  r.signer = signer;
  r.sig = sig;
  r.sig_len = sizeof sig;
  cg_buf_reset(b);
  assert_int_equal(cg_record_encode(&r, b), 0);
}

static void holder_key_of(int i, uint8_t key[CG_HOLDER_KEY_LEN]) {
  char code[19];
  citizen(i, code);
  cg_record_holder_key(CG_HOLDER_CITIZEN, code, 18, key);
}

/* Puts ident for citizen holder number h. */
static void put(cg_store_writer_t *w, const char *ident, int h, int *replaced) {
  cg_buf_t b;
  char code[19];
  int err;

  citizen(h, code);
  cg_buf_init(&b, 4096);
  make_record(&b, ident, CG_HOLDER_CITIZEN, code, CG_CERT_VALID);
  err = cg_store_cert_put(w, ident, strlen(ident), b.base, b.len, replaced);
  if (err != 0)
    fail_msg("cg_store_cert_put %s: %d", ident, err);
  cg_buf_free(&b);
}

/* Collects what a walk reports: identifiers joined by spaces, and a count. */
typedef struct collect {
  char text[8192];
  size_t n;
  int stop_at; /* return 7 at this entry (1-based); 0: never */
} collect_t;

static int collect_cb(void *arg, cg_slice_t key, cg_slice_t val) {
  collect_t *c = arg;
  size_t used = strlen(c->text);
  (void)key;
  snprintf(c->text + used, sizeof c->text - used, "%s%.*s", used ? " " : "", (int)val.len,
           val.base);
  c->n++;
  return c->stop_at != 0 && (int)c->n == c->stop_at ? 7 : 0;
}

/* The identifiers filed under citizen holder h, space separated. */
static const char *holder_list(cg_store_reader_t *r, int h, collect_t *c) {
  uint8_t key[CG_HOLDER_KEY_LEN];
  memset(c, 0, sizeof *c);
  holder_key_of(h, key);
  assert_int_equal(cg_store_reader_begin(r), 0);
  assert_int_equal(cg_store_holder_each(r, key, collect_cb, c), 0);
  cg_store_reader_end(r);
  return c->text;
}

static void stat_of(cg_store_t *s, cg_store_stat_t *st) { assert_int_equal(cg_store_stat(s, st), 0); }

/* ---- open ----------------------------------------------------------------- */

static void test_open_fresh(void **state) {
  fixture_t *f = *state;
  cg_store_stat_t st;
  cg_store_reader_t *r;
  struct stat sb;
  uint64_t v;
  time_t now = time(NULL);
  (void)state;

  assert_int_equal(stat(f->path, &sb), -1); /* created by the open */
  cg_store_t *s = open_store(f, 0);
  assert_int_equal(stat(f->path, &sb), 0);
  assert_true(S_ISDIR(sb.st_mode));
  stat_of(s, &st);
  assert_int_equal(st.schema, CG_STORE_SCHEMA);
  assert_in_range(st.created, (uint64_t)now - 60, (uint64_t)now + 60);
  assert_int_equal(st.entries[CG_DB_CERT], 0);
  assert_int_equal(st.entries[CG_DB_HOLDER], 0);
  assert_int_equal(st.entries[CG_DB_META], 3); /* schema, created, audit_key */
  assert_true(st.map_size >= MAP_SIZE);
  assert_true(st.page_size >= 4096);
  assert_int_equal(st.trust_gen, 0);

  assert_int_equal(cg_store_reader_open(s, &r), 0);
  assert_int_equal(cg_store_reader_begin(r), 0);
  assert_int_equal(cg_store_meta_u64(r, "schema", &v), 0);
  assert_int_equal(v, CG_STORE_SCHEMA);
  v = 5;
  assert_int_equal(cg_store_meta_u64(r, "no such key", &v), 0);
  assert_int_equal(v, 0);
  cg_store_reader_end(r);
  cg_store_reader_close(r);
  uint64_t created = st.created;
  cg_store_close(s);

  /* Reopened, it is the same store: created is not rewritten. */
  s = open_store(f, 0);
  stat_of(s, &st);
  assert_int_equal(st.schema, CG_STORE_SCHEMA);
  assert_int_equal(st.created, created);
  assert_int_equal(st.entries[CG_DB_META], 3);
  assert_true(cg_store_reader_check(s) >= 0);
  cg_store_close(s);
}

static void test_schema_mismatch(void **state) {
  fixture_t *f = *state;
  cg_store_opts_t o = {.path = f->path, .map_size = MAP_SIZE};
  cg_store_writer_t *w;
  cg_store_t *s = open_store(f, 0);
  uint8_t v[8] = {99, 0, 0, 0, 0, 0, 0, 0};
  cg_why_t why = {{0}};

  assert_int_equal(cg_store_write_begin(s, 0, &w), 0);
  assert_int_equal(cg_store_put(w, CG_DB_META, "schema", 6, v, sizeof v), 0);
  assert_int_equal(cg_store_write_commit(w), 0);
  cg_store_close(s);

  s = (cg_store_t *)&why; /* must be set to NULL on failure */
  assert_int_equal(cg_store_open(&s, &o, &why), CG_ESCHEMA);
  assert_null(s);
  assert_non_null(strstr(why.text, "99"));
  o.readonly = 1;
  assert_int_equal(cg_store_open(&s, &o, NULL), CG_ESCHEMA);
  assert_null(s);
}

static void test_open_failures(void **state) {
  fixture_t *f = *state;
  cg_store_opts_t o = {.path = f->path, .map_size = MAP_SIZE, .readonly = 1};
  cg_store_t *s = (cg_store_t *)f;
  cg_why_t why = {{0}};
  struct stat sb;

  /* Read-only: a missing directory is not created, and the open fails. */
  assert_int_equal(cg_store_open(&s, &o, &why), CG_EIO);
  assert_null(s);
  assert_true(why.text[0] != '\0');
  assert_int_equal(stat(f->path, &sb), -1);
  /* An existing but empty directory is no store either. */
  assert_int_equal(mkdir(f->path, 0750), 0);
  assert_int_not_equal(cg_store_open(&s, &o, &why), 0);
  assert_null(s);

  o.path = "";
  assert_int_equal(cg_store_open(&s, &o, NULL), CG_ECONFIG);
  o.path = NULL;
  o.readonly = 0;
  assert_int_equal(cg_store_open(&s, &o, NULL), CG_ECONFIG);
  assert_null(s);
}

static void test_readonly(void **state) {
  fixture_t *f = *state;
  cg_store_t *s = open_store(f, 0);
  cg_store_writer_t *w;
  cg_store_reader_t *r;
  cg_record_t rec;
  collect_t c;

  assert_int_equal(cg_store_write_begin(s, 0, &w), 0);
  put(w, "A", 1, NULL);
  assert_int_equal(cg_store_write_commit(w), 0);
  cg_store_close(s);

  s = open_store(f, 1);
  w = NULL;
  assert_int_equal(cg_store_write_begin(s, 0, &w), CG_ESTORE);
  assert_null(w);
  assert_int_equal(cg_store_reader_open(s, &r), 0);
  assert_int_equal(cg_store_reader_begin(r), 0);
  assert_int_equal(cg_store_cert_get(r, "A", 1, &rec), 0);
  assert_int_equal(rec.status, CG_CERT_VALID);
  cg_store_reader_end(r);
  assert_string_equal(holder_list(r, 1, &c), "A");
  cg_store_reader_close(r);
  cg_store_close(s);
}

/* ---- the write path ------------------------------------------------------- */

static void test_cert_put_get(void **state) {
  fixture_t *f = *state;
  cg_store_t *s = open_store(f, 0);
  cg_store_writer_t *w;
  cg_store_reader_t *r;
  cg_record_t rec;
  cg_slice_t v;
  cg_buf_t b;
  char code[19];
  int replaced = -1;
  collect_t c;
  const char *id = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F";

  citizen(3, code);
  cg_buf_init(&b, 4096);
  make_record(&b, id, CG_HOLDER_CITIZEN, code, CG_CERT_REVOKED);

  assert_int_equal(cg_store_write_begin(s, 0, &w), 0);
  assert_int_equal(cg_store_cert_put(w, id, strlen(id), b.base, b.len, &replaced), 0);
  assert_int_equal(replaced, 0);
  /* The writer sees its own change. */
  assert_int_equal(cg_store_write_get(w, CG_DB_CERT, id, strlen(id), &v), 0);
  assert_int_equal(v.len, b.len);
  /* Not a record: refused, and nothing is stored under that name. */
  assert_int_equal(cg_store_cert_put(w, "bad", 3, "garbage", 7, &replaced), CG_ERECORD);
  assert_int_equal(cg_store_cert_put(w, "bad", 3, b.base, b.len - 1, NULL), CG_ERECORD);
  assert_int_equal(cg_store_write_get(w, CG_DB_CERT, "bad", 3, &v), CG_ENOTFOUND);
  assert_int_equal(cg_store_cert_put(w, "", 0, b.base, b.len, NULL), CG_EIDENT);
  assert_int_equal(cg_store_write_commit(w), 0);

  assert_int_equal(cg_store_reader_open(s, &r), 0);
  assert_int_equal(cg_store_reader_begin(r), 0);
  assert_int_equal(cg_store_get(r, CG_DB_CERT, id, strlen(id), &v), 0);
  assert_int_equal(v.len, b.len);
  assert_memory_equal(v.base, b.base, b.len);
  assert_int_equal(cg_store_cert_get(r, id, strlen(id), &rec), 0);
  assert_int_equal(rec.status, CG_CERT_REVOKED);
  assert_int_equal(rec.holder_type, CG_HOLDER_CITIZEN);
  assert_non_null(memmem(rec.body, rec.body_len, code, 18));
  assert_int_equal(cg_store_cert_get(r, id, strlen(id) - 1, &rec), CG_ENOTFOUND);
  assert_int_equal(cg_store_cert_get(r, "bad", 3, &rec), CG_ENOTFOUND);
  assert_int_equal(cg_store_get(r, CG_DB_CERT, "", 0, &v), CG_ENOTFOUND);
  cg_store_reader_end(r);
  assert_string_equal(holder_list(r, 3, &c), id);
  assert_int_equal(c.n, 1);
  assert_string_equal(holder_list(r, 4, &c), "");
  assert_int_equal(c.n, 0);
  /* Reading needs a begun snapshot. */
  assert_int_not_equal(cg_store_get(r, CG_DB_CERT, id, strlen(id), &v), 0);
  cg_store_reader_close(r);

  cg_store_stat_t st;
  stat_of(s, &st);
  assert_int_equal(st.entries[CG_DB_CERT], 1);
  assert_int_equal(st.entries[CG_DB_HOLDER], 1);
  cg_buf_free(&b);
  cg_store_close(s);
}

static void replace_moves_holder(fixture_t *f, int flags) {
  cg_store_t *s = open_store(f, 0);
  cg_store_writer_t *w;
  cg_store_reader_t *r;
  cg_store_stat_t st;
  collect_t c;
  int replaced;

  assert_int_equal(cg_store_write_begin(s, flags, &w), 0);
  put(w, "A", 1, &replaced);
  assert_int_equal(replaced, 0);
  put(w, "B", 1, &replaced);
  assert_int_equal(cg_store_write_commit(w), 0);

  assert_int_equal(cg_store_reader_open(s, &r), 0);
  assert_string_equal(holder_list(r, 1, &c), "A B");

  /* A moves to holder 2 in a later transaction. */
  assert_int_equal(cg_store_write_begin(s, flags, &w), 0);
  put(w, "A", 2, &replaced);
  assert_int_equal(replaced, 1);
  assert_int_equal(cg_store_write_commit(w), 0);
  assert_string_equal(holder_list(r, 1, &c), "B");
  assert_string_equal(holder_list(r, 2, &c), "A");

  /* Within one transaction: C filed under 3, moved to 4, then back to 3;
   * B moved to 2; A put again under the same holder. */
  assert_int_equal(cg_store_write_begin(s, flags, &w), 0);
  put(w, "C", 3, &replaced);
  assert_int_equal(replaced, 0);
  put(w, "C", 4, &replaced);
  assert_int_equal(replaced, 1);
  put(w, "B", 2, &replaced);
  assert_int_equal(replaced, 1);
  put(w, "C", 3, &replaced);
  assert_int_equal(replaced, 1);
  put(w, "A", 2, &replaced);
  assert_int_equal(replaced, 1);
  assert_int_equal(cg_store_write_commit(w), 0);
  assert_string_equal(holder_list(r, 1, &c), "");
  assert_string_equal(holder_list(r, 2, &c), "A B");
  assert_string_equal(holder_list(r, 3, &c), "C");
  assert_string_equal(holder_list(r, 4, &c), "");
  cg_store_reader_close(r);

  stat_of(s, &st);
  assert_int_equal(st.entries[CG_DB_CERT], 3);
  assert_int_equal(st.entries[CG_DB_HOLDER], 3);
  cg_store_close(s);
}

static void test_replace_moves_holder(void **state) { replace_moves_holder(*state, 0); }
static void test_replace_moves_holder_bulk(void **state) {
  replace_moves_holder(*state, CG_STORE_BULK);
}

static void test_abort(void **state) {
  fixture_t *f = *state;
  cg_store_t *s = open_store(f, 0);
  cg_store_writer_t *w;
  cg_store_reader_t *r;
  cg_store_stat_t st;
  cg_record_t rec;
  collect_t c;
  uint8_t v[8] = {1};

  assert_int_equal(cg_store_write_begin(s, 0, &w), 0);
  put(w, "A", 1, NULL);
  assert_int_equal(cg_store_put(w, CG_DB_SIGNER, "fpr", 3, "der", 3), 0);
  assert_int_equal(cg_store_put(w, CG_DB_META, "trust_gen", 9, v, 8), 0);
  cg_store_write_abort(w);
  cg_store_write_abort(NULL);

  stat_of(s, &st);
  assert_int_equal(st.entries[CG_DB_CERT], 0);
  assert_int_equal(st.entries[CG_DB_HOLDER], 0);
  assert_int_equal(st.entries[CG_DB_SIGNER], 0);
  assert_int_equal(st.trust_gen, 0);
  assert_int_equal(cg_store_reader_open(s, &r), 0);
  assert_int_equal(cg_store_reader_begin(r), 0);
  assert_int_equal(cg_store_cert_get(r, "A", 1, &rec), CG_ENOTFOUND);
  cg_store_reader_end(r);
  assert_string_equal(holder_list(r, 1, &c), "");
  cg_store_reader_close(r);

  /* The store takes writes again after an abort. */
  assert_int_equal(cg_store_write_begin(s, 0, &w), 0);
  put(w, "A", 1, NULL);
  assert_int_equal(cg_store_write_commit(w), 0);
  stat_of(s, &st);
  assert_int_equal(st.entries[CG_DB_CERT], 1);
  cg_store_close(s);
}

/* ---- bulk writes ---------------------------------------------------------- */

#define NBULK 2000
#define NHOLDERS 37
#define NEXTRA 6

/* What the test expects the store to hold. */
typedef struct model {
  char ident[NBULK + NEXTRA][24];
  int holder[NBULK + NEXTRA];
  size_t n;
} model_t;

static void model_put(model_t *m, cg_store_writer_t *w, const char *ident, int h) {
  int replaced;
  size_t i;
  put(w, ident, h, &replaced);
  for (i = 0; i < m->n; i++)
    if (strcmp(m->ident[i], ident) == 0)
      break;
  assert_int_equal(replaced, i < m->n);
  if (i == m->n)
    snprintf(m->ident[m->n++], sizeof m->ident[0], "%s", ident);
  m->holder[i] = h;
}

static int cmp_str(const void *a, const void *b) { return strcmp(a, b); }

/* Checks that every holder lists exactly the model's identifiers, in order,
 * and that the index has no other entries. */
static void check_model(cg_store_t *s, const model_t *m) {
  cg_store_reader_t *r;
  cg_store_stat_t st;
  static char want[NBULK + NEXTRA][24];
  collect_t *c = malloc(sizeof *c);
  char *text = malloc(sizeof c->text);

  assert_non_null(c);
  assert_non_null(text);
  stat_of(s, &st);
  assert_int_equal(st.entries[CG_DB_CERT], m->n);
  assert_int_equal(st.entries[CG_DB_HOLDER], m->n);
  assert_int_equal(cg_store_reader_open(s, &r), 0);
  for (int h = 0; h < NHOLDERS + 2; h++) {
    size_t k = 0;
    for (size_t i = 0; i < m->n; i++)
      if (m->holder[i] == h)
        memcpy(want[k++], m->ident[i], sizeof want[0]);
    qsort(want, k, sizeof want[0], cmp_str);
    text[0] = '\0';
    for (size_t i = 0; i < k; i++)
      snprintf(text + strlen(text), sizeof c->text - strlen(text), "%s%s", i ? " " : "", want[i]);
    holder_list(r, h, c);
    if (strcmp(c->text, text) != 0)
      fail_msg("holder %d lists\n  %s\nwant\n  %s", h, c->text, text);
    assert_int_equal(c->n, k);
  }
  /* And each certificate's record names the holder it is filed under. */
  assert_int_equal(cg_store_reader_begin(r), 0);
  for (size_t i = 0; i < m->n; i++) {
    cg_record_t rec;
    uint8_t key[CG_HOLDER_KEY_LEN];
    assert_int_equal(cg_store_cert_get(r, m->ident[i], strlen(m->ident[i]), &rec), 0);
    holder_key_of(m->holder[i], key);
    assert_memory_equal(rec.holder_key, key, CG_HOLDER_KEY_LEN);
  }
  cg_store_reader_end(r);
  cg_store_reader_close(r);
  free(text);
  free(c);
}

static void test_bulk(void **state) {
  fixture_t *f = *state;
  cg_store_t *s = open_store(f, 0);
  cg_store_writer_t *w;
  model_t *m = calloc(1, sizeof *m);
  char id[24];

  assert_non_null(m);
  /* A first record, so that the bulk writer appends to a non-empty store. */
  assert_int_equal(cg_store_write_begin(s, 0, &w), 0);
  model_put(m, w, "ID-00000", NHOLDERS);
  assert_int_equal(cg_store_write_commit(w), 0);

  assert_int_equal(cg_store_write_begin(s, CG_STORE_BULK, &w), 0);
  for (int i = 1; i < NBULK; i++) {
    snprintf(id, sizeof id, "ID-%05d", i);
    model_put(m, w, id, i % NHOLDERS);
  }
  /* Out of order, a repeat with another holder, a repeat with the same,
   * one before everything and one after. */
  model_put(m, w, "ID-00500x", 5);
  model_put(m, w, "ID-01000", NHOLDERS + 1);
  model_put(m, w, "ID-01999", 1999 % NHOLDERS);
  model_put(m, w, "ID-00000", 3);
  model_put(m, w, "A-first", 3);
  model_put(m, w, "Z-last", 0);
  model_put(m, w, "ID-00010", 0);
  assert_int_equal(cg_store_write_commit(w), 0);
  assert_int_equal(m->n, NBULK + 3);
  check_model(s, m);
  cg_store_close(s);

  /* It all survives reopening. */
  s = open_store(f, 0);
  check_model(s, m);
  cg_store_close(s);
  free(m);
}

static void test_bulk_abort(void **state) {
  fixture_t *f = *state;
  cg_store_t *s = open_store(f, 0);
  cg_store_writer_t *w;
  model_t *m = calloc(1, sizeof *m);
  cg_store_stat_t before, after;
  char id[24];

  assert_non_null(m);
  assert_int_equal(cg_store_write_begin(s, CG_STORE_BULK, &w), 0);
  for (int i = 0; i < 300; i += 3) {
    snprintf(id, sizeof id, "ID-%05d", i);
    model_put(m, w, id, i % NHOLDERS);
  }
  assert_int_equal(cg_store_write_commit(w), 0);
  check_model(s, m);
  stat_of(s, &before);

  /* Many new records, and existing ones moved to other holders (which
   * files the pending index entries in the middle), then abort. */
  assert_int_equal(cg_store_write_begin(s, CG_STORE_BULK, &w), 0);
  for (int i = 300; i < 1300; i++) {
    snprintf(id, sizeof id, "ID-%05d", i);
    put(w, id, i % NHOLDERS, NULL);
  }
  put(w, "ID-00003", NHOLDERS + 1, NULL);
  put(w, "ID-00001", 2, NULL);
  put(w, "ID-00000", 5, NULL);
  cg_store_write_abort(w);

  stat_of(s, &after);
  assert_memory_equal(after.entries, before.entries, sizeof before.entries);
  check_model(s, m);
  cg_store_close(s);
  free(m);
}

/* ---- readers -------------------------------------------------------------- */

static void test_reader_reuse(void **state) {
  fixture_t *f = *state;
  cg_store_t *s = open_store(f, 0);
  cg_store_writer_t *w;
  cg_store_reader_t *r;
  cg_store_stat_t st;
  cg_record_t rec;
  char id[24];

  assert_int_equal(cg_store_write_begin(s, CG_STORE_BULK, &w), 0);
  for (int i = 0; i < 100; i++) {
    snprintf(id, sizeof id, "R%03d", i);
    put(w, id, i, NULL);
  }
  assert_int_equal(cg_store_write_commit(w), 0);

  /* One reader, many snapshots: the slot is reused, not leaked. */
  assert_int_equal(cg_store_reader_open(s, &r), 0);
  for (int i = 0; i < 20000; i++) {
    snprintf(id, sizeof id, "R%03d", (i * 7) % 101);
    assert_int_equal(cg_store_reader_begin(r), 0);
    assert_int_equal(cg_store_reader_begin(r), 0); /* begun twice is once */
    int err = cg_store_cert_get(r, id, strlen(id), &rec);
    assert_int_equal(err, (i * 7) % 101 == 100 ? CG_ENOTFOUND : 0);
    cg_store_reader_end(r);
  }
  cg_store_reader_end(r); /* ended twice is harmless */
  stat_of(s, &st);
  assert_true(st.readers_used <= 2);

  /* A snapshot does not see a later commit; the next one does. */
  assert_int_equal(cg_store_reader_begin(r), 0);
  assert_int_equal(cg_store_cert_get(r, "R100", 4, &rec), CG_ENOTFOUND);
  assert_int_equal(cg_store_cert_get(r, "R050", 4, &rec), 0);
  const char *old_body = rec.body;
  assert_int_equal(cg_store_write_begin(s, 0, &w), 0);
  put(w, "R100", 1, NULL);
  put(w, "R050", 2, NULL);
  assert_int_equal(cg_store_write_commit(w), 0);
  assert_int_equal(cg_store_cert_get(r, "R100", 4, &rec), CG_ENOTFOUND);
  assert_int_equal(cg_store_cert_get(r, "R050", 4, &rec), 0);
  assert_ptr_equal(rec.body, old_body);
  cg_store_reader_end(r);
  assert_int_equal(cg_store_reader_begin(r), 0);
  assert_int_equal(cg_store_cert_get(r, "R100", 4, &rec), 0);
  cg_store_reader_end(r);

  /* Two readers at once. */
  cg_store_reader_t *r2;
  assert_int_equal(cg_store_reader_open(s, &r2), 0);
  assert_int_equal(cg_store_reader_begin(r), 0);
  assert_int_equal(cg_store_reader_begin(r2), 0);
  assert_int_equal(cg_store_cert_get(r, "R001", 4, &rec), 0);
  assert_int_equal(cg_store_cert_get(r2, "R002", 4, &rec), 0);
  cg_store_reader_end(r2);
  cg_store_reader_end(r);
  cg_store_reader_close(r2);
  cg_store_reader_close(r);
  cg_store_reader_close(NULL);
  cg_store_close(s);
}

static int ordered_cb(void *arg, cg_slice_t key, cg_slice_t val) {
  collect_t *c = arg;
  size_t used = strlen(c->text);
  (void)val;
  snprintf(c->text + used, sizeof c->text - used, "%s%.*s", used ? " " : "", (int)key.len,
           key.base);
  c->n++;
  return c->stop_at != 0 && (int)c->n == c->stop_at ? 7 : 0;
}

static void test_each_in_key_order(void **state) {
  static const char *const keys[] = {"m", "b", "zz", "a", "ba", "z", "B", "aa", "0"};
  fixture_t *f = *state;
  cg_store_t *s = open_store(f, 0);
  cg_store_writer_t *w;
  cg_store_reader_t *r;
  collect_t c;

  assert_int_equal(cg_store_write_begin(s, 0, &w), 0);
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    assert_int_equal(cg_store_put(w, CG_DB_MATTER, keys[i], strlen(keys[i]), "v", 1), 0);
    put(w, keys[i], (int)i, NULL);
  }
  assert_int_equal(cg_store_write_commit(w), 0);

  assert_int_equal(cg_store_reader_open(s, &r), 0);
  assert_int_equal(cg_store_reader_begin(r), 0);
  memset(&c, 0, sizeof c);
  assert_int_equal(cg_store_each(r, CG_DB_MATTER, ordered_cb, &c), 0);
  assert_string_equal(c.text, "0 B a aa b ba m z zz");
  memset(&c, 0, sizeof c);
  assert_int_equal(cg_store_each(r, CG_DB_CERT, ordered_cb, &c), 0);
  assert_string_equal(c.text, "0 B a aa b ba m z zz");
  /* The holder index: one entry per certificate. */
  memset(&c, 0, sizeof c);
  assert_int_equal(cg_store_each(r, CG_DB_HOLDER, ordered_cb, &c), 0);
  assert_int_equal(c.n, sizeof keys / sizeof keys[0]);
  /* A callback's non-zero value stops the walk and comes back. */
  memset(&c, 0, sizeof c);
  c.stop_at = 3;
  assert_int_equal(cg_store_each(r, CG_DB_MATTER, ordered_cb, &c), 7);
  assert_string_equal(c.text, "0 B a");
  memset(&c, 0, sizeof c);
  assert_int_equal(cg_store_each(r, CG_DB_VENUE, ordered_cb, &c), 0);
  assert_int_equal(c.n, 0);
  assert_int_not_equal(cg_store_each(r, CG_DB__COUNT, ordered_cb, &c), 0);
  cg_store_reader_end(r);
  assert_int_not_equal(cg_store_each(r, CG_DB_MATTER, ordered_cb, &c), 0);
  cg_store_reader_close(r);
  cg_store_close(s);
}

static void test_stat_and_meta(void **state) {
  fixture_t *f = *state;
  cg_store_t *s = open_store(f, 0);
  cg_store_writer_t *w;
  cg_store_reader_t *r;
  cg_store_stat_t st;
  cg_slice_t v;
  uint64_t gen;
  uint8_t le[8] = {0x2a, 0x01, 0, 0, 0, 0, 0, 0}; /* 298 */

  assert_int_equal(cg_store_write_begin(s, 0, &w), 0);
  assert_int_equal(cg_store_put(w, CG_DB_SIGNER, "s1", 2, "der1", 4), 0);
  assert_int_equal(cg_store_put(w, CG_DB_SIGNER, "s2", 2, "der2", 4), 0);
  assert_int_equal(cg_store_put(w, CG_DB_SIGNER, "s2", 2, "der2b", 5), 0); /* replaces */
  assert_int_equal(cg_store_put(w, CG_DB_VENUE, "v1", 2, "x", 1), 0);
  assert_int_equal(cg_store_put(w, CG_DB_META, "trust_gen", 9, le, 8), 0);
  put(w, "A", 1, NULL);
  put(w, "B", 1, NULL);
  put(w, "C", 2, NULL);
  assert_int_equal(cg_store_write_get(w, CG_DB_SIGNER, "s2", 2, &v), 0);
  assert_int_equal(v.len, 5);
  assert_int_equal(cg_store_write_commit(w), 0);

  stat_of(s, &st);
  assert_int_equal(st.entries[CG_DB_CERT], 3);
  assert_int_equal(st.entries[CG_DB_HOLDER], 3);
  assert_int_equal(st.entries[CG_DB_SIGNER], 2);
  assert_int_equal(st.entries[CG_DB_VENUE], 1);
  assert_int_equal(st.entries[CG_DB_MATTER], 0);
  assert_int_equal(st.entries[CG_DB_META], 4);
  assert_int_equal(st.trust_gen, 298);
  assert_true(st.map_used >= st.page_size && st.map_used <= st.map_size);

  assert_int_equal(cg_store_reader_open(s, &r), 0);
  assert_int_equal(cg_store_reader_begin(r), 0);
  assert_int_equal(cg_store_meta_u64(r, "trust_gen", &gen), 0);
  assert_int_equal(gen, 298);
  assert_int_equal(cg_store_get(r, CG_DB_SIGNER, "s2", 2, &v), 0);
  assert_int_equal(v.len, 5);
  assert_memory_equal(v.base, "der2b", 5);
  cg_store_reader_end(r);

  /* Deletes. */
  assert_int_equal(cg_store_write_begin(s, 0, &w), 0);
  assert_int_equal(cg_store_del(w, CG_DB_SIGNER, "s1", 2), 0);
  assert_int_equal(cg_store_del(w, CG_DB_SIGNER, "s1", 2), CG_ENOTFOUND);
  assert_int_equal(cg_store_write_commit(w), 0);
  stat_of(s, &st);
  assert_int_equal(st.entries[CG_DB_SIGNER], 1);
  assert_int_equal(cg_store_reader_begin(r), 0);
  assert_int_equal(cg_store_get(r, CG_DB_SIGNER, "s1", 2, &v), CG_ENOTFOUND);
  cg_store_reader_end(r);
  cg_store_reader_close(r);
  cg_store_close(s);
}

static void test_plain_put_refuses_index(void **state) {
  fixture_t *f = *state;
  cg_store_t *s = open_store(f, 0);
  cg_store_writer_t *w;
  cg_store_stat_t st;
  cg_slice_t v;

  assert_int_equal(cg_store_write_begin(s, 0, &w), 0);
  /* CERT and HOLDER change only through cg_store_cert_put. */
  assert_int_equal(cg_store_put(w, CG_DB_CERT, "A", 1, "x", 1), CG_EINTERNAL);
  assert_int_equal(cg_store_put(w, CG_DB_HOLDER, "A", 1, "x", 1), CG_EINTERNAL);
  assert_int_equal(cg_store_put(w, -1, "A", 1, "x", 1), CG_EINTERNAL);
  assert_int_equal(cg_store_put(w, CG_DB__COUNT, "A", 1, "x", 1), CG_EINTERNAL);
  assert_int_equal(cg_store_del(w, CG_DB_CERT, "A", 1), CG_EINTERNAL);
  assert_int_equal(cg_store_del(w, CG_DB_HOLDER, "A", 1), CG_EINTERNAL);
  assert_int_equal(cg_store_write_get(w, CG_DB__COUNT, "A", 1, &v), CG_EINTERNAL);
  assert_int_equal(cg_store_write_get(w, CG_DB_CERT, "A", 1, &v), CG_ENOTFOUND);
  assert_int_equal(cg_store_write_commit(w), 0);
  stat_of(s, &st);
  assert_int_equal(st.entries[CG_DB_CERT], 0);
  assert_int_equal(st.entries[CG_DB_HOLDER], 0);
  cg_store_close(s);
}

/* A revocation by the issuing platform changes the status and sets the
 * flag, nothing else: the body, the seal and the ETag stay, so the seal
 * still verifies while the record says it must not be served. */
static void test_cert_revoke(void **state) {
  fixture_t *f = *state;
  cg_store_t *s = open_store(f, 0);
  cg_store_writer_t *w;
  cg_store_reader_t *r;
  cg_record_t before, after;
  cg_buf_t b;
  char code[19];
  const char *id = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F";

  citizen(4, code);
  cg_buf_init(&b, 4096);
  make_record(&b, id, CG_HOLDER_CITIZEN, code, CG_CERT_VALID);
  assert_int_equal(cg_record_decode(b.base, b.len, &before), 0);
  assert_int_equal(cg_store_write_begin(s, 0, &w), 0);
  assert_int_equal(cg_store_cert_put(w, id, strlen(id), b.base, b.len, NULL), 0);
  assert_int_equal(cg_store_cert_revoke(w, id, strlen(id)), 0);
  assert_int_equal(cg_store_cert_revoke(w, id, strlen(id)), 0); /* again: nothing changes */
  assert_int_equal(cg_store_cert_revoke(w, "1.2.3", 5), CG_ENOTFOUND);
  assert_int_equal(cg_store_write_commit(w), 0);

  assert_int_equal(cg_store_reader_open(s, &r), 0);
  assert_int_equal(cg_store_reader_begin(r), 0);
  assert_int_equal(cg_store_cert_get(r, id, strlen(id), &after), 0);
  assert_int_equal(after.status, CG_CERT_REVOKED);
  assert_int_equal(after.flags, CG_RECORD_REVOKED_LATER);
  assert_true(after.etag == before.etag);
  assert_int_equal(after.body_len, before.body_len);
  assert_memory_equal(after.body, before.body, before.body_len);
  assert_int_equal(after.sig_len, before.sig_len);
  assert_memory_equal(after.sig, before.sig, before.sig_len);
  assert_int_equal(after.seal_state, before.seal_state);
  cg_store_reader_end(r);
  cg_store_reader_close(r);
  cg_buf_free(&b);
  cg_store_close(s);
}

/* ---- the audit holder index ------------------------------------------------ */

/* cg_store_index_add appends a key's values that sort after its last one
 * and files the rest with a search; whichever way, the index must hold
 * exactly the (key, value) pairs put, each once, in LMDB's order. A model
 * (a flag per pair) against the store, over several transactions (one
 * aborted), with values mostly rising as audit keys do but also old ones,
 * repeats, shorter values, a key over the cursor's 64 bytes and keys in
 * any order: each path of the append logic, and their mixing. */
#define IX_KEYS 6
#define IX_VALS 400

static size_t ix_key(int k, uint8_t out[100]) {
  size_t len = k == IX_KEYS - 1 ? 100 : 32; /* the last over 64 bytes: no cursor */
  memset(out, 'a' + k, len);
  return len;
}

/* Value v: 16 bytes, v big-endian first, or (every seventh) its first 9
 * bytes — a prefix, which sorts before the whole and after lesser values. */
static size_t ix_val(int v, uint8_t out[16]) {
  memset(out, 0x11, 16);
  out[0] = (uint8_t)(v >> 8);
  out[1] = (uint8_t)v;
  out[15] = 0x5a;
  return v % 7 == 3 ? 9 : 16;
}

struct ix_walk {
  const uint8_t (*has)[IX_VALS];
  int k, n, prev, bad;
};

static int ix_each(void *arg, cg_slice_t key, cg_slice_t val) {
  struct ix_walk *x = arg;
  uint8_t want[16];
  int v = -1;
  (void)key;
  for (int i = 0; i < IX_VALS && v < 0; i++)
    if (val.len == ix_val(i, want) && memcmp(val.base, want, val.len) == 0)
      v = i;
  /* Known, put, and in LMDB's order: by v. */
  if (v < 0 || !x->has[x->k][v] || v <= x->prev)
    x->bad++;
  x->prev = v;
  x->n++;
  return 0;
}

static void test_index_add(void **state) {
  fixture_t *f = *state;
  cg_store_opts_t o = {.path = f->path, .map_size = MAP_SIZE, .group_commit = 1};
  static uint8_t has[IX_KEYS][IX_VALS], tx_has[IX_KEYS][IX_VALS];
  cg_store_t *s = NULL;
  cg_store_writer_t *w;
  cg_store_reader_t *r;
  cg_why_t why = {{0}};
  uint8_t key[100], v[16];
  unsigned seed = 7;
  int next[IX_KEYS] = {0};

  assert_int_equal(cg_store_open(&s, &o, &why), 0);
  memset(has, 0, sizeof has);
  for (int t = 0; t < 8; t++) {
    memcpy(tx_has, has, sizeof has);
    assert_int_equal(cg_store_write_begin(s, 0, &w), 0);
    for (int i = 0; i < 300; i++) {
      int k, val;
      seed = seed * 1103515245u + 12345u;
      k = (int)((seed >> 16) % IX_KEYS);
      if (i % 50 < 40) { /* a run of one key, rising (a batch sorted by holder) */
        k = (t + i / 50) % IX_KEYS;
        val = next[k] < IX_VALS - 1 ? ++next[k] : IX_VALS - 1;
      } else if ((seed >> 8) % 3 == 0) { /* a value put before: a repeat */
        val = next[k];
      } else { /* anywhere, old ones too */
        val = (int)((seed >> 4) % IX_VALS);
      }
      assert_int_equal(cg_store_index_add(w, CG_DB_AUDIT_HOLDER, key, ix_key(k, key), v,
                                          ix_val(val, v)),
                       0);
      tx_has[k][val] = 1;
    }
    if (t == 5) {
      cg_store_write_abort(w); /* and next's positions stay: values come again */
    } else {
      assert_int_equal(cg_store_write_commit(w), 0);
      memcpy(has, tx_has, sizeof has);
    }
  }

  assert_int_equal(cg_store_reader_open(s, &r), 0);
  assert_int_equal(cg_store_reader_begin(r), 0);
  for (int k = 0; k < IX_KEYS; k++) {
    struct ix_walk x = {.has = has, .k = k, .prev = -1};
    int want = 0;
    for (int i = 0; i < IX_VALS; i++)
      want += has[k][i];
    assert_int_equal(cg_store_index_each(r, CG_DB_AUDIT_HOLDER, key, ix_key(k, key), ix_each, &x),
                     0);
    assert_int_equal(x.bad, 0);
    assert_int_equal(x.n, want);
    assert_true(want > 20);
  }
  cg_store_reader_end(r);
  cg_store_reader_close(r);
  cg_store_close(s);
}

static int ix_count(void *arg, cg_slice_t key, cg_slice_t val) {
  (void)key, (void)val;
  ++*(int *)arg;
  return 0;
}

/* What the index cursor remembers (a key's last value) must not outlive a
 * change made another way: a value too long for it, or a delete. */
static void test_index_add_stale(void **state) {
  fixture_t *f = *state;
  cg_store_t *s = open_store(f, 0);
  cg_store_writer_t *w;
  cg_store_reader_t *r;
  uint8_t key[32], v1[16], v2[16], big[100];
  int n = 0;

  memset(key, 'k', sizeof key);
  memset(v1, 1, sizeof v1);
  memset(v2, 2, sizeof v2);
  memset(big, 3, sizeof big); /* v1 < v2 < big */
  assert_int_equal(cg_store_write_begin(s, 0, &w), 0);
  assert_int_equal(cg_store_index_add(w, CG_DB_AUDIT_HOLDER, key, 32, v1, 16), 0);
  assert_int_equal(cg_store_index_add(w, CG_DB_AUDIT_HOLDER, key, 32, big, 100), 0);
  assert_int_equal(cg_store_index_add(w, CG_DB_AUDIT_HOLDER, key, 32, v2, 16), 0);
  assert_int_equal(cg_store_write_commit(w), 0);
  assert_int_equal(cg_store_reader_open(s, &r), 0);
  assert_int_equal(cg_store_reader_begin(r), 0);
  assert_int_equal(cg_store_index_each(r, CG_DB_AUDIT_HOLDER, key, 32, ix_count, &n), 0);
  assert_int_equal(n, 3);
  cg_store_reader_end(r);

  /* Another key, whose values the cursor can remember: v2 filed, the key
   * deleted, v2 filed again must go in, not pass for "filed already". */
  key[0] = 'j';
  assert_int_equal(cg_store_write_begin(s, 0, &w), 0);
  assert_int_equal(cg_store_index_add(w, CG_DB_AUDIT_HOLDER, key, 32, v2, 16), 0);
  assert_int_equal(cg_store_del(w, CG_DB_AUDIT_HOLDER, key, 32), 0);
  assert_int_equal(cg_store_index_add(w, CG_DB_AUDIT_HOLDER, key, 32, v2, 16), 0);
  assert_int_equal(cg_store_write_commit(w), 0);
  n = 0;
  assert_int_equal(cg_store_reader_begin(r), 0);
  assert_int_equal(cg_store_index_each(r, CG_DB_AUDIT_HOLDER, key, 32, ix_count, &n), 0);
  assert_int_equal(n, 1);
  cg_store_reader_end(r);
  cg_store_reader_close(r);
  assert_int_equal(cg_store_sync(s), 0);
  cg_store_close(s);
}

struct log_walk {
  uint32_t prev;
  int n, bad;
};

static int log_each(void *arg, cg_slice_t key, cg_slice_t val) {
  struct log_walk *x = arg;
  const uint8_t *k = (const uint8_t *)key.base;
  uint32_t v = (uint32_t)k[12] << 24 | (uint32_t)k[13] << 16 | (uint32_t)k[14] << 8 | k[15];
  /* In key order, each once, its value the one put with it. */
  if (key.len != 16 || val.len != 200 || (x->n > 0 && v <= x->prev) ||
      ((const uint8_t *)val.base)[0] != (uint8_t)v)
    x->bad++;
  x->prev = v;
  x->n++;
  return 0;
}

/* cg_store_put_last appends through a cursor kept at the log's end; a key
 * that sorts before the last one (another process's) still goes in, in
 * order, and later appends find the end again. Enough records for the log
 * to grow several levels and split pages, over two transactions. */
static void test_put_last(void **state) {
  fixture_t *f = *state;
  cg_store_t *s = open_store(f, 0);
  cg_store_writer_t *w;
  cg_store_reader_t *r;
  struct log_walk x = {0};
  uint8_t key[16] = {0}, rec[200];
  int n = 0;

  for (int t = 0; t < 2; t++) {
    assert_int_equal(cg_store_write_begin(s, 0, &w), 0);
    for (uint32_t i = 0; i < 6000; i++) {
      /* Even numbers rising; now and then an odd one below the last. */
      uint32_t v = (uint32_t)t * 20000 + 2 * i + 2;
      if (i % 97 == 50)
        v -= 3 + 2 * (i % 5);
      key[12] = (uint8_t)(v >> 24), key[13] = (uint8_t)(v >> 16);
      key[14] = (uint8_t)(v >> 8), key[15] = (uint8_t)v;
      memset(rec, (uint8_t)v, sizeof rec);
      assert_int_equal(cg_store_put_last(w, CG_DB_AUDIT, key, 16, rec, sizeof rec), 0);
      n++;
    }
    assert_int_equal(cg_store_write_commit(w), 0);
  }
  /* A key filed already (out of order, so past the append): refused, and
   * the record under it stays as it was (log_each checks every byte). */
  assert_int_equal(cg_store_write_begin(s, 0, &w), 0);
  memset(key, 0, sizeof key);
  key[15] = 2;
  memset(rec, 0xee, sizeof rec);
  assert_int_equal(cg_store_put_last(w, CG_DB_AUDIT, key, 16, rec, sizeof rec), CG_EEXIST);
  assert_int_equal(cg_store_write_commit(w), 0);
  assert_int_equal(cg_store_reader_open(s, &r), 0);
  assert_int_equal(cg_store_reader_begin(r), 0);
  assert_int_equal(cg_store_each(r, CG_DB_AUDIT, log_each, &x), 0);
  assert_int_equal(x.bad, 0);
  assert_int_equal(x.n, n);
  cg_store_reader_end(r);
  cg_store_reader_close(r);
  cg_store_close(s);
}

/* group_commit leaves the last commit's meta page to the next sync:
 * cg_store_sync_due must sync once a commit that wrote is old enough, and
 * only then (a commit that changed nothing, or an abort, leaves nothing to
 * sync). */
static void test_group_commit_sync(void **state) {
  fixture_t *f = *state;
  cg_store_opts_t o = {.path = f->path, .map_size = MAP_SIZE, .group_commit = 1};
  cg_store_t *s = NULL;
  cg_store_writer_t *w;
  cg_why_t why = {{0}};

  assert_int_equal(cg_store_open(&s, &o, &why), 0);
  assert_int_equal(cg_store_sync_due(s, 0), 0); /* opening synced what it wrote */
  assert_int_equal(cg_store_write_begin(s, 0, &w), 0);
  assert_int_equal(cg_store_put(w, CG_DB_META, "k", 1, "v", 1), 0);
  assert_int_equal(cg_store_write_commit(w), 0);
  assert_int_equal(cg_store_sync_due(s, 60000), 0); /* not yet a minute old */
  assert_int_equal(cg_store_sync_due(s, 0), 1);
  assert_int_equal(cg_store_sync_due(s, 0), 0); /* synced: nothing waits */
  assert_int_equal(cg_store_write_begin(s, 0, &w), 0);
  assert_int_equal(cg_store_write_commit(w), 0); /* changed nothing */
  assert_int_equal(cg_store_sync_due(s, 0), 0);
  assert_int_equal(cg_store_write_begin(s, 0, &w), 0);
  assert_int_equal(cg_store_put(w, CG_DB_META, "k", 1, "w", 1), 0);
  cg_store_write_abort(w);
  assert_int_equal(cg_store_sync_due(s, 0), 0);
  assert_int_equal(cg_store_write_begin(s, 0, &w), 0);
  assert_int_equal(cg_store_put(w, CG_DB_META, "k", 1, "x", 1), 0);
  assert_int_equal(cg_store_write_commit(w), 0);
  assert_int_equal(cg_store_sync(s), 0);
  assert_int_equal(cg_store_sync_due(s, 0), 0);
  cg_store_close(s);
}

static void test_db_names(void **state) {
  (void)state;
  assert_string_equal(cg_store_db_name(CG_DB_CERT), "cert");
  assert_string_equal(cg_store_db_name(CG_DB_HOLDER), "holder");
  assert_string_equal(cg_store_db_name(CG_DB_SIGNER), "signer");
  assert_string_equal(cg_store_db_name(CG_DB_VENUE), "venue");
  assert_string_equal(cg_store_db_name(CG_DB_MATTER), "matter");
  assert_string_equal(cg_store_db_name(CG_DB_META), "meta");
  assert_string_equal(cg_store_db_name(CG_DB__COUNT), "?");
  assert_string_equal(cg_store_db_name(-1), "?");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_open_fresh),
      T(test_schema_mismatch),
      T(test_open_failures),
      T(test_readonly),
      T(test_cert_put_get),
      T(test_replace_moves_holder),
      T(test_replace_moves_holder_bulk),
      T(test_abort),
      T(test_bulk),
      T(test_bulk_abort),
      T(test_reader_reuse),
      T(test_each_in_key_order),
      T(test_stat_and_meta),
      T(test_plain_put_refuses_index),
      T(test_cert_revoke),
      T(test_index_add),
      T(test_index_add_stale),
      T(test_put_last),
      T(test_group_commit_sync),
      cmocka_unit_test(test_db_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
