/* test_trust.c — unit tests of core/trust.c and of seal verification in
 * core/seal.c (cg_seal_verifier_new, cg_seal_verify, the reasons).
 *
 * Each scenario writes its own trust directory (anchors/, signers/, crl/)
 * under a fresh temp dir, loads it with cg_trust_load and checks the exact
 * reason cg_seal_verify gives. The group setup makes every key: one RSA key
 * (the RS256 agency), the rest EC. mbedTLS 2.28 cannot write CRLs, so the
 * revocation tests make theirs with the openssl CLI.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/seal.h"
#include "core/signer.h"
#include "core/trust.h"

#define PEM_CAP 8192
#define ISSUED 20240501u /* inside every agency's validity but old's */
#define MANY 200
#define REVOKED_SERIAL 0x5EA1u

static const char body[] =
    "{\"certificateHolderCode\":\"11010519491231002X\",\"certificateName\":"
    "\"居民身份证\",\"issueDate\":\"2024-05-01\"}";

typedef struct fixture {
  char root[PATH_MAX]; /* this run's temp dir; each scenario makes one inside */
  cg_signer_t *ca;       /* ES256 seal CA: the anchor */
  cg_signer_t *ec;       /* ES256 agency issued by ca */
  cg_signer_t *rsa;      /* RS256 agency issued by ca: the file's only RSA key */
  cg_signer_t *other_ca; /* ES256 CA that is nobody's anchor */
  cg_signer_t *stranger; /* agency issued by other_ca */
  cg_signer_t *unlisted; /* agency issued by ca, in no signers/ */
  cg_signer_t *old;      /* agency issued by ca, valid 2010-2015 only */
  cg_signer_t *revoked;  /* agency issued by ca, serial REVOKED_SERIAL */
  cg_signer_t *ca_like;  /* issued by ca with is_ca = 1: keyCertSign|cRLSign only */
} fixture_t;

/* ---- helpers -------------------------------------------------------------- */

/* snprintf that fails the test instead of cutting a path short. */
static void fmt(char *out, size_t cap, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static void fmt(char *out, size_t cap, const char *format, ...) {
  va_list ap;
  int n;

  va_start(ap, format);
  n = vsnprintf(out, cap, format, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= cap)
    fail_msg("%zu bytes are not enough for \"%s\"", cap, format);
}

static time_t utc(int y, int m, int d, int hh, int mm, int ss) {
  struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d,
                  .tm_hour = hh, .tm_min = mm, .tm_sec = ss};
  return timegm(&tm);
}

static int make(cg_signer_t **out, cg_seal_alg_t alg, const char *subject, uint64_t serial,
                int is_ca, cg_signer_t *issuer, time_t from, time_t to) {
  cg_signer_spec_t spec = {alg, subject, from, to, serial, is_ca};

  return cg_signer_generate(out, &spec, issuer);
}

/* A fresh directory for one scenario, under the run's temp dir. */
static void new_dir(const fixture_t *f, const char *label, char out[PATH_MAX]) {
  fmt(out, PATH_MAX, "%s/%s-XXXXXX", f->root, label);
  assert_non_null(mkdtemp(out));
}

static void write_file(const char *path, const void *data, size_t len) {
  FILE *fp = fopen(path, "wb");

  if (fp == NULL)
    fail_msg("cannot write %s: %s", path, strerror(errno));
  assert_int_equal(fwrite(data, 1, len, fp), len);
  assert_int_equal(fclose(fp), 0);
}

/* Writes dir/sub/name with text, making dir/sub if needed. */
static void put_text(const char *dir, const char *sub, const char *name, const void *text,
                     size_t len) {
  char path[PATH_MAX];

  fmt(path, sizeof path, "%s/%s", dir, sub);
  if (mkdir(path, 0700) != 0 && errno != EEXIST)
    fail_msg("mkdir %s: %s", path, strerror(errno));
  fmt(path, sizeof path, "%s/%s/%s", dir, sub, name);
  write_file(path, text, len);
}

static void put_cert(const char *dir, const char *sub, const char *name, const cg_signer_t *s) {
  char pem[PEM_CAP];

  assert_int_equal(cg_signer_cert_pem(s, pem, sizeof pem), 0);
  put_text(dir, sub, name, pem, strlen(pem));
}

/* A trust directory: ca as the anchor and the given agencies (NULL-ended)
 * as signers/NAME.pem. */
static void make_trust(const fixture_t *f, const char *label, cg_signer_t *const signers[],
                       char out[PATH_MAX]) {
  new_dir(f, label, out);
  put_cert(out, "anchors", "ca.pem", f->ca);
  for (int i = 0; signers[i] != NULL; i++) {
    char name[32];
    fmt(name, sizeof name, "signer%d.pem", i);
    put_cert(out, "signers", name, signers[i]);
  }
}

static cg_trust_t *load_ok(const char *dir) {
  cg_trust_t *t = NULL;
  cg_why_t why = {{0}};
  int rc = cg_trust_load(&t, dir, NULL, &why);

  if (rc != 0)
    fail_msg("cg_trust_load(%s) = %s: %s", dir, cg_err_name(rc), why.text);
  assert_non_null(t);
  assert_int_not_equal(cg_trust_generation(t), 0);
  return t;
}

static void seal_body(cg_signer_t *s, const void *data, size_t len, cg_seal_t *seal) {
  assert_int_equal(cg_seal_sign(s, data, len, seal), 0);
}

/* One verification with a verifier of its own: nothing cached beforehand. */
static int verify_fresh(const cg_trust_t *t, const void *data, size_t len, const cg_seal_t *seal,
                        uint32_t issued) {
  cg_seal_verifier_t *v = NULL;
  int r;

  assert_int_equal(cg_seal_verifier_new(t, &v), 0);
  assert_non_null(v);
  r = cg_seal_verify(v, data, len, seal, issued);
  cg_seal_verifier_free(v);
  return r;
}

/* cmocka prints integers; a reason reads better by name. */
#define assert_reason(got, want)                                                                  \
  do {                                                                                            \
    int got_ = (got), want_ = (want);                                                             \
    if (got_ != want_)                                                                            \
      fail_msg("reason %s (%d), wanted %s (%d)", cg_seal_reason_name(got_), got_,                \
               cg_seal_reason_name(want_), want_);                                                \
  } while (0)

static void check_verify(const cg_trust_t *t, const cg_seal_t *seal, uint32_t issued, int want) {
  assert_reason(verify_fresh(t, body, strlen(body), seal, issued), want);
}

/* ---- fixture ------------------------------------------------------------- */

static int group_setup(void **state) {
  fixture_t *f = calloc(1, sizeof *f);
  time_t from = utc(2000, 1, 1, 0, 0, 0), to = utc(2089, 12, 31, 23, 59, 59);
  time_t afrom = utc(2020, 1, 1, 0, 0, 0), ato = utc(2039, 12, 31, 23, 59, 59);

  if (f == NULL)
    return -1;
  if (cg_test_mkdtemp("test_trust", f->root, sizeof f->root) != 0)
    return -1;
  if (make(&f->ca, CG_SEAL_ES256, "CN=某市电子证照印章根证书,O=某市大数据局,C=CN", 1, 1, NULL,
           from, to) != 0 ||
      make(&f->ec, CG_SEAL_ES256, "CN=某市公安局电子印章,O=某市公安局,C=CN", 2, 0, f->ca,
           afrom, ato) != 0 ||
      make(&f->rsa, CG_SEAL_RS256, "CN=某市民政局电子印章,O=某市民政局,C=CN", 3, 0, f->ca,
           afrom, ato) != 0 ||
      make(&f->other_ca, CG_SEAL_ES256, "CN=另一个印章根证书,C=CN", 4, 1, NULL, from, to) != 0 ||
      make(&f->stranger, CG_SEAL_ES256, "CN=外地公安局电子印章,C=CN", 5, 0, f->other_ca, afrom,
           ato) != 0 ||
      make(&f->unlisted, CG_SEAL_ES256, "CN=未登记的电子印章,C=CN", 6, 0, f->ca, afrom, ato) !=
          0 ||
      make(&f->old, CG_SEAL_ES256, "CN=旧电子印章,C=CN", 7, 0, f->ca, utc(2010, 1, 1, 0, 0, 0),
           utc(2015, 12, 31, 23, 59, 59)) != 0 ||
      make(&f->revoked, CG_SEAL_ES256, "CN=已吊销的电子印章,C=CN", REVOKED_SERIAL, 0, f->ca,
           afrom, ato) != 0 ||
      make(&f->ca_like, CG_SEAL_ES256, "CN=下级印章证书,C=CN", 9, 1, f->ca, afrom, ato) != 0)
    return -1;
  *state = f;
  return 0;
}

static int group_teardown(void **state) {
  fixture_t *f = *state;

  if (f != NULL) {
    cg_signer_t *all[] = {f->ca, f->ec, f->rsa, f->other_ca, f->stranger,
                          f->unlisted, f->old, f->revoked, f->ca_like};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
      cg_signer_free(all[i]);
    if (f->root[0] != '\0')
      cg_test_rmtree(f->root);
    free(f);
  }
  return 0;
}

/* ---- reasons --------------------------------------------------------------- */

static void test_reason_names(void **state) {
  (void)state;
  assert_string_equal(cg_seal_reason_name(CG_SEAL_OK), "verified");
  assert_string_equal(cg_seal_reason_name(CG_SEAL_BAD_SIGNATURE), "bad_signature");
  assert_string_equal(cg_seal_reason_name(CG_SEAL_UNKNOWN_SIGNER), "unknown_signer");
  assert_string_equal(cg_seal_reason_name(CG_SEAL_UNTRUSTED_CHAIN), "untrusted_chain");
  assert_string_equal(cg_seal_reason_name(CG_SEAL_SIGNER_EXPIRED), "signer_expired");
  assert_string_equal(cg_seal_reason_name(CG_SEAL_SIGNER_REVOKED), "signer_revoked");
  assert_string_equal(cg_seal_reason_name(CG_SEAL_SIGNER_KEY_USAGE), "signer_key_usage");
  assert_string_equal(cg_seal_reason_name(CG_SEAL_UNSUPPORTED_ALG), "unsupported_alg");
  assert_string_equal(cg_seal_reason_name(CG_SEAL_MALFORMED_SEAL), "malformed_seal");
  assert_string_equal(cg_seal_reason_name(CG_SEAL_TRUST_STALE), "trust_stale");
  assert_int_equal(CG_SEAL__REASONS, 10);
  /* A record stores its reason in one byte; every value must name itself. */
  assert_string_equal(cg_seal_reason_name(CG_SEAL__REASONS), "unknown");
  assert_string_equal(cg_seal_reason_name(99), "unknown");
  assert_string_equal(cg_seal_reason_name(-1), "unknown");
  assert_string_equal(cg_seal_reason_name(255), "unknown");
}

/* ---- verdicts ------------------------------------------------------------- */

static void test_good_seals_verify(void **state) {
  fixture_t *f = *state;
  char dir[PATH_MAX];
  cg_trust_t *t;
  cg_seal_t es, rs;

  make_trust(f, "good", (cg_signer_t *const[]){f->ec, f->rsa, NULL}, dir);
  t = load_ok(dir);
  seal_body(f->ec, body, strlen(body), &es);
  seal_body(f->rsa, body, strlen(body), &rs);
  assert_int_equal(es.alg, CG_SEAL_ES256);
  assert_int_equal(rs.alg, CG_SEAL_RS256);
  check_verify(t, &es, ISSUED, CG_SEAL_OK);
  check_verify(t, &rs, ISSUED, CG_SEAL_OK);
  /* The first and last days of the signer's validity count. */
  check_verify(t, &es, 20200101, CG_SEAL_OK);
  check_verify(t, &es, 20391231, CG_SEAL_OK);
  check_verify(t, &es, 20191231, CG_SEAL_SIGNER_EXPIRED);
  check_verify(t, &es, 20400101, CG_SEAL_SIGNER_EXPIRED);
  /* An empty body is a body. */
  seal_body(f->ec, "", 0, &es);
  assert_reason(verify_fresh(t, "", 0, &es, ISSUED), CG_SEAL_OK);
  assert_reason(verify_fresh(t, "x", 1, &es, ISSUED), CG_SEAL_BAD_SIGNATURE);
  cg_trust_free(t);
}

static void test_changed_body_is_bad_signature(void **state) {
  fixture_t *f = *state;
  char dir[PATH_MAX];
  cg_signer_t *signers[] = {f->ec, f->rsa};
  size_t len = strlen(body);
  char *copy = strdup(body);
  cg_trust_t *t;

  assert_non_null(copy);
  make_trust(f, "body", (cg_signer_t *const[]){f->ec, f->rsa, NULL}, dir);
  t = load_ok(dir);
  for (size_t i = 0; i < 2; i++) {
    cg_seal_t seal;
    size_t at[] = {0, len / 2, len - 1};

    seal_body(signers[i], body, len, &seal);
    for (size_t j = 0; j < sizeof at / sizeof at[0]; j++) {
      copy[at[j]] ^= 0x01;
      assert_reason(verify_fresh(t, copy, len, &seal, ISSUED), CG_SEAL_BAD_SIGNATURE);
      copy[at[j]] ^= 0x01;
    }
    assert_reason(verify_fresh(t, body, len - 1, &seal, ISSUED), CG_SEAL_BAD_SIGNATURE);
    assert_reason(verify_fresh(t, copy, len, &seal, ISSUED), CG_SEAL_OK);
  }
  free(copy);
  cg_trust_free(t);
}

static void test_changed_signature_is_bad_signature(void **state) {
  fixture_t *f = *state;
  char dir[PATH_MAX];
  cg_signer_t *signers[] = {f->ec, f->rsa};
  cg_trust_t *t;

  make_trust(f, "sig", (cg_signer_t *const[]){f->ec, f->rsa, NULL}, dir);
  t = load_ok(dir);
  for (size_t i = 0; i < 2; i++) {
    cg_seal_t seal, bad;

    seal_body(signers[i], body, strlen(body), &seal);
    /* Characters well inside the signature: the last one before '=' also
     * carries padding bits, which base64 decoders drop, so changing it may
     * leave the decoded signature as it was. 'A' <-> 'B' keeps it base64. */
    size_t at[] = {4, seal.sig_len / 2, seal.sig_len - 8};
    for (size_t j = 0; j < sizeof at / sizeof at[0]; j++) {
      bad = seal;
      bad.sig[at[j]] = bad.sig[at[j]] == 'A' ? 'B' : 'A';
      assert_true(cg_seal_b64_valid(bad.sig, bad.sig_len));
      check_verify(t, &bad, ISSUED, CG_SEAL_BAD_SIGNATURE);
    }
    check_verify(t, &seal, ISSUED, CG_SEAL_OK);
  }
  cg_trust_free(t);
}

static void test_unknown_signer(void **state) {
  fixture_t *f = *state;
  char dir[PATH_MAX];
  cg_trust_t *t;
  cg_seal_t seal;

  make_trust(f, "unknown", (cg_signer_t *const[]){f->ec, f->rsa, NULL}, dir);
  t = load_ok(dir);
  /* A fingerprint one bit away from a known one. */
  seal_body(f->ec, body, strlen(body), &seal);
  seal.signer[CG_SEAL_FPR_LEN - 1] ^= 0x80;
  check_verify(t, &seal, ISSUED, CG_SEAL_UNKNOWN_SIGNER);
  /* A genuine agency of the anchor CA that nobody put into signers/. */
  seal_body(f->unlisted, body, strlen(body), &seal);
  check_verify(t, &seal, ISSUED, CG_SEAL_UNKNOWN_SIGNER);
  /* The anchor itself is not a signer unless listed as one. */
  seal_body(f->ca, body, strlen(body), &seal);
  check_verify(t, &seal, ISSUED, CG_SEAL_UNKNOWN_SIGNER);
  cg_trust_free(t);
}

static void test_untrusted_chain(void **state) {
  fixture_t *f = *state;
  char dir[PATH_MAX];
  cg_trust_t *t;
  cg_seal_t seal;

  make_trust(f, "chain", (cg_signer_t *const[]){f->ec, f->stranger, NULL}, dir);
  t = load_ok(dir);
  seal_body(f->stranger, body, strlen(body), &seal);
  check_verify(t, &seal, ISSUED, CG_SEAL_UNTRUSTED_CHAIN);
  /* Its issuer listed as a signer does not make it an anchor. */
  cg_trust_free(t);
  put_cert(dir, "signers", "other_ca.pem", f->other_ca);
  t = load_ok(dir);
  check_verify(t, &seal, ISSUED, CG_SEAL_UNTRUSTED_CHAIN);
  seal_body(f->ec, body, strlen(body), &seal);
  check_verify(t, &seal, ISSUED, CG_SEAL_OK);
  cg_trust_free(t);
  /* With its CA as a second anchor, the same seal verifies. */
  put_cert(dir, "anchors", "other_ca.pem", f->other_ca);
  t = load_ok(dir);
  seal_body(f->stranger, body, strlen(body), &seal);
  check_verify(t, &seal, ISSUED, CG_SEAL_OK);
  cg_trust_free(t);
}

/* Validity is judged on the certificate's issue date, not on today: the
 * signer's certificate expired long ago, yet its seals of 2012 stand. */
static void test_signer_expired_on_issue_date(void **state) {
  fixture_t *f = *state;
  char dir[PATH_MAX];
  cg_seal_verifier_t *v = NULL;
  cg_trust_t *t;
  cg_seal_t seal;

  make_trust(f, "expired", (cg_signer_t *const[]){f->old, NULL}, dir);
  t = load_ok(dir);
  seal_body(f->old, body, strlen(body), &seal);
  check_verify(t, &seal, 20200101, CG_SEAL_SIGNER_EXPIRED);
  check_verify(t, &seal, 20120101, CG_SEAL_OK);
  check_verify(t, &seal, 20100101, CG_SEAL_OK);
  check_verify(t, &seal, 20151231, CG_SEAL_OK);
  check_verify(t, &seal, 20091231, CG_SEAL_SIGNER_EXPIRED);
  check_verify(t, &seal, 20160101, CG_SEAL_SIGNER_EXPIRED);
  check_verify(t, &seal, 0, CG_SEAL_SIGNER_EXPIRED);
  /* The verdict on the chain is cached per signer; the date is not. */
  assert_int_equal(cg_seal_verifier_new(t, &v), 0);
  assert_reason(cg_seal_verify(v, body, strlen(body), &seal, 20200101), CG_SEAL_SIGNER_EXPIRED);
  assert_reason(cg_seal_verify(v, body, strlen(body), &seal, 20120101), CG_SEAL_OK);
  assert_reason(cg_seal_verify(v, body, strlen(body), &seal, 20200101), CG_SEAL_SIGNER_EXPIRED);
  cg_seal_verifier_free(v);
  cg_trust_free(t);
}

/* ---- revocation (CRLs made by the openssl CLI) ---------------------------- */

static int have_openssl(void) {
  const char *path = getenv("PATH");
  char buf[PATH_MAX];

  if (path == NULL)
    return 0;
  while (*path != '\0') {
    size_t n = strcspn(path, ":");
    if (n > 0 && n < sizeof buf - 9) {
      snprintf(buf, sizeof buf, "%.*s/openssl", (int)n, path);
      if (access(buf, X_OK) == 0)
        return 1;
    }
    path += n;
    if (*path == ':')
      path++;
  }
  return 0;
}

static void run(const char *cmd, const char *log) {
  int rc = system(cmd);

  if (rc != 0) {
    char text[2048] = "";
    FILE *fp = fopen(log, "r");
    if (fp != NULL) {
      text[fread(text, 1, sizeof text - 1, fp)] = '\0';
      fclose(fp);
    }
    fail_msg("`%s` failed (%d):\n%s", cmd, rc, text);
  }
}

/* Makes, in work/, a CRL of f->ca listing serial REVOKED_SERIAL (revoked on
 * 2021-01-01): work/crl.pem, and work/crl.der in DER. The index line is
 * written by hand so the revocation date lies in the past whatever the
 * clock says. extra: more options of `openssl ca -gencrl` (its dates). */
static void make_crl(const fixture_t *f, const char *work, const char *extra) {
  char *key = malloc(PEM_CAP), path[PATH_MAX], cmd[4 * PATH_MAX], log[PATH_MAX], line[256];
  char conf[4 * PATH_MAX];

  assert_non_null(key);
  put_cert(work, ".", "ca.pem", f->ca);
  assert_int_equal(cg_signer_key_pem(f->ca, key, PEM_CAP), 0);
  put_text(work, ".", "ca.key", key, strlen(key));
  free(key);
  fmt(line, sizeof line, "R\t391231235959Z\t210101000000Z\t%04X\tunknown\t/CN=revoked\n",
           REVOKED_SERIAL);
  put_text(work, ".", "index.txt", line, strlen(line));
  put_text(work, ".", "crlnumber", "01\n", 3);
  fmt(conf, sizeof conf,
           "[ ca ]\ndefault_ca = cg\n[ cg ]\n"
           "database = %s/index.txt\ncrlnumber = %s/crlnumber\n"
           "certificate = %s/ca.pem\nprivate_key = %s/ca.key\n"
           "default_md = sha256\ndefault_crl_days = 30\n",
           work, work, work, work);
  put_text(work, ".", "ca.cnf", conf, strlen(conf));
  fmt(log, sizeof log, "%s/openssl.log", work);
  fmt(cmd, sizeof cmd,
      "openssl ca -config '%s/ca.cnf' -gencrl %s -out '%s/crl.pem' >'%s' 2>&1 && "
      "openssl crl -in '%s/crl.pem' -outform DER -out '%s/crl.der' >>'%s' 2>&1",
      work, extra, work, log, work, work, log);
  run(cmd, log);
  fmt(path, sizeof path, "%s/crl.pem", work);
  assert_int_equal(access(path, R_OK), 0);
}

static char *slurp(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  char *buf = malloc(PEM_CAP);

  assert_non_null(fp);
  assert_non_null(buf);
  *len = fread(buf, 1, PEM_CAP - 1, fp);
  buf[*len] = '\0';
  fclose(fp);
  return buf;
}

static char *slurp(const char *path, size_t *len);

/* Skips the test where no openssl can make its CRL. */
static void skip_without_openssl(void) {
  if (!have_openssl()) {
    print_message("skipping: no `openssl` on PATH to make a CRL with "
                  "(mbedTLS 2.28 cannot write one)\n");
    skip();
  }
}

/* Copies work/crl.pem (make_crl) to dir/crl/ca.pem. */
static void put_crl(const char *work, const char *dir) {
  char path[PATH_MAX], *crl;
  size_t len;

  fmt(path, sizeof path, "%s/crl.pem", work);
  crl = slurp(path, &len);
  put_text(dir, "crl", "ca.pem", crl, len);
  free(crl);
}

static void test_revoked_signer(void **state) {
  fixture_t *f = *state;
  char dir[PATH_MAX], work[PATH_MAX];
  cg_trust_t *t;
  cg_seal_t seal, good;
  int na, ns, nc;

  skip_without_openssl();
  new_dir(f, "crlwork", work);
  make_crl(f, work, "");
  make_trust(f, "revoked", (cg_signer_t *const[]){f->ec, f->revoked, NULL}, dir);
  seal_body(f->revoked, body, strlen(body), &seal);
  seal_body(f->ec, body, strlen(body), &good);

  /* Without the CRL the signer is as good as any. */
  t = load_ok(dir);
  cg_trust_counts(t, &na, &ns, &nc);
  assert_int_equal(nc, 0);
  check_verify(t, &seal, ISSUED, CG_SEAL_OK);
  cg_trust_free(t);

  put_crl(work, dir);
  t = load_ok(dir);
  cg_trust_counts(t, &na, &ns, &nc);
  assert_int_equal(nc, 1);
  check_verify(t, &seal, ISSUED, CG_SEAL_SIGNER_REVOKED);
  /* Revocation does not depend on the issue date. */
  check_verify(t, &seal, 20200101, CG_SEAL_SIGNER_REVOKED);
  /* The CRL names one serial: the CA's other agencies are untouched. */
  check_verify(t, &good, ISSUED, CG_SEAL_OK);
  cg_trust_free(t);
}

/* A CRL past its nextUpdate cannot say that a signer is not revoked: every
 * seal under its CA fails closed, with a reason of its own; one not yet in
 * force the same. A signer it lists is still revoked. The trust store says
 * when its CRLs next change: when one comes into force or goes stale. */
static void test_stale_crl(void **state) {
  static const struct {
    const char *label, *dates;
    time_t next;
  } cases[] = {
      {"stale", "-crl_lastupdate 20200101000000Z -crl_nextupdate 20200201000000Z", 0},
      {"future", "-crl_lastupdate 20990101000000Z -crl_nextupdate 20990201000000Z", 4070908800},
  };
  fixture_t *f = *state;
  char dir[PATH_MAX], work[PATH_MAX];
  cg_seal_t seal, good;
  cg_trust_t *t;

  skip_without_openssl();
  seal_body(f->revoked, body, strlen(body), &seal);
  seal_body(f->ec, body, strlen(body), &good);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    new_dir(f, "crlwork", work);
    make_crl(f, work, cases[i].dates);
    make_trust(f, cases[i].label, (cg_signer_t *const[]){f->ec, f->revoked, NULL}, dir);
    put_crl(work, dir);
    t = load_ok(dir);
    assert_true(cg_trust_stale(t));
    assert_true(cg_trust_fresh_until(t) == cases[i].next);
    check_verify(t, &good, ISSUED, CG_SEAL_TRUST_STALE);
    check_verify(t, &seal, ISSUED, CG_SEAL_SIGNER_REVOKED);
    cg_trust_free(t);
  }
  /* In force: not stale, fresh for the 30 days openssl gives it. */
  new_dir(f, "crlwork", work);
  make_crl(f, work, "");
  make_trust(f, "fresh", (cg_signer_t *const[]){f->ec, NULL}, dir);
  put_crl(work, dir);
  t = load_ok(dir);
  assert_false(cg_trust_stale(t));
  assert_true(cg_trust_fresh_until(t) > time(NULL) + 29 * 86400);
  assert_true(cg_trust_fresh_until(t) <= time(NULL) + 30 * 86400);
  check_verify(t, &good, ISSUED, CG_SEAL_OK);
  cg_trust_free(t);
  /* Without a CRL nothing goes stale. */
  make_trust(f, "nocrl", (cg_signer_t *const[]){f->ec, NULL}, dir);
  t = load_ok(dir);
  assert_false(cg_trust_stale(t));
  assert_true(cg_trust_fresh_until(t) == 0);
  cg_trust_free(t);
}

/* Every certificate of the chain must have been valid on the issue date:
 * an anchor that has expired since still vouches for what was sealed while
 * it was valid, and for nothing sealed after. */
static void test_expired_anchor_window(void **state) {
  fixture_t *f = *state;
  cg_signer_t *ca = NULL, *agency = NULL;
  char dir[PATH_MAX];
  cg_seal_t seal;
  cg_trust_t *t;

  assert_int_equal(make(&ca, CG_SEAL_ES256, "CN=已过期的印章根证书,C=CN", 20, 1, NULL,
                        utc(2015, 1, 1, 0, 0, 0), utc(2020, 12, 31, 23, 59, 59)),
                   0);
  assert_int_equal(make(&agency, CG_SEAL_ES256, "CN=老机构电子印章,C=CN", 21, 0, ca,
                        utc(2016, 1, 1, 0, 0, 0), utc(2030, 12, 31, 23, 59, 59)),
                   0);
  new_dir(f, "oldca", dir);
  put_cert(dir, "anchors", "ca.pem", ca);
  put_cert(dir, "signers", "agency.pem", agency);
  t = load_ok(dir);
  seal_body(agency, body, strlen(body), &seal);
  check_verify(t, &seal, 20180101, CG_SEAL_OK);
  check_verify(t, &seal, 20201231, CG_SEAL_OK);
  check_verify(t, &seal, 20210101, CG_SEAL_SIGNER_EXPIRED); /* the anchor had expired */
  check_verify(t, &seal, ISSUED, CG_SEAL_SIGNER_EXPIRED);
  check_verify(t, &seal, 20151231, CG_SEAL_SIGNER_EXPIRED); /* the agency's not yet valid */
  cg_trust_free(t);
  cg_signer_free(agency);
  cg_signer_free(ca);
}

/* trust.h promises crl/NAME.crl too; CAs publish those in DER. */
static void test_revoked_signer_der_crl(void **state) {
  fixture_t *f = *state;
  char dir[PATH_MAX], work[PATH_MAX], path[PATH_MAX];
  cg_why_t why = {{0}};
  cg_trust_t *t = NULL;
  cg_seal_t seal, good;
  size_t len;
  char *crl;
  int rc, na, ns, nc;

  skip_without_openssl();
  new_dir(f, "crlwork", work);
  make_crl(f, work, "");
  make_trust(f, "revoked-der", (cg_signer_t *const[]){f->ec, f->revoked, NULL}, dir);
  fmt(path, sizeof path, "%s/crl.der", work);
  crl = slurp(path, &len);
  put_text(dir, "crl", "ca.crl", crl, len);
  free(crl);
  rc = cg_trust_load(&t, dir, NULL, &why);
  if (rc != 0)
    fail_msg("DER CRL refused: %s: %s", cg_err_name(rc), why.text);
  cg_trust_counts(t, &na, &ns, &nc);
  assert_int_equal(nc, 1);
  seal_body(f->revoked, body, strlen(body), &seal);
  seal_body(f->ec, body, strlen(body), &good);
  check_verify(t, &seal, ISSUED, CG_SEAL_SIGNER_REVOKED);
  check_verify(t, &good, ISSUED, CG_SEAL_OK);
  cg_trust_free(t);
}

/* ---- key usage, algorithm, form ------------------------------------------ */

static void test_signer_without_digital_signature(void **state) {
  fixture_t *f = *state;
  char dir[PATH_MAX];
  cg_trust_t *t;
  cg_seal_t seal;

  make_trust(f, "ku", (cg_signer_t *const[]){f->ca_like, NULL}, dir);
  t = load_ok(dir);
  /* Chains to the anchor and the signature is good: only its key usage
   * (keyCertSign|cRLSign) says it is not a seal key. */
  seal_body(f->ca_like, body, strlen(body), &seal);
  check_verify(t, &seal, ISSUED, CG_SEAL_SIGNER_KEY_USAGE);
  cg_trust_free(t);
  /* The anchor listed as a signer: a CA key does not seal either. */
  make_trust(f, "ku-anchor", (cg_signer_t *const[]){f->ca, NULL}, dir);
  t = load_ok(dir);
  seal_body(f->ca, body, strlen(body), &seal);
  check_verify(t, &seal, ISSUED, CG_SEAL_SIGNER_KEY_USAGE);
  cg_trust_free(t);
}

static void test_unsupported_alg(void **state) {
  fixture_t *f = *state;
  char dir[PATH_MAX];
  cg_trust_t *t;
  cg_seal_t es, rs, bad;

  make_trust(f, "alg", (cg_signer_t *const[]){f->ec, f->rsa, NULL}, dir);
  t = load_ok(dir);
  seal_body(f->ec, body, strlen(body), &es);
  seal_body(f->rsa, body, strlen(body), &rs);
  /* The name must be the key's: an EC key makes no RS256 seal... */
  bad = es;
  bad.alg = CG_SEAL_RS256;
  check_verify(t, &bad, ISSUED, CG_SEAL_UNSUPPORTED_ALG);
  /* ...and an RSA key no ES256 one. */
  bad = rs;
  bad.alg = CG_SEAL_ES256;
  check_verify(t, &bad, ISSUED, CG_SEAL_UNSUPPORTED_ALG);
  /* No algorithm, or one that does not exist. */
  bad = es;
  bad.alg = CG_SEAL_NONE;
  check_verify(t, &bad, ISSUED, CG_SEAL_UNSUPPORTED_ALG);
  bad.alg = (cg_seal_alg_t)7;
  check_verify(t, &bad, ISSUED, CG_SEAL_UNSUPPORTED_ALG);
  bad = rs;
  bad.alg = (cg_seal_alg_t)7;
  check_verify(t, &bad, ISSUED, CG_SEAL_UNSUPPORTED_ALG);
  check_verify(t, &es, ISSUED, CG_SEAL_OK);
  check_verify(t, &rs, ISSUED, CG_SEAL_OK);
  cg_trust_free(t);
}

/* MALFORMED_SEAL is about the form of the seal: base64 that is not there,
 * not base64, or would decode to more than CG_SEAL_SIG_MAX bytes. Once the
 * text decodes, the bytes are the signature algorithm's to judge, and
 * mbedTLS does not tell a DER that does not parse (ES256) or a signature of
 * the wrong length (RS256) from one that does not verify: a truncated
 * signature is BAD_SIGNATURE, like any other that is not the signer's. */
static void test_malformed_and_truncated(void **state) {
  fixture_t *f = *state;
  char dir[PATH_MAX];
  cg_signer_t *signers[] = {f->ec, f->rsa};
  cg_trust_t *t;

  make_trust(f, "form", (cg_signer_t *const[]){f->ec, f->rsa, NULL}, dir);
  t = load_ok(dir);
  for (size_t i = 0; i < 2; i++) {
    cg_seal_t seal, bad;

    seal_body(signers[i], body, strlen(body), &seal);
    bad = seal;
    bad.sig_len = 0;
    check_verify(t, &bad, ISSUED, CG_SEAL_MALFORMED_SEAL);
    bad.sig[0] = '\0';
    check_verify(t, &bad, ISSUED, CG_SEAL_MALFORMED_SEAL);

    bad = seal;
    strcpy(bad.sig, "!!!!");
    bad.sig_len = 4;
    check_verify(t, &bad, ISSUED, CG_SEAL_MALFORMED_SEAL);

    /* One character short: not a multiple of 4. */
    bad = seal;
    bad.sig[--bad.sig_len] = '\0';
    check_verify(t, &bad, ISSUED, CG_SEAL_MALFORMED_SEAL);

    /* A character outside the alphabet, in the middle. */
    bad = seal;
    bad.sig[bad.sig_len / 2] = '-';
    check_verify(t, &bad, ISSUED, CG_SEAL_MALFORMED_SEAL);

    /* A length the struct cannot hold: refused before anything is read. */
    bad = seal;
    bad.sig_len = CG_SEAL_B64_MAX + 4;
    check_verify(t, &bad, ISSUED, CG_SEAL_MALFORMED_SEAL);

    /* Truncated to shorter multiples of 4: valid base64 of a cut signature. */
    size_t cut[] = {4, seal.sig_len / 2 / 4 * 4, seal.sig_len - 4};
    for (size_t j = 0; j < sizeof cut / sizeof cut[0]; j++) {
      bad = seal;
      bad.sig_len = (uint16_t)cut[j];
      bad.sig[cut[j]] = '\0';
      assert_true(cg_seal_b64_valid(bad.sig, bad.sig_len));
      check_verify(t, &bad, ISSUED, CG_SEAL_BAD_SIGNATURE);
    }
    check_verify(t, &seal, ISSUED, CG_SEAL_OK);
  }
  cg_trust_free(t);
}

/* cg_seal_verify gives the first reason in the order docs/seal.md lists. */
static void test_reason_order(void **state) {
  fixture_t *f = *state;
  char dir[PATH_MAX];
  cg_trust_t *t;
  cg_seal_t seal, bad;

  make_trust(f, "order", (cg_signer_t *const[]){f->ec, f->stranger, f->old, f->ca_like, NULL},
             dir);
  t = load_ok(dir);
  /* Algorithm before form before signer. */
  seal_body(f->unlisted, body, strlen(body), &seal);
  bad = seal;
  bad.alg = (cg_seal_alg_t)7;
  bad.sig_len = 0;
  check_verify(t, &bad, ISSUED, CG_SEAL_UNSUPPORTED_ALG);
  bad.alg = CG_SEAL_ES256;
  check_verify(t, &bad, ISSUED, CG_SEAL_MALFORMED_SEAL);
  /* Signer before signature. */
  check_verify(t, &seal, ISSUED, CG_SEAL_UNKNOWN_SIGNER);
  /* Chain before date and signature: a broken seal by a stranger. */
  seal_body(f->stranger, body, strlen(body), &seal);
  seal.sig[seal.sig_len / 2] = seal.sig[seal.sig_len / 2] == 'A' ? 'B' : 'A';
  check_verify(t, &seal, 20000101, CG_SEAL_UNTRUSTED_CHAIN);
  /* Key usage before date. */
  seal_body(f->ca_like, body, strlen(body), &seal);
  check_verify(t, &seal, 20000101, CG_SEAL_SIGNER_KEY_USAGE);
  /* Date before the key's algorithm and the signature. */
  seal_body(f->old, body, strlen(body), &seal);
  bad = seal;
  bad.alg = CG_SEAL_RS256;
  check_verify(t, &bad, ISSUED, CG_SEAL_SIGNER_EXPIRED);
  bad.alg = CG_SEAL_ES256;
  bad.sig[bad.sig_len / 2] = bad.sig[bad.sig_len / 2] == 'A' ? 'B' : 'A';
  check_verify(t, &bad, ISSUED, CG_SEAL_SIGNER_EXPIRED);
  check_verify(t, &bad, 20120101, CG_SEAL_BAD_SIGNATURE);
  cg_trust_free(t);
}

/* ---- the trust store ------------------------------------------------------- */

static void test_trust_without_anchors(void **state) {
  fixture_t *f = *state;
  char dir[PATH_MAX], path[PATH_MAX];
  cg_trust_t *t = (cg_trust_t *)f; /* any non-NULL value: must be cleared */
  cg_why_t why = {{0}};

  /* Signers but no anchors/ at all. */
  new_dir(f, "noanchors", dir);
  put_cert(dir, "signers", "ec.pem", f->ec);
  assert_int_equal(cg_trust_load(&t, dir, NULL, &why), CG_ECONFIG);
  assert_null(t);
  assert_non_null(strstr(why.text, "anchors"));
  /* An empty anchors/, and one with only files of another suffix. */
  fmt(path, sizeof path, "%s/anchors", dir);
  assert_int_equal(mkdir(path, 0700), 0);
  assert_int_equal(cg_trust_load(&t, dir, NULL, NULL), CG_ECONFIG);
  put_text(dir, "anchors", "README.txt", "put CA certificates here\n", 25);
  assert_int_equal(cg_trust_load(&t, dir, NULL, NULL), CG_ECONFIG);
  assert_null(t);
  /* A directory that does not exist trusts nothing either. */
  fmt(path, sizeof path, "%s/missing", dir);
  assert_int_equal(cg_trust_load(&t, path, NULL, NULL), CG_ECONFIG);
  assert_null(t);
}

static void check_garbage(const fixture_t *f, const char *sub, const char *name,
                          const char *text) {
  char dir[PATH_MAX], path[PATH_MAX];
  cg_trust_t *t = NULL;
  cg_why_t why = {{0}};

  make_trust(f, "garbage", (cg_signer_t *const[]){f->ec, NULL}, dir);
  put_text(dir, sub, name, text, strlen(text));
  fmt(path, sizeof path, "%s/%s/%s", dir, sub, name);
  assert_int_equal(cg_trust_load(&t, dir, NULL, &why), CG_ECRYPTO);
  assert_null(t);
  if (strstr(why.text, path) == NULL)
    fail_msg("why does not name %s: \"%s\"", path, why.text);
}

static void test_trust_garbage_file(void **state) {
  fixture_t *f = *state;
  char pem[PEM_CAP];

  check_garbage(f, "anchors", "zz-garbage.pem", "this is not a certificate\n");
  check_garbage(f, "anchors", "a-cut.pem",
                "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  check_garbage(f, "signers", "garbage.pem", "garbage\n");
  check_garbage(f, "crl", "garbage.pem", "garbage\n");
  check_garbage(f, "crl", "garbage.crl", "\x30\x03\x02\x01\x01");
  /* A certificate where a CRL should be. */
  assert_int_equal(cg_signer_cert_pem(f->ca, pem, sizeof pem), 0);
  check_garbage(f, "crl", "ca.pem", pem);
}

static uint32_t gen_of(const char *dir) {
  cg_trust_t *t = load_ok(dir);
  uint32_t g = cg_trust_generation(t);

  cg_trust_free(t);
  return g;
}

static void test_trust_generation_and_counts(void **state) {
  fixture_t *f = *state;
  char dir[PATH_MAX], copy[PATH_MAX];
  uint32_t g1, g2, g3, g4;
  cg_trust_t *t;
  int na = -1, ns = -1, nc = -1;

  make_trust(f, "gen", (cg_signer_t *const[]){f->ec, f->rsa, NULL}, dir);
  t = load_ok(dir);
  cg_trust_counts(t, &na, &ns, &nc);
  assert_int_equal(na, 1);
  assert_int_equal(ns, 2);
  assert_int_equal(nc, 0);
  g1 = cg_trust_generation(t);
  cg_trust_free(t);
  assert_int_not_equal(g1, 0);
  /* The same directory twice, and the same files in another directory. */
  assert_int_equal(gen_of(dir), g1);
  make_trust(f, "gen-copy", (cg_signer_t *const[]){f->ec, f->rsa, NULL}, copy);
  assert_int_equal(gen_of(copy), g1);

  /* A file of another suffix is not part of the trust store. */
  put_text(dir, "signers", "notes.txt", "x\n", 2);
  assert_int_equal(gen_of(dir), g1);

  /* The same certificate twice is one signer, but the files changed. */
  put_cert(dir, "signers", "zz-again.pem", f->ec);
  t = load_ok(dir);
  cg_trust_counts(t, &na, &ns, &nc);
  assert_int_equal(ns, 2);
  g2 = cg_trust_generation(t);
  cg_trust_free(t);
  assert_int_not_equal(g2, g1);

  /* A second anchor. */
  put_cert(dir, "anchors", "other.pem", f->other_ca);
  t = load_ok(dir);
  cg_trust_counts(t, &na, &ns, &nc);
  assert_int_equal(na, 2);
  g3 = cg_trust_generation(t);
  cg_trust_free(t);
  assert_int_not_equal(g3, g2);
  assert_int_not_equal(g3, g1);

  /* Adding a CRL changes the generation. */
  if (have_openssl()) {
    char work[PATH_MAX];

    new_dir(f, "crlwork", work);
    make_crl(f, work, "");
    put_crl(work, dir);
    t = load_ok(dir);
    cg_trust_counts(t, &na, &ns, &nc);
    assert_int_equal(nc, 1);
    g4 = cg_trust_generation(t);
    cg_trust_free(t);
    assert_int_not_equal(g4, g3);
    assert_int_not_equal(g4, 0);
    assert_int_equal(gen_of(dir), g4);
  } else {
    print_message("no `openssl` on PATH: the CRL part of this test is left out\n");
  }
}

/* Certificates in DER under a .pem name load as well as PEM ones. */
static void test_trust_der_certificates(void **state) {
  fixture_t *f = *state;
  char dir[PATH_MAX];
  const uint8_t *der;
  size_t len;
  cg_trust_t *t;
  cg_seal_t seal;
  int na, ns, nc;

  new_dir(f, "der", dir);
  der = cg_signer_der(f->ca, &len);
  put_text(dir, "anchors", "ca.pem", der, len);
  der = cg_signer_der(f->ec, &len);
  put_text(dir, "signers", "ec.pem", der, len);
  t = load_ok(dir);
  cg_trust_counts(t, &na, &ns, &nc);
  assert_int_equal(na, 1);
  assert_int_equal(ns, 1);
  seal_body(f->ec, body, strlen(body), &seal);
  check_verify(t, &seal, ISSUED, CG_SEAL_OK);
  cg_trust_free(t);
}

/* ---- one verifier, many seals; two threads -------------------------------- */

typedef struct batch {
  char bodies[MANY][48];
  cg_seal_t seals[MANY];
} batch_t;

/* MANY seals over distinct bodies; even ones by a, odd ones by b (NULL:
 * all by a). */
static batch_t *make_batch(cg_signer_t *a, cg_signer_t *b) {
  batch_t *bt = calloc(1, sizeof *bt);

  assert_non_null(bt);
  for (int i = 0; i < MANY; i++) {
    snprintf(bt->bodies[i], sizeof bt->bodies[i], "{\"certificateNumber\":\"%06d\"}", i);
    seal_body(b != NULL && i % 2 ? b : a, bt->bodies[i], strlen(bt->bodies[i]), &bt->seals[i]);
  }
  return bt;
}

static void test_verifier_reused(void **state) {
  fixture_t *f = *state;
  char dir[PATH_MAX];
  cg_seal_verifier_t *v = NULL;
  batch_t *bt = make_batch(f->ec, NULL);
  cg_trust_t *t;

  make_trust(f, "reuse", (cg_signer_t *const[]){f->ec, NULL}, dir);
  t = load_ok(dir);
  assert_int_equal(cg_seal_verifier_new(t, &v), 0);
  for (int round = 0; round < 2; round++)
    for (int i = 0; i < MANY; i++) {
      const char *b = bt->bodies[i], *next = bt->bodies[(i + 1) % MANY];
      size_t len = strlen(b);
      /* Each seal is judged on its own: the cached signer does not carry a
       * verdict from one seal to the next. */
      switch ((i + round) % 4) {
      case 0:
        assert_reason(cg_seal_verify(v, b, len, &bt->seals[i], ISSUED), CG_SEAL_OK);
        break;
      case 1: /* another seal's body */
        assert_reason(cg_seal_verify(v, next, strlen(next), &bt->seals[i], ISSUED),
                      CG_SEAL_BAD_SIGNATURE);
        break;
      case 2:
        assert_reason(cg_seal_verify(v, b, len, &bt->seals[i], 20190101), CG_SEAL_SIGNER_EXPIRED);
        break;
      default:
        assert_reason(cg_seal_verify(v, b, len, &bt->seals[i], ISSUED), CG_SEAL_OK);
      }
    }
  cg_seal_verifier_free(v);
  cg_trust_free(t);
  free(bt);
}

typedef struct worker {
  const cg_trust_t *trust;
  const batch_t *batch;
  pthread_barrier_t *start;
  int ok, first_bad, first_reason;
} worker_t;

/* cmocka's asserts jump out of the test: not from another thread. Results
 * are counted here and checked by the main thread. */
static void *verify_all(void *arg) {
  worker_t *w = arg;
  cg_seal_verifier_t *v = NULL;

  w->first_bad = -1;
  if (cg_seal_verifier_new(w->trust, &v) != 0)
    return NULL;
  /* Both threads judge the same signers' chains at the same time. */
  pthread_barrier_wait(w->start);
  for (int i = 0; i < MANY; i++) {
    const char *b = w->batch->bodies[i];
    int r = cg_seal_verify(v, b, strlen(b), &w->batch->seals[i], ISSUED);
    if (r == CG_SEAL_OK) {
      w->ok++;
    } else if (w->first_bad < 0) {
      w->first_bad = i;
      w->first_reason = r;
    }
  }
  cg_seal_verifier_free(v);
  return NULL;
}

static void test_two_threads_share_trust(void **state) {
  fixture_t *f = *state;
  char dir[PATH_MAX];
  batch_t *bt = make_batch(f->ec, f->rsa);
  pthread_barrier_t start;
  pthread_t th[2];
  worker_t w[2];
  cg_trust_t *t;

  make_trust(f, "threads", (cg_signer_t *const[]){f->ec, f->rsa, NULL}, dir);
  t = load_ok(dir);
  assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
  for (int i = 0; i < 2; i++) {
    w[i] = (worker_t){.trust = t, .batch = bt, .start = &start};
    assert_int_equal(pthread_create(&th[i], NULL, verify_all, &w[i]), 0);
  }
  for (int i = 0; i < 2; i++)
    assert_int_equal(pthread_join(th[i], NULL), 0);
  pthread_barrier_destroy(&start);
  for (int i = 0; i < 2; i++) {
    if (w[i].first_bad >= 0)
      fail_msg("thread %d: seal %d gave %s", i, w[i].first_bad,
               cg_seal_reason_name(w[i].first_reason));
    assert_int_equal(w[i].ok, MANY);
  }
  cg_trust_free(t);
  free(bt);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reason_names),
      cmocka_unit_test(test_good_seals_verify),
      cmocka_unit_test(test_changed_body_is_bad_signature),
      cmocka_unit_test(test_changed_signature_is_bad_signature),
      cmocka_unit_test(test_unknown_signer),
      cmocka_unit_test(test_untrusted_chain),
      cmocka_unit_test(test_signer_expired_on_issue_date),
      cmocka_unit_test(test_revoked_signer),
      cmocka_unit_test(test_revoked_signer_der_crl),
      cmocka_unit_test(test_stale_crl),
      cmocka_unit_test(test_expired_anchor_window),
      cmocka_unit_test(test_signer_without_digital_signature),
      cmocka_unit_test(test_unsupported_alg),
      cmocka_unit_test(test_malformed_and_truncated),
      cmocka_unit_test(test_reason_order),
      cmocka_unit_test(test_trust_without_anchors),
      cmocka_unit_test(test_trust_garbage_file),
      cmocka_unit_test(test_trust_generation_and_counts),
      cmocka_unit_test(test_trust_der_certificates),
      cmocka_unit_test(test_verifier_reused),
      cmocka_unit_test(test_two_threads_share_trust),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
