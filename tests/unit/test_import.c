/* test_import.c — unit tests of core/import.c.
 *
 * JSON Lines files are generated here: valid identifiers (MOD 37,36 check
 * computed by core/ident), citizen holders with computed check characters,
 * a fixed dummy seal. The promises checked: every line stored and indexed
 * by holder, or — on the first bad line — nothing, with that line's number,
 * however many chunks and parser threads the input was cut into.
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

#include "core/buf.h"
#include "core/cert.h"
#include "core/ident.h"
#include "core/import.h"
#include "core/record.h"
#include "core/store.h"

#define TYPE "11100000000013338W032"
#define ISSUER "11220000013544541J"
#define SEAL                                                                                      \
  "{\"algorithm\":\"ES256\",\"signature\":\"AQQHCg0QExYZHB8iJSgrLjE0Nzo9QENGSUxPUlVYW15hZGdqbXBz" \
  "dnl8f4KFiIuOkZSXmp2go6aprK+ytbi7vsHEx8rN0A==\",\"signer\":"                                    \
  "\"8684db073c905e23395a246d9101b38f83a75f897d32ec78208738a26418b95b\"}"
#define NHOLDERS 7
#define MAP_SIZE (1ULL << 30)

/* ---- generated certificates ----------------------------------------------- */

/* The identifier of serial n: 1.2.156.3005.2.TYPE.ISSUER.<serial>.001.<check>. */
static void ident_of(int n, char out[CG_IDENT_MAX + 1]) {
  char serial[16], joined[80];
  snprintf(serial, sizeof serial, "24%07d", n);
  snprintf(joined, sizeof joined, "%s%s%s001", TYPE, ISSUER, serial);
  char check = cg_ident_mod37_36(joined, strlen(joined));
  assert_true(check != 0);
  snprintf(out, CG_IDENT_MAX + 1, CG_IDENT_ROOT "%s.%s.%s.001.%c", TYPE, ISSUER, serial, check);
}

/* Citizen ID of holder h: 44030019900101 + 3-digit sequence + check. */
static void holder_of(int h, char out[19]) {
  snprintf(out, 19, "44030019900101%03d", h % 1000);
  out[17] = cg_ident_citizen_check_char(out);
  out[18] = '\0';
}

/* Appends one certificate line (no newline) for serial n and holder h. */
static void add_line(cg_buf_t *b, int n, int h, const char *status) {
  char id[CG_IDENT_MAX + 1], code[19];
  ident_of(n, id);
  holder_of(h, code);
  assert_int_equal(
      cg_buf_printf(b,
                    "{\"certificateIdentifier\":\"%s\",\"certificateName\":\"居住证\","
                    "\"certificateTypeCode\":\"" TYPE "\",\"certificateNumber\":\"粤%06d\","
                    "\"certificateHolderName\":\"持证人%d\",\"certificateHolderCode\":\"%s\","
                    "\"certificateHolderTypeCode\":\"111\","
                    "\"certificateIssuingAuthorityName\":\"深圳市公安局\","
                    "\"certificateIssuingAuthorityCode\":\"" ISSUER "\","
                    "\"certificateIssuedDate\":\"20240501\",\"certificateEffectiveDate\":\"20240502\","
                    "\"certificateExpiringDate\":\"20290501\",\"certificateAreaCode\":\"440300\","
                    "\"status\":\"%s\",\"data\":{\"serial\":%d,\"note\":\"第%d号\"},\"seal\":" SEAL
                    "}",
                    id, n, h, code, status, n, n),
      0);
}

/* What a store should hold: serial -> holder (-1: absent) and status. */
typedef struct model {
  int n;
  int *holder;
  const char **status;
} model_t;

static model_t *model_new(int n) {
  model_t *m = calloc(1, sizeof *m);
  assert_non_null(m);
  m->n = n;
  m->holder = malloc(sizeof *m->holder * (size_t)n);
  m->status = calloc((size_t)n, sizeof *m->status);
  assert_non_null(m->holder);
  assert_non_null(m->status);
  for (int i = 0; i < n; i++)
    m->holder[i] = -1;
  return m;
}

static void model_free(model_t *m) {
  free(m->holder);
  free(m->status);
  free(m);
}

/* add_line, and note it in m. */
static void line(cg_buf_t *b, model_t *m, int n, int h, const char *status) {
  add_line(b, n, h, status);
  m->holder[n] = h;
  m->status[n] = status;
}

/* ---- temp dirs ------------------------------------------------------------ */

typedef struct fixture {
  char dir[512];
  char path[600]; /* the store */
  cg_store_t *store;
} fixture_t;

static cg_store_t *open_at(const char *path) {
  cg_store_opts_t o = {.path = path, .map_size = MAP_SIZE};
  cg_store_t *s = NULL;
  cg_why_t why = {{0}};
  if (cg_store_open(&s, &o, &why) != 0)
    fail_msg("cg_store_open %s: %s", path, why.text);
  return s;
}

static int setup(void **state) {
  fixture_t *f = calloc(1, sizeof *f);

  if (f == NULL || cg_test_mkdtemp("test_import", f->dir, sizeof f->dir) != 0)
    return -1;
  snprintf(f->path, sizeof f->path, "%s/data", f->dir);
  f->store = open_at(f->path);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture_t *f = *state;
  int rc;
  cg_store_close(f->store);
  rc = cg_test_rmtree(f->dir);
  free(f);
  return rc;
}

/* Writes b to dir/name and returns the path (static storage). */
static const char *write_file(const fixture_t *f, const char *name, const cg_buf_t *b) {
  static char path[700];
  FILE *fp;
  snprintf(path, sizeof path, "%s/%s", f->dir, name);
  fp = fopen(path, "wb");
  assert_non_null(fp);
  if (b->len)
    assert_int_equal(fwrite(b->base, 1, b->len, fp), b->len);
  assert_int_equal(fclose(fp), 0);
  return path;
}

/* Imports path with that many parser threads. A pipeline that loses a
 * chunk hangs rather than fails, so an alarm bounds each import. */
static int import(cg_store_t *s, const char *path, int threads, cg_import_result_t *res) {
  cg_import_opts_t o = {.threads = threads};
  int err;
  memset(res, 0xee, sizeof *res);
  alarm(120);
  err = cg_import_file(s, path, &o, res);
  alarm(0);
  return err;
}

/* ---- checking a store against a model ------------------------------------- */

typedef struct list {
  char (*ids)[CG_IDENT_MAX + 1];
  size_t n, cap;
} list_t;

static int list_cb(void *arg, cg_slice_t key, cg_slice_t val) {
  list_t *l = arg;
  (void)key;
  assert_true(l->n < l->cap);
  assert_true(val.len <= CG_IDENT_MAX);
  memcpy(l->ids[l->n], val.base, val.len);
  l->ids[l->n][val.len] = '\0';
  l->n++;
  return 0;
}

static int cmp_id(const void *a, const void *b) { return strcmp(a, b); }

/* The store holds exactly m: every identifier with its status, holders
 * listing exactly their identifiers, nothing else. */
static void check_store(cg_store_t *s, const model_t *m) {
  cg_store_reader_t *r;
  cg_store_stat_t st;
  size_t present = 0;
  list_t got = {0}, want = {0};

  for (int i = 0; i < m->n; i++)
    present += m->holder[i] >= 0;
  assert_int_equal(cg_store_stat(s, &st), 0);
  assert_int_equal(st.entries[CG_DB_CERT], present);
  assert_int_equal(st.entries[CG_DB_HOLDER], present);

  assert_int_equal(cg_store_reader_open(s, &r), 0);
  assert_int_equal(cg_store_reader_begin(r), 0);
  for (int i = 0; i < m->n; i++) {
    char id[CG_IDENT_MAX + 1];
    cg_record_t rec;
    ident_of(i, id);
    int err = cg_store_cert_get(r, id, strlen(id), &rec);
    if (m->holder[i] < 0) {
      if (err != CG_ENOTFOUND)
        fail_msg("serial %d is in the store and should not be (%d)", i, err);
      continue;
    }
    if (err != 0)
      fail_msg("serial %d: %d", i, err);
    assert_int_equal(rec.status, cg_cert_status_parse(m->status[i], strlen(m->status[i])));
    char code[19];
    uint8_t key[CG_HOLDER_KEY_LEN];
    holder_of(m->holder[i], code);
    cg_record_holder_key(CG_HOLDER_CITIZEN, code, 18, key);
    assert_memory_equal(rec.holder_key, key, CG_HOLDER_KEY_LEN);
  }

  got.cap = want.cap = present + 1;
  got.ids = malloc(got.cap * sizeof *got.ids);
  want.ids = malloc(want.cap * sizeof *want.ids);
  assert_non_null(got.ids);
  assert_non_null(want.ids);
  for (int h = 0; h < NHOLDERS + 3; h++) {
    char code[19];
    uint8_t key[CG_HOLDER_KEY_LEN];
    got.n = want.n = 0;
    for (int i = 0; i < m->n; i++)
      if (m->holder[i] == h)
        ident_of(i, want.ids[want.n++]);
    qsort(want.ids, want.n, sizeof *want.ids, cmp_id);
    holder_of(h, code);
    cg_record_holder_key(CG_HOLDER_CITIZEN, code, 18, key);
    assert_int_equal(cg_store_holder_each(r, key, list_cb, &got), 0);
    if (got.n != want.n)
      fail_msg("holder %d lists %zu certificates, not %zu", h, got.n, want.n);
    for (size_t i = 0; i < got.n; i++)
      assert_string_equal(got.ids[i], want.ids[i]);
  }
  cg_store_reader_end(r);
  cg_store_reader_close(r);
  free(got.ids);
  free(want.ids);
}

/* n lines, holder i % NHOLDERS, in the order given by order (NULL: 0..n-1). */
static void gen(cg_buf_t *b, model_t *m, int n, const int *order) {
  for (int k = 0; k < n; k++) {
    int i = order ? order[k] : k;
    line(b, m, i, i % NHOLDERS, "valid");
    assert_int_equal(cg_buf_putc(b, '\n'), 0);
  }
}

static int *shuffled(int n, unsigned seed) {
  int *o = malloc(sizeof *o * (size_t)n);
  assert_non_null(o);
  for (int i = 0; i < n; i++)
    o[i] = i;
  for (int i = n - 1; i > 0; i--) {
    seed = seed * 1103515245u + 12345u;
    int j = (int)((seed >> 8) % (unsigned)(i + 1)), t = o[i];
    o[i] = o[j];
    o[j] = t;
  }
  return o;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_import_basic(void **state) {
  fixture_t *f = *state;
  model_t *m = model_new(50);
  cg_import_result_t res;
  cg_buf_t b;

  cg_buf_init(&b, 1 << 24);
  gen(&b, m, 50, NULL);
  assert_int_equal(import(f->store, write_file(f, "a.jsonl", &b), 2, &res), 0);
  assert_int_equal(res.records, 50);
  assert_int_equal(res.lines, 50);
  assert_int_equal(res.replaced, 0);
  assert_int_equal(res.bad_line, 0);
  check_store(f->store, m);

  /* The stored record: the canonical body of the line, its seal, the
   * header from its fields. */
  cg_buf_t line1, body;
  cg_cert_meta_t meta;
  cg_seal_t seal;
  cg_why_t why;
  cg_buf_init(&line1, 1 << 16);
  cg_buf_init(&body, CG_CERT_BODY_MAX);
  add_line(&line1, 7, 7 % NHOLDERS, "valid");
  assert_int_equal(cg_cert_parse(line1.base, line1.len, &body, &meta, &seal, &why), 0);

  cg_store_reader_t *r;
  cg_record_t rec;
  time_t now = time(NULL);
  assert_int_equal(cg_store_reader_open(f->store, &r), 0);
  assert_int_equal(cg_store_reader_begin(r), 0);
  assert_int_equal(cg_store_cert_get(r, meta.identifier, strlen(meta.identifier), &rec), 0);
  assert_int_equal(rec.body_len, body.len);
  assert_memory_equal(rec.body, body.base, body.len);
  assert_int_equal(rec.seal_alg, CG_SEAL_ES256);
  assert_int_equal(rec.sig_len, seal.sig_len);
  assert_memory_equal(rec.sig, seal.sig, seal.sig_len);
  assert_memory_equal(rec.signer, seal.signer, CG_SEAL_FPR_LEN);
  assert_int_equal(rec.seal_state, CG_SEAL_UNCHECKED);
  assert_int_equal(rec.source, CG_SOURCE_IMPORT);
  assert_int_equal(rec.holder_type, CG_HOLDER_CITIZEN);
  assert_int_equal(rec.issued, 20240501);
  assert_int_equal(rec.effective, 20240502);
  assert_int_equal(rec.expiring, 20290501);
  assert_in_range(rec.fetched_at, (uint64_t)now - 60, (uint64_t)now + 60);
  cg_store_reader_end(r);
  cg_store_reader_close(r);
  cg_buf_free(&line1);
  cg_buf_free(&body);
  cg_buf_free(&b);
  model_free(m);
}

static void test_blank_lines_and_crlf(void **state) {
  fixture_t *f = *state;
  model_t *m = model_new(10);
  cg_import_result_t res;
  cg_buf_t b;

  /* Lines 1, 2 blank; CRLF endings; blank CRLF lines; no final newline. */
  cg_buf_init(&b, 1 << 20);
  cg_buf_puts(&b, "\n\r\n");
  for (int i = 0; i < 10; i++) {
    line(&b, m, i, i % NHOLDERS, i % 3 ? "valid" : "suspended");
    if (i < 9)
      cg_buf_puts(&b, i % 2 ? "\r\n" : "\n\r\n\n");
  }
  assert_int_equal(import(f->store, write_file(f, "crlf.jsonl", &b), 3, &res), 0);
  assert_int_equal(res.records, 10);
  assert_int_equal(res.lines, 2 + 10 + 5 * 2);
  assert_int_equal(res.bad_line, 0);
  check_store(f->store, m);
  cg_buf_free(&b);
  model_free(m);
}

/* Imports a file of nlines whose line bad_at (1-based) is spoilt by spoil(),
 * with valid lines before and after it (the first three would replace
 * certificates stored before), and checks the error and that the store did
 * not change. */
static void bad_line_case(fixture_t *f, int threads, int nlines, int bad_at,
                          void (*spoil)(cg_buf_t *, int), int want_err) {
  model_t *m = model_new(nlines + 20);
  cg_import_result_t res;
  cg_store_stat_t before, after;
  cg_buf_t b;

  /* What the store holds before: serials nlines..nlines+19. */
  cg_buf_init(&b, (size_t)1 << 30);
  for (int i = nlines; i < nlines + 20; i++) {
    line(&b, m, i, i % NHOLDERS, "valid");
    cg_buf_putc(&b, '\n');
  }
  assert_int_equal(import(f->store, write_file(f, "base.jsonl", &b), threads, &res), 0);
  assert_int_equal(cg_store_stat(f->store, &before), 0);

  cg_buf_reset(&b);
  for (int i = 0; i < nlines; i++) {
    if (i + 1 == bad_at)
      spoil(&b, i);
    else if (i < 3) /* would replace one from before */
      add_line(&b, nlines + i, 0, "revoked");
    else
      add_line(&b, i, i % NHOLDERS, "valid");
    cg_buf_putc(&b, '\n');
  }
  int err = import(f->store, write_file(f, "bad.jsonl", &b), threads, &res);
  if (err != want_err || res.bad_line != (uint64_t)bad_at)
    fail_msg("threads %d: error %d at line %llu (%s); want %d at line %d", threads, err,
             (unsigned long long)res.bad_line, res.why.text, want_err, bad_at);
  assert_true(res.why.text[0] != '\0');
  assert_int_equal(res.records, 0);
  assert_int_equal(res.replaced, 0);

  /* Nothing of the file is stored, nothing before it is changed. */
  assert_int_equal(cg_store_stat(f->store, &after), 0);
  assert_memory_equal(after.entries, before.entries, sizeof before.entries);
  check_store(f->store, m);
  cg_buf_free(&b);
  model_free(m);
}

/* A wrong check character in the identifier. */
static void spoil_ident(cg_buf_t *b, int n) {
  size_t at = b->len;
  add_line(b, n, 0, "valid");
  char *p = memmem(b->base + at, b->len - at, ".001.", 5);
  assert_non_null(p);
  p[5] = p[5] == 'A' ? 'B' : 'A';
}

/* Not JSON at all. */
static void spoil_json(cg_buf_t *b, int n) {
  (void)n;
  cg_buf_puts(b, "{\"certificateIdentifier\": ");
}

/* A wrong check character in the holder code. */
static void spoil_holder(cg_buf_t *b, int n) {
  size_t at = b->len;
  char code[19];
  add_line(b, n, 1, "valid");
  holder_of(1, code);
  char *p = memmem(b->base + at, b->len - at, code, 18);
  assert_non_null(p);
  p[17] = p[17] == '0' ? '1' : '0';
}

static void test_bad_line_7(void **state) {
  bad_line_case(*state, 1, 12, 7, spoil_ident, CG_EIDENT);
}

static void test_bad_line_7_threads(void **state) {
  bad_line_case(*state, 4, 12, 7, spoil_json, CG_EBADREQ);
}

static void test_bad_line_first_and_last(void **state) {
  fixture_t *f = *state;
  cg_import_result_t res;
  cg_buf_t b;

  cg_buf_init(&b, 1 << 20);
  cg_buf_puts(&b, "not json\n");
  add_line(&b, 1, 1, "valid");
  assert_int_equal(import(f->store, write_file(f, "first.jsonl", &b), 2, &res), CG_EBADREQ);
  assert_int_equal(res.bad_line, 1);

  /* The last line, without a newline; a duplicate key; a line too long. */
  cg_buf_reset(&b);
  add_line(&b, 1, 1, "valid");
  cg_buf_puts(&b, "\n\n");
  add_line(&b, 2, 1, "valid");
  b.len--; /* drop the closing brace */
  cg_buf_puts(&b, ",\"status\":\"valid\"}");
  assert_int_equal(import(f->store, write_file(f, "last.jsonl", &b), 2, &res), CG_EBADREQ);
  assert_int_equal(res.bad_line, 3);
  assert_non_null(strstr(res.why.text, "status"));

  cg_buf_reset(&b);
  add_line(&b, 1, 1, "valid");
  cg_buf_puts(&b, "\n");
  cg_buf_putc(&b, '{');
  for (int i = 0; i < CG_CERT_LINE_MAX; i++)
    cg_buf_putc(&b, ' ');
  cg_buf_puts(&b, "}\n");
  assert_int_equal(import(f->store, write_file(f, "long.jsonl", &b), 2, &res), CG_ETOOBIG);
  assert_int_equal(res.bad_line, 2);

  cg_store_stat_t st;
  assert_int_equal(cg_store_stat(f->store, &st), 0);
  assert_int_equal(st.entries[CG_DB_CERT], 0);
  cg_buf_free(&b);
}

static void test_replace(void **state) {
  fixture_t *f = *state;
  model_t *m = model_new(40);
  cg_import_result_t res;
  cg_buf_t b;

  cg_buf_init(&b, 1 << 24);
  gen(&b, m, 20, NULL);
  assert_int_equal(import(f->store, write_file(f, "one.jsonl", &b), 2, &res), 0);
  assert_int_equal(res.records, 20);
  check_store(f->store, m);

  /* Ten replaced (five of them by another holder), five new, backwards. */
  cg_buf_reset(&b);
  for (int i = 24; i >= 10; i--) {
    int h = i < 15 ? NHOLDERS + 1 : i % NHOLDERS;
    line(&b, m, i, h, i % 2 ? "revoked" : "suspended");
    cg_buf_putc(&b, '\n');
  }
  assert_int_equal(import(f->store, write_file(f, "two.jsonl", &b), 2, &res), 0);
  assert_int_equal(res.records, 15);
  assert_int_equal(res.replaced, 10);
  check_store(f->store, m);
  cg_buf_free(&b);
  model_free(m);
}

static void test_unsorted_and_repeated(void **state) {
  fixture_t *f = *state;
  model_t *m = model_new(500);
  int *order = shuffled(500, 7);
  cg_import_result_t res;
  cg_buf_t b;

  cg_buf_init(&b, 1 << 24);
  gen(&b, m, 500, order);
  /* The same certificate again further down, with another holder. */
  line(&b, m, order[0], NHOLDERS + 2, "revoked");
  cg_buf_putc(&b, '\n');
  assert_int_equal(import(f->store, write_file(f, "shuffled.jsonl", &b), 3, &res), 0);
  assert_int_equal(res.records, 501);
  assert_int_equal(res.replaced, 1);
  check_store(f->store, m);
  free(order);
  cg_buf_free(&b);
  model_free(m);
}

typedef struct dump {
  int db;
  cg_buf_t b;
} dump_t;

/* Appends key and value, with the fetched_at bytes of a record zeroed:
 * that is the only field two imports may disagree on. */
static int dump_cb(void *arg, cg_slice_t key, cg_slice_t val) {
  dump_t *d = arg;
  size_t at;
  assert_int_equal(cg_buf_printf(&d->b, "%zu:", key.len), 0);
  assert_int_equal(cg_buf_append(&d->b, key.base, key.len), 0);
  assert_int_equal(cg_buf_printf(&d->b, "%zu:", val.len), 0);
  at = d->b.len;
  assert_int_equal(cg_buf_append(&d->b, val.base, val.len), 0);
  if (d->db == CG_DB_CERT)
    memset(d->b.base + at + 24, 0, 8);
  return 0;
}

static void dump_store(cg_store_t *s, int db, dump_t *d) {
  cg_store_reader_t *r;
  d->db = db;
  cg_buf_init(&d->b, (size_t)1 << 30);
  assert_int_equal(cg_store_reader_open(s, &r), 0);
  assert_int_equal(cg_store_reader_begin(r), 0);
  assert_int_equal(cg_store_each(r, db, dump_cb, d), 0);
  cg_store_reader_end(r);
  cg_store_reader_close(r);
}

static void test_threads_agree(void **state) {
  fixture_t *f = *state;
  model_t *m = model_new(3000);
  int *order = shuffled(3000, 11);
  cg_import_result_t res;
  cg_buf_t b;
  char path2[700];
  cg_store_t *s2;
  const char *file;

  /* About 2 MB: several chunks. */
  cg_buf_init(&b, 1 << 26);
  gen(&b, m, 3000, order);
  file = write_file(f, "big.jsonl", &b);
  assert_int_equal(import(f->store, file, 1, &res), 0);
  assert_int_equal(res.records, 3000);

  snprintf(path2, sizeof path2, "%s/data4", f->dir);
  s2 = open_at(path2);
  assert_int_equal(import(s2, file, 4, &res), 0);
  assert_int_equal(res.records, 3000);
  assert_int_equal(res.lines, 3000);
  check_store(f->store, m);
  check_store(s2, m);

  for (int db = CG_DB_CERT; db <= CG_DB_HOLDER; db++) {
    dump_t d1, d4;
    dump_store(f->store, db, &d1);
    dump_store(s2, db, &d4);
    assert_int_equal(d1.b.len, d4.b.len);
    assert_memory_equal(d1.b.base, d4.b.base, d1.b.len);
    cg_buf_free(&d1.b);
    cg_buf_free(&d4.b);
  }
  cg_store_close(s2);
  free(order);
  cg_buf_free(&b);
  model_free(m);
}

static void test_large_file(void **state) {
  fixture_t *f = *state;
  model_t *m = model_new(20000);
  cg_import_result_t res;
  cg_buf_t b;

  /* About 15 MB: more chunks than the ring has slots. */
  cg_buf_init(&b, 1 << 26);
  gen(&b, m, 20000, NULL);
  assert_true(b.len > 40 * 256 * 1024);
  assert_int_equal(import(f->store, write_file(f, "large.jsonl", &b), 4, &res), 0);
  assert_int_equal(res.records, 20000);
  assert_int_equal(res.lines, 20000);
  check_store(f->store, m);
  cg_buf_free(&b);
  model_free(m);
}

static void test_bad_line_deep(void **state) {
  bad_line_case(*state, 4, 20000, 15001, spoil_holder, CG_EHOLDER);
}

static void test_bad_line_deep_one_thread(void **state) {
  bad_line_case(*state, 1, 20000, 15001, spoil_json, CG_EBADREQ);
}

static void test_bad_line_at_chunk_edges(void **state) {
  fixture_t *f = *state;
  cg_buf_t b;
  size_t *starts = malloc(sizeof *starts * 2001);

  /* Lines starting right at and right after the first chunk boundary. */
  assert_non_null(starts);
  cg_buf_init(&b, 1 << 24);
  for (int i = 0; i < 2000; i++) {
    starts[i] = b.len;
    add_line(&b, i, i % NHOLDERS, "valid");
    cg_buf_putc(&b, '\n');
  }
  int edge = 0;
  while (starts[edge + 1] <= 256 * 1024)
    edge++;
  for (int bad = edge - 1; bad <= edge + 2; bad++) {
    cg_import_result_t res;
    char keep = b.base[starts[bad]];
    b.base[starts[bad]] = '[';
    int err = import(f->store, write_file(f, "edge.jsonl", &b), 3, &res);
    b.base[starts[bad]] = keep;
    assert_int_equal(err, CG_EBADREQ);
    assert_int_equal(res.bad_line, (uint64_t)bad + 1);
  }
  free(starts);
  cg_buf_free(&b);
}

static void test_empty(void **state) {
  fixture_t *f = *state;
  cg_import_result_t res;
  cg_buf_t b;

  cg_buf_init(&b, 1024);
  assert_int_equal(import(f->store, write_file(f, "empty.jsonl", &b), 2, &res), 0);
  assert_int_equal(res.records, 0);
  assert_int_equal(res.lines, 0);
  assert_int_equal(res.bad_line, 0);

  cg_buf_puts(&b, "\n\r\n\n");
  assert_int_equal(import(f->store, write_file(f, "blank.jsonl", &b), 0, &res), 0);
  assert_int_equal(res.records, 0);
  assert_int_equal(res.lines, 3);

  cg_store_stat_t st;
  assert_int_equal(cg_store_stat(f->store, &st), 0);
  assert_int_equal(st.entries[CG_DB_CERT], 0);
  cg_buf_free(&b);
}

static void test_missing_file(void **state) {
  fixture_t *f = *state;
  cg_import_result_t res;
  char path[700];

  snprintf(path, sizeof path, "%s/no-such-file.jsonl", f->dir);
  assert_int_equal(import(f->store, path, 2, &res), CG_EIO);
  assert_non_null(strstr(res.why.text, "no-such-file.jsonl"));
  assert_int_equal(res.records, 0);
  assert_int_equal(res.bad_line, 0);
  /* A directory is not a file of lines. */
  assert_int_equal(import(f->store, f->dir, 2, &res), CG_EIO);
  assert_true(res.why.text[0] != '\0');
}

typedef struct progress {
  uint64_t calls, last_done, total, records;
  int backwards;
} progress_t;

static void progress_cb(void *arg, uint64_t done, uint64_t total, uint64_t records) {
  progress_t *p = arg;
  if (done < p->last_done || records < p->records)
    p->backwards = 1;
  p->calls++;
  p->last_done = done;
  p->total = total;
  p->records = records;
}

static void test_progress_and_source(void **state) {
  fixture_t *f = *state;
  model_t *m = model_new(1200);
  progress_t p = {0};
  cg_import_opts_t o = {.threads = 2, .source = CG_SOURCE_CITY, .progress = progress_cb,
                        .progress_arg = &p};
  cg_import_result_t res;
  cg_buf_t b;

  cg_buf_init(&b, 1 << 24);
  gen(&b, m, 1200, NULL); /* about 3 chunks */
  assert_int_equal(cg_import_buffer(f->store, b.base, b.len, &o, &res), 0);
  assert_int_equal(res.records, 1200);
  assert_true(p.calls >= 2);
  assert_false(p.backwards);
  assert_int_equal(p.total, b.len);
  assert_int_equal(p.last_done, b.len);
  assert_int_equal(p.records, 1200);
  check_store(f->store, m);

  cg_store_reader_t *r;
  cg_record_t rec;
  char id[CG_IDENT_MAX + 1];
  ident_of(5, id);
  assert_int_equal(cg_store_reader_open(f->store, &r), 0);
  assert_int_equal(cg_store_reader_begin(r), 0);
  assert_int_equal(cg_store_cert_get(r, id, strlen(id), &rec), 0);
  assert_int_equal(rec.source, CG_SOURCE_CITY);
  cg_store_reader_end(r);
  cg_store_reader_close(r);
  cg_buf_free(&b);
  model_free(m);
}

static void slow_cb(void *arg, uint64_t done, uint64_t total, uint64_t records) {
  (void)done, (void)total;
  *(uint64_t *)arg = records;
  usleep(3000);
}

static void test_slow_writer(void **state) {
  fixture_t *f = *state;
  model_t *m = model_new(12000);
  uint64_t seen = 0;
  cg_import_opts_t o = {.threads = 4, .progress = slow_cb, .progress_arg = &seen};
  cg_import_result_t res;
  cg_buf_t b;

  /* The writer dawdles after each chunk, so the ring fills and every
   * parser thread waits for a free slot at once; each must still take a
   * chunk of its own. A lost chunk would hang the writer: alarm ends it. */
  cg_buf_init(&b, 1 << 26);
  gen(&b, m, 12000, NULL);
  assert_true(b.len > 24 * 256 * 1024);
  alarm(120);
  int err = cg_import_buffer(f->store, b.base, b.len, &o, &res);
  alarm(0);
  assert_int_equal(err, 0);
  assert_int_equal(res.records, 12000);
  assert_int_equal(seen, 12000);
  check_store(f->store, m);
  cg_buf_free(&b);
  model_free(m);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_import_basic),
      T(test_blank_lines_and_crlf),
      T(test_bad_line_7),
      T(test_bad_line_7_threads),
      T(test_bad_line_first_and_last),
      T(test_replace),
      T(test_unsorted_and_repeated),
      T(test_threads_agree),
      T(test_large_file),
      T(test_bad_line_deep),
      T(test_bad_line_deep_one_thread),
      T(test_bad_line_at_chunk_edges),
      T(test_empty),
      T(test_missing_file),
      T(test_progress_and_source),
      T(test_slow_writer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
