/* trust.c — certctl trust: list the seal trust store, add anchors, signers
 * and CRLs to it, revoke a signer.
 *
 * The trust store is a directory (core/trust.h, docs/seal.md). add writes one
 * PEM file per certificate or CRL, named by the SHA-256 of its DER, and never
 * replaces a file; revoke appends a signer's fingerprint to revoked.txt.
 * Nothing else is changed. A running certgw reads the directory again on
 * SIGHUP, and the new generation makes it re-check what the change affects.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <mbedtls/asn1.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "certctl.h"
#include "core/cert.h"
#include "core/trust.h"

#define FILE_MAX (1 << 20)  /* as core/trust.c reads them */
#define COMMENT_MAX 200     /* bytes of a revoked.txt comment line (trust.c reads 255) */
#define SUBJECT_MAX 1024

#define SYNOPSIS                                                                                  \
  "usage: certctl trust list   (-c CONF | --trust DIR [-d DATADIR])\n"                            \
  "       certctl trust add    (-c CONF | --trust DIR)\n"                                        \
  "                            --anchor FILE | --signer FILE | --crl FILE\n"                      \
  "       certctl trust revoke (-c CONF | --trust DIR [-d DATADIR])\n"                            \
  "                            --signer FINGERPRINT | --cert FILE [--reason TEXT]\n"

static const char usage_short[] = SYNOPSIS "`certctl trust --help` explains more.\n";
static const char usage_all[] =
    SYNOPSIS
    "\n"
    "The trust store is the directory of the config's [seal] trust_dir (or\n"
    "--trust DIR): anchors/ (seal CA certificates), signers/ (agencies' seal\n"
    "certificates), crl/ (the CAs' revocation lists) and revoked.txt (signers\n"
    "the operator withdrew trust from). With -c or -d the store's own signer\n"
    "certificates are shown and known too.\n"
    "\n"
    "  list    the anchors (subject, validity, SHA-256), the signers (SHA-256,\n"
    "          validity, state: ok, revoked, revoked-crl, untrusted or\n"
    "          no-key-usage; subject), the CRLs (issuer, next update, entries)\n"
    "          and the trust generation certgw reports.\n"
    "  add     copies a certificate (PEM or DER; a PEM file may hold several)\n"
    "          or a CRL into anchors/, signers/ or crl/ as SHA256.pem. Refuses\n"
    "          what does not parse, an anchor that is not a CA, and anything\n"
    "          already there.\n"
    "  revoke  appends the signer's fingerprint (64 hex digits, or that of the\n"
    "          certificate in FILE) to revoked.txt with a dated comment; seals\n"
    "          it made fail as signer_revoked. Revoking twice changes nothing.\n"
    "\n"
    "A running certgw picks up a change on SIGHUP (kill -HUP <pid of certgw>)\n"
    "and re-checks the certificates it affects; until then it goes on with the\n"
    "trust store it has.\n"
    "\n"
    "Exit status: 0 done, 1 refused or failed (the reason on standard error),\n"
    "2 bad usage.\n";

static const char hup_note[] =
    "A running certgw picks this up on SIGHUP (kill -HUP <pid of certgw>) and re-checks the "
    "certificates it affects.";

enum { OPT_TRUST = 1000, OPT_ANCHOR, OPT_SIGNER, OPT_CRL, OPT_CERT, OPT_REASON, OPT_HELP };
enum { A_DATA = 1, A_ANCHOR = 2, A_SIGNER = 4, A_CRL = 8, A_CERT = 16, A_REASON = 32 };

struct args {
  ctl_target_t t;
  const char *trust;
  const char *anchor, *signer, *crl, *cert, *reason;
  int given;
};

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...) {
  va_list ap;
  fputs("certctl trust: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\n", stderr);
  fputs(usage_short, stderr);
  return 2;
}

/* Parses argv (argv[0] is the command) into a. Returns 0, or -1 with the
 * exit status in *status after printing usage. */
static int parse(int argc, char **argv, int allowed, struct args *a, int *status) {
  static const struct option opts[] = {
      {"config", required_argument, NULL, 'c'},
      {"data", required_argument, NULL, 'd'},
      {"trust", required_argument, NULL, OPT_TRUST},
      {"anchor", required_argument, NULL, OPT_ANCHOR},
      {"signer", required_argument, NULL, OPT_SIGNER},
      {"crl", required_argument, NULL, OPT_CRL},
      {"cert", required_argument, NULL, OPT_CERT},
      {"reason", required_argument, NULL, OPT_REASON},
      {"help", no_argument, NULL, OPT_HELP},
      {NULL, 0, NULL, 0},
  };
  static const struct {
    int bit;
    const char *name;
  } names[] = {{A_DATA, "-d"},       {A_ANCHOR, "--anchor"}, {A_SIGNER, "--signer"},
               {A_CRL, "--crl"},     {A_CERT, "--cert"},     {A_REASON, "--reason"}};
  int c;

  memset(a, 0, sizeof *a);
  *status = 0;
  optind = 1;
  opterr = 1;
  while ((c = getopt_long(argc, argv, "c:d:h", opts, NULL)) != -1) {
    switch (c) {
    case 'c': a->t.config = optarg; break;
    case 'd': a->t.data = optarg; a->given |= A_DATA; break;
    case OPT_TRUST: a->trust = optarg; break;
    case OPT_ANCHOR: a->anchor = optarg; a->given |= A_ANCHOR; break;
    case OPT_SIGNER: a->signer = optarg; a->given |= A_SIGNER; break;
    case OPT_CRL: a->crl = optarg; a->given |= A_CRL; break;
    case OPT_CERT: a->cert = optarg; a->given |= A_CERT; break;
    case OPT_REASON: a->reason = optarg; a->given |= A_REASON; break;
    case 'h':
    case OPT_HELP: fputs(usage_all, stdout); return -1;
    default: fputs(usage_short, stderr); *status = 2; return -1;
    }
  }
  if (optind != argc) {
    *status = bad_usage("unexpected argument \"%s\"", argv[optind]);
    return -1;
  }
  if (a->t.config == NULL && a->trust == NULL) {
    *status = bad_usage("%s", "give -c CONF or --trust DIR");
    return -1;
  }
  if (a->t.config && a->t.data) {
    *status = bad_usage("%s", "give -c CONF or -d DATADIR, not both");
    return -1;
  }
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if ((a->given & names[i].bit) && !(allowed & names[i].bit)) {
      *status = bad_usage("%s is not an option of \"trust %s\"", names[i].name, argv[0]);
      return -1;
    }
  return 0;
}

/* The trust directory a names (--trust wins over the config's), copied to
 * buf. Returns buf, or NULL after saying what is wrong; *cfg is the config
 * when -c was given. */
static const char *trust_dir(const struct args *a, cg_config_t **cfg, char buf[4096]) {
  cg_why_t why = {""};
  struct stat st;
  const char *dir = a->trust;

  *cfg = NULL;
  if (a->t.config != NULL) {
    if (cg_config_load(cfg, a->t.config, &why) != 0) {
      fprintf(stderr, "certctl: %s\n", why.text);
      return NULL;
    }
    if (dir == NULL && (*cfg)->trust_dir[0] == '\0') {
      fprintf(stderr, "certctl: %s has no [seal] trust_dir; give --trust DIR\n", a->t.config);
      return NULL;
    }
    if (dir == NULL)
      dir = (*cfg)->trust_dir;
  }
  errno = 0;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    fprintf(stderr, "certctl: %s: %s\n", dir, errno ? strerror(errno) : "not a directory");
    return NULL;
  }
  snprintf(buf, 4096, "%s", dir);
  return buf;
}

/* The store named by -c or -d, read-only, for the signer certificates it
 * holds; NULL (and nothing said) when there is none. */
static cg_store_t *open_store(const struct args *a, const cg_config_t *cfg) {
  char path[4200];
  const char *dir = cfg ? cfg->store_path : a->t.data;

  if (dir == NULL)
    return NULL;
  snprintf(path, sizeof path, "%s/data.mdb", dir);
  if (access(path, F_OK) != 0)
    return NULL;
  return ctl_open_store(&a->t, 1, NULL);
}

/* ---- formatting ------------------------------------------------------------------ */

static void hex(const uint8_t *p, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = '\0';
}

static void date(const mbedtls_x509_time *t, char out[16]) {
  if (t->year == 0)
    snprintf(out, 16, "-");
  else
    snprintf(out, 16, "%04d-%02d-%02d", t->year, t->mon, t->day);
}

struct out {
  char *p;
  size_t len, cap;
};

static void put(struct out *o, const char *s, size_t n) {
  if (o->len + n >= o->cap)
    n = o->len + 1 < o->cap ? o->cap - o->len - 1 : 0;
  memcpy(o->p + o->len, s, n);
  o->len += n;
  o->p[o->len] = '\0';
}

static void put_utf8(struct out *o, unsigned cp) {
  char b[4];
  size_t n;
  if (cp < 0x80)
    b[0] = (char)cp, n = 1;
  else if (cp < 0x800)
    b[0] = (char)(0xc0 | cp >> 6), b[1] = (char)(0x80 | (cp & 63)), n = 2;
  else
    b[0] = (char)(0xe0 | cp >> 12), b[1] = (char)(0x80 | ((cp >> 6) & 63)),
    b[2] = (char)(0x80 | (cp & 63)), n = 3;
  put(o, b, n);
}

/* One attribute value: UTF-8 as it is (mbedtls_x509_dn_gets would turn every
 * byte of a Chinese name into '?'), BMPString converted, anything else with
 * its odd bytes escaped; control characters never reach the terminal. */
static void put_value(struct out *o, const mbedtls_asn1_buf *v) {
  if (v->tag == MBEDTLS_ASN1_BMP_STRING && v->len % 2 == 0) {
    for (size_t i = 0; i < v->len; i += 2) {
      unsigned cp = (unsigned)v->p[i] << 8 | v->p[i + 1];
      put_utf8(o, cp < 0x20 || cp == 0x7f || (cp >= 0xd800 && cp < 0xe000) ? '?' : cp);
    }
    return;
  }
  int utf8 = cg_utf8_valid((const char *)v->p, v->len);
  for (size_t i = 0; i < v->len; i++) {
    unsigned char c = v->p[i];
    char esc[8];
    if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8)) {
      snprintf(esc, sizeof esc, "\\x%02x", c);
      put(o, esc, 4);
    } else {
      put(o, (const char *)&c, 1);
    }
  }
}

/* A distinguished name in DER order, as mbedtls_x509_dn_gets writes it. */
static void dn(const mbedtls_x509_name *n, char *buf, size_t cap) {
  struct out o = {buf, 0, cap};
  int merged = 0;

  buf[0] = '\0';
  for (; n != NULL; n = n->next) {
    const char *sn = NULL;
    char oid[64];
    if (n->oid.p == NULL)
      continue;
    if (o.len > 0)
      put(&o, merged ? " + " : ", ", merged ? 3 : 2);
    if (mbedtls_oid_get_attr_short_name(&n->oid, &sn) != 0) {
      if (mbedtls_oid_get_numeric_string(oid, sizeof oid, &n->oid) < 0)
        snprintf(oid, sizeof oid, "?");
      sn = oid;
    }
    put(&o, sn, strlen(sn));
    put(&o, "=", 1);
    put_value(&o, &n->val);
    merged = n->next_merged;
  }
}

/* ---- reading the trust store ----------------------------------------------------------- */

/* Reads a file whole, NUL-terminated; NULL after saying why. */
static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  unsigned char *buf = NULL;
  long n;

  if (f == NULL) {
    fprintf(stderr, "certctl: %s: %s\n", path, strerror(errno));
    return NULL;
  }
  if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > FILE_MAX) {
    fprintf(stderr, "certctl: %s: not a file of at most %d bytes\n", path, FILE_MAX);
    fclose(f);
    return NULL;
  }
  rewind(f);
  if ((buf = malloc((size_t)n + 1)) == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
    fprintf(stderr, "certctl: %s: cannot read it\n", path);
    free(buf);
    buf = NULL;
  } else {
    buf[n] = '\0';
    *len = (size_t)n;
  }
  fclose(f);
  return buf;
}

/* PEM is parsed with its NUL counted, DER without (as core/trust.c does). */
static size_t parse_len(const unsigned char *buf, size_t len) {
  return strstr((const char *)buf, "-----BEGIN ") != NULL ? len + 1 : len;
}

static int count_crts(const mbedtls_x509_crt *c) {
  int n = 0;
  for (; c != NULL && c->raw.p != NULL; c = c->next)
    n++;
  return n;
}

static int count_crls(const mbedtls_x509_crl *c) {
  int n = 0;
  for (; c != NULL && c->raw.p != NULL; c = c->next)
    n++;
  return n;
}

static const mbedtls_x509_crt *nth_crt(const mbedtls_x509_crt *c, int i) {
  for (; i > 0 && c != NULL; i--)
    c = c->next;
  return c;
}

static const mbedtls_x509_crl *nth_crl(const mbedtls_x509_crl *c, int i) {
  for (; i > 0 && c != NULL; i--)
    c = c->next;
  return c;
}

struct entry {
  char file[272];   /* SUB/NAME, or "store" */
  uint8_t fpr[32];  /* SHA-256 of the DER */
  const mbedtls_x509_crt *crt;
  const mbedtls_x509_crl *crl;
};

struct revoked {
  uint8_t fpr[32];
  int line;
};

/* What the directory (and the store) hold, each certificate and CRL once
 * per file it is in, in file name order. */
struct view {
  const char *dir;
  mbedtls_x509_crt anchors, signers;
  mbedtls_x509_crl crls;
  struct entry *e[3];
  int n[3];
  struct revoked *rev;
  int nrev;
  int bad; /* files or lines certgw would refuse */
};

enum { K_ANCHOR, K_SIGNER, K_CRL };
static const char *const subdir[] = {"anchors", "signers", "crl"};

static int push(struct view *v, int k, const char *file, const uint8_t *der, size_t len,
                const mbedtls_x509_crt *crt, const mbedtls_x509_crl *crl) {
  struct entry *more = realloc(v->e[k], (size_t)(v->n[k] + 1) * sizeof *more), *e;
  if (more == NULL)
    return CG_ENOMEM;
  v->e[k] = more;
  e = &more[v->n[k]++];
  snprintf(e->file, sizeof e->file, "%s", file);
  mbedtls_sha256_ret(der, len, e->fpr, 0);
  e->crt = crt;
  e->crl = crl;
  return 0;
}

static int suffix(const char *name, const char *suf) {
  size_t n = strlen(name), s = strlen(suf);
  return n > s && strcmp(name + n - s, suf) == 0;
}

static int files_of(const struct dirent *d) {
  return suffix(d->d_name, ".pem") || suffix(d->d_name, ".crl");
}

/* Each file of SUB that core/trust.c loads: parsed and listed. */
static int load_sub(struct view *v, int k) {
  char path[4400], file[272];
  struct dirent **names = NULL;
  int n, err = 0;

  snprintf(path, sizeof path, "%s/%s", v->dir, subdir[k]);
  /* alphasort: the C locale here, so the order of core/trust.c's strcmp. */
  if ((n = scandir(path, &names, files_of, alphasort)) < 0) {
    if (errno == ENOENT)
      return 0;
    fprintf(stderr, "certctl: %s: %s\n", path, strerror(errno));
    return CG_EIO;
  }
  for (int i = 0; i < n && !err; i++) {
    const char *name = names[i]->d_name;
    unsigned char *buf;
    size_t len = 0;
    int before, rc;

    if (!suffix(name, ".pem") && !(k == K_CRL && suffix(name, ".crl")))
      continue;
    snprintf(path, sizeof path, "%s/%s/%s", v->dir, subdir[k], name);
    snprintf(file, sizeof file, "%s/%s", subdir[k], name);
    if ((buf = slurp(path, &len)) == NULL) {
      v->bad++;
      continue;
    }
    if (k == K_CRL) {
      before = count_crls(&v->crls);
      rc = mbedtls_x509_crl_parse(&v->crls, buf, parse_len(buf, len));
      for (const mbedtls_x509_crl *c = nth_crl(&v->crls, before); !err && c && c->raw.p;
           c = c->next)
        err = push(v, k, file, c->raw.p, c->raw.len, NULL, c);
    } else {
      mbedtls_x509_crt *chain = k == K_ANCHOR ? &v->anchors : &v->signers;
      before = count_crts(chain);
      rc = mbedtls_x509_crt_parse(chain, buf, parse_len(buf, len));
      for (const mbedtls_x509_crt *c = nth_crt(chain, before); !err && c && c->raw.p;
           c = c->next)
        err = push(v, k, file, c->raw.p, c->raw.len, c, NULL);
    }
    if (rc != 0) {
      fprintf(stderr, "certctl: warning: %s: not (only) %s in PEM or DER; certgw refuses this "
                      "trust store\n", path, k == K_CRL ? "CRLs" : "certificates");
      v->bad++;
    }
    free(buf);
  }
  for (int i = 0; i < n; i++)
    free(names[i]);
  free(names);
  return err;
}

static int store_signer(void *arg, cg_slice_t key, cg_slice_t val) {
  struct view *v = arg;
  int before = count_crts(&v->signers);
  uint8_t fpr[32];
  (void)key;

  mbedtls_sha256_ret((const unsigned char *)val.base, val.len, fpr, 0);
  for (int i = 0; i < v->n[K_SIGNER]; i++)
    if (memcmp(v->e[K_SIGNER][i].fpr, fpr, 32) == 0)
      return 0; /* in signers/ too */
  if (mbedtls_x509_crt_parse_der(&v->signers, (const unsigned char *)val.base, val.len) != 0)
    return 0; /* certgw leaves it out as well */
  const mbedtls_x509_crt *c = nth_crt(&v->signers, before);
  return push(v, K_SIGNER, "store", c->raw.p, c->raw.len, c, NULL);
}

static int unhex(int c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                      : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                             : -1;
}

/* 64 hex digits (colons between pairs allowed) into fpr. 0 or -1. */
static int parse_fpr(const char *s, size_t len, uint8_t fpr[32]) {
  int n = 0;
  for (size_t i = 0; i < len; i++) {
    int hi, lo;
    if (s[i] == ':' && n > 0 && n < 32)
      continue;
    if (n == 32 || i + 1 >= len || (hi = unhex(s[i])) < 0 || (lo = unhex(s[i + 1])) < 0)
      return -1;
    fpr[n++] = (uint8_t)(hi << 4 | lo);
    i++;
  }
  return n == 32 ? 0 : -1;
}

/* revoked.txt as core/trust.c reads it: a fingerprint a line, # comments. */
static int load_revoked(struct view *v) {
  char path[4200], *line = NULL;
  size_t cap = 0;
  int lineno = 0, err = 0;
  FILE *f;

  snprintf(path, sizeof path, "%s/revoked.txt", v->dir);
  if ((f = fopen(path, "r")) == NULL) {
    if (errno == ENOENT)
      return 0;
    fprintf(stderr, "certctl: %s: %s\n", path, strerror(errno));
    return CG_EIO;
  }
  while (getline(&line, &cap, f) > 0) {
    char *p = line, *e;
    uint8_t fpr[32];
    lineno++;
    while (*p == ' ' || *p == '\t')
      p++;
    if (*p == '#' || *p == '\n' || *p == '\0')
      continue;
    for (e = p; *e && *e != '\n' && *e != ' ' && *e != '\t' && *e != '#'; e++)
      ;
    if (e - p != 64 || parse_fpr(p, 64, fpr) != 0) {
      fprintf(stderr, "certctl: warning: %s:%d: not a 64-digit fingerprint; certgw refuses this "
                      "trust store\n", path, lineno);
      v->bad++;
      continue;
    }
    struct revoked *more = realloc(v->rev, (size_t)(v->nrev + 1) * sizeof *more);
    if (more == NULL) {
      err = CG_ENOMEM;
      break;
    }
    v->rev = more;
    memcpy(v->rev[v->nrev].fpr, fpr, 32);
    v->rev[v->nrev++].line = lineno;
  }
  free(line);
  fclose(f);
  return err;
}

static void view_free(struct view *v) {
  for (int k = 0; k < 3; k++)
    free(v->e[k]);
  free(v->rev);
  mbedtls_x509_crt_free(&v->anchors);
  mbedtls_x509_crt_free(&v->signers);
  mbedtls_x509_crl_free(&v->crls);
}

/* Reads dir (and the store's signers, if s). Returns 0 or a CG_E… code
 * after saying what is wrong. */
static int view_load(struct view *v, const char *dir, cg_store_t *s) {
  int err = 0;

  memset(v, 0, sizeof *v);
  v->dir = dir;
  mbedtls_x509_crt_init(&v->anchors);
  mbedtls_x509_crt_init(&v->signers);
  mbedtls_x509_crl_init(&v->crls);
  for (int k = 0; k < 3 && !err; k++)
    err = load_sub(v, k);
  if (!err)
    err = load_revoked(v);
  if (!err && s != NULL) {
    cg_store_reader_t *r = NULL;
    if ((err = cg_store_reader_open(s, &r)) == 0 && (err = cg_store_reader_begin(r)) == 0) {
      err = cg_store_each(r, CG_DB_SIGNER, store_signer, v);
      cg_store_reader_end(r);
    }
    cg_store_reader_close(r);
    if (err)
      fprintf(stderr, "certctl: cannot read the store's signers: %s\n", cg_strerror(err));
  }
  if (err)
    view_free(v);
  return err;
}

static const struct entry *find(const struct view *v, int k, const uint8_t fpr[32]) {
  for (int i = 0; i < v->n[k]; i++)
    if (memcmp(v->e[k][i].fpr, fpr, 32) == 0)
      return &v->e[k][i];
  return NULL;
}

static const struct revoked *find_revoked(const struct view *v, const uint8_t fpr[32]) {
  for (int i = 0; i < v->nrev; i++)
    if (memcmp(v->rev[i].fpr, fpr, 32) == 0)
      return &v->rev[i];
  return NULL;
}

/* How certgw would judge a signer apart from any seal (core/seal.c): the
 * operator's list, then the chain and CRLs (validity is judged per seal, on
 * its issue date), then keyUsage. */
static const char *signer_state(const struct view *v, const struct entry *e) {
  uint32_t flags = 0;
  if (find_revoked(v, e->fpr))
    return "revoked";
  mbedtls_x509_crt_verify_with_profile((mbedtls_x509_crt *)e->crt, (mbedtls_x509_crt *)&v->anchors,
                                       count_crls(&v->crls) ? (mbedtls_x509_crl *)&v->crls : NULL,
                                       &mbedtls_x509_crt_profile_default, NULL, &flags, NULL, NULL);
  flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE |
                       MBEDTLS_X509_BADCRL_EXPIRED | MBEDTLS_X509_BADCRL_FUTURE);
  if (flags & MBEDTLS_X509_BADCERT_REVOKED)
    return "revoked-crl";
  if (flags)
    return "untrusted";
  if (!(e->crt->ext_types & MBEDTLS_X509_EXT_KEY_USAGE) ||
      mbedtls_x509_crt_check_key_usage(e->crt, MBEDTLS_X509_KU_DIGITAL_SIGNATURE) != 0)
    return "no-key-usage";
  return "ok";
}

/* The generation certgw would report, or 0 after saying why it would refuse. */
static uint32_t generation(const char *dir) {
  cg_trust_t *t;
  cg_why_t why = {""};
  uint32_t gen;
  if (cg_trust_load(&t, dir, NULL, &why) != 0) {
    fprintf(stderr, "certctl: the trust store does not load: %s\n", why.text);
    return 0;
  }
  gen = cg_trust_generation(t);
  cg_trust_free(t);
  return gen;
}

/* ---- list ------------------------------------------------------------------------------ */

static int trust_list(int argc, char **argv) {
  struct args a;
  struct view v;
  cg_config_t *cfg = NULL;
  cg_store_t *s = NULL;
  const char *dir;
  char subject[SUBJECT_MAX], fpr[65], from[16], to[16], dirbuf[4096];
  int status, nrevoked = 0, nok = 0;
  uint32_t gen;

  if (parse(argc, argv, A_DATA, &a, &status) != 0)
    return status;
  if ((dir = trust_dir(&a, &cfg, dirbuf)) == NULL) {
    cg_config_free(cfg);
    return 1;
  }
  s = open_store(&a, cfg);
  if (view_load(&v, dir, s) != 0) {
    cg_store_close(s);
    cg_config_free(cfg);
    return 1;
  }
  gen = generation(dir);
  printf("trust store %s\n", dir);

  printf("\nanchors (%d)\n", v.n[K_ANCHOR]);
  for (int i = 0; i < v.n[K_ANCHOR]; i++) {
    const struct entry *e = &v.e[K_ANCHOR][i];
    hex(e->fpr, 32, fpr);
    date(&e->crt->valid_from, from);
    date(&e->crt->valid_to, to);
    dn(&e->crt->subject, subject, sizeof subject);
    printf("  %s  %s..%s  %s%s  [%s]\n", fpr, from, to, subject,
           e->crt->ca_istrue ? "" : "  (not a CA)", e->file);
  }

  for (int i = 0; i < v.n[K_SIGNER]; i++) {
    const char *st = signer_state(&v, &v.e[K_SIGNER][i]);
    nok += strcmp(st, "ok") == 0;
    nrevoked += strncmp(st, "revoked", 7) == 0;
  }
  printf("\nsigners (%d: %d ok, %d revoked, %d untrusted or unfit)\n", v.n[K_SIGNER], nok,
         nrevoked, v.n[K_SIGNER] - nok - nrevoked);
  for (int i = 0; i < v.n[K_SIGNER]; i++) {
    const struct entry *e = &v.e[K_SIGNER][i];
    hex(e->fpr, 32, fpr);
    date(&e->crt->valid_from, from);
    date(&e->crt->valid_to, to);
    dn(&e->crt->subject, subject, sizeof subject);
    /* The subject last: its Chinese characters would throw any column after it. */
    printf("  %s  %s..%s  %-12s  %s  [%s]\n", fpr, from, to, signer_state(&v, e), subject, e->file);
  }

  printf("\ncrl (%d)\n", v.n[K_CRL]);
  for (int i = 0; i < v.n[K_CRL]; i++) {
    const struct entry *e = &v.e[K_CRL][i];
    int entries = 0;
    for (const mbedtls_x509_crl_entry *x = &e->crl->entry; x != NULL && x->raw.p != NULL;
         x = x->next)
      entries++;
    date(&e->crl->this_update, from);
    date(&e->crl->next_update, to);
    dn(&e->crl->issuer, subject, sizeof subject);
    printf("  this update %s  next update %s  %d revoked  issuer %s  [%s]\n", from, to, entries,
           subject, e->file);
  }

  printf("\nrevoked.txt (%d)\n", v.nrev);
  for (int i = 0; i < v.nrev; i++) {
    const struct entry *e = find(&v, K_SIGNER, v.rev[i].fpr);
    hex(v.rev[i].fpr, 32, fpr);
    if (e != NULL)
      dn(&e->crt->subject, subject, sizeof subject);
    else
      snprintf(subject, sizeof subject, "(no such signer is known)");
    printf("  %s  line %-4d  %s\n", fpr, v.rev[i].line, subject);
  }

  if (gen != 0)
    printf("\ngeneration %08x\n", gen);
  else
    printf("\ngeneration none: certgw refuses this trust store\n");
  status = gen == 0 || v.bad ? 1 : 0;
  view_free(&v);
  cg_store_close(s);
  cg_config_free(cfg);
  return status;
}

/* ---- add ------------------------------------------------------------------------------------ */

/* Writes text to DIR/SUB/NAME, which must not exist: written beside it under
 * a name trust.c does not load, synced, then linked into place (link, unlike
 * rename, refuses to replace). 0, CG_EEXIST or CG_EIO after saying why. */
static int write_new(const char *dir, const char *sub, const char *name, const char *text,
                     size_t len) {
  char tmp[4400], path[4400];
  int fd, err = 0;

  snprintf(path, sizeof path, "%s/%s", dir, sub);
  if (mkdir(path, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "certctl: cannot create %s: %s\n", path, strerror(errno));
    return CG_EIO;
  }
  snprintf(tmp, sizeof tmp, "%s/%s/.certctl-XXXXXX", dir, sub);
  snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
  if ((fd = mkstemp(tmp)) < 0) {
    fprintf(stderr, "certctl: cannot write in %s/%s: %s\n", dir, sub, strerror(errno));
    return CG_EIO;
  }
  if (fchmod(fd, 0644) != 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
    fprintf(stderr, "certctl: %s: %s\n", tmp, strerror(errno));
    err = CG_EIO;
  }
  if (close(fd) != 0 && !err)
    err = CG_EIO;
  if (!err && link(tmp, path) != 0) {
    err = errno == EEXIST ? CG_EEXIST : CG_EIO;
    fprintf(stderr, "certctl: %s: %s\n", path, strerror(errno));
  }
  unlink(tmp);
  if (!err) {
    snprintf(tmp, sizeof tmp, "%s/%s", dir, sub);
    if ((fd = open(tmp, O_RDONLY | O_DIRECTORY)) >= 0) {
      fsync(fd);
      close(fd);
    }
  }
  return err;
}

static int trust_add(int argc, char **argv) {
  struct args a;
  struct view v;
  cg_config_t *cfg = NULL;
  mbedtls_x509_crt crts;
  mbedtls_x509_crl crls;
  unsigned char *buf = NULL;
  const char *dir, *path;
  char subject[SUBJECT_MAX], fpr[65], name[80], *pem = NULL, dirbuf[4096];
  size_t len = 0;
  int status, k, n, rc, err = 0, added = 0;
  uint32_t gen;

  if (parse(argc, argv, A_ANCHOR | A_SIGNER | A_CRL, &a, &status) != 0)
    return status;
  n = !!a.anchor + !!a.signer + !!a.crl;
  if (n != 1)
    return bad_usage("%s", "give one of --anchor FILE, --signer FILE, --crl FILE");
  k = a.anchor ? K_ANCHOR : a.signer ? K_SIGNER : K_CRL;
  path = a.anchor ? a.anchor : a.signer ? a.signer : a.crl;
  if ((dir = trust_dir(&a, &cfg, dirbuf)) == NULL) {
    cg_config_free(cfg);
    return 1;
  }
  cg_config_free(cfg);
  if ((buf = slurp(path, &len)) == NULL)
    return 1;
  mbedtls_x509_crt_init(&crts);
  mbedtls_x509_crl_init(&crls);
  if (k == K_CRL) {
    rc = mbedtls_x509_crl_parse(&crls, buf, parse_len(buf, len));
    n = count_crls(&crls);
  } else {
    rc = mbedtls_x509_crt_parse(&crts, buf, parse_len(buf, len));
    n = count_crts(&crts);
  }
  free(buf);
  if (rc != 0 || n == 0) {
    fprintf(stderr, "certctl: %s: not %s in PEM or DER; nothing was added\n", path,
            k == K_CRL ? "a CRL" : "a certificate");
    mbedtls_x509_crt_free(&crts);
    mbedtls_x509_crl_free(&crls);
    return 1;
  }
  if (view_load(&v, dir, NULL) != 0) {
    mbedtls_x509_crt_free(&crts);
    mbedtls_x509_crl_free(&crls);
    return 1;
  }

  /* Everything is checked before anything is written. */
  for (int i = 0; i < n && !err; i++) {
    const mbedtls_x509_crt *c = k == K_CRL ? NULL : nth_crt(&crts, i);
    const mbedtls_x509_crl *l = k == K_CRL ? nth_crl(&crls, i) : NULL;
    const mbedtls_x509_buf *raw = c ? &c->raw : &l->raw;
    uint8_t f[32];
    const struct entry *dup;

    mbedtls_sha256_ret(raw->p, raw->len, f, 0);
    hex(f, 32, fpr);
    dn(c ? &c->subject : &l->issuer, subject, sizeof subject);
    if ((dup = find(&v, k, f)) != NULL) {
      fprintf(stderr, "certctl: %s (%s, SHA-256 %s) is in the trust store already as %s; nothing "
                      "was added\n", path, subject, fpr, dup->file);
      err = CG_EEXIST;
    } else if (k == K_CRL && l->next_update.year == 0) {
      /* certgw refuses such a CRL (core/trust.c): the trust store would
       * not load at its next reload or start. */
      fprintf(stderr,
              "certctl: %s (%s) has no nextUpdate, which RFC 5280 requires and certgw "
              "does too; nothing was added\n",
              path, subject);
      err = CG_EBADREQ;
    } else if (k == K_ANCHOR && !c->ca_istrue) {
      fprintf(stderr, "certctl: %s (%s) is not a CA certificate (basicConstraints cA is not set); "
                      "an agency's seal certificate goes in with --signer; nothing was added\n",
              path, subject);
      err = CG_EBADREQ;
    }
    for (int j = 0; j < i && !err; j++) { /* a file holding the same thing twice */
      const mbedtls_x509_buf *r2 = c ? &nth_crt(&crts, j)->raw : &nth_crl(&crls, j)->raw;
      if (r2->len == raw->len && memcmp(r2->p, raw->p, raw->len) == 0) {
        fprintf(stderr, "certctl: %s holds %s twice; nothing was added\n", path, subject);
        err = CG_EEXIST;
      }
    }
  }

  for (int i = 0; i < n && !err; i++) {
    const mbedtls_x509_crt *c = k == K_CRL ? NULL : nth_crt(&crts, i);
    const mbedtls_x509_crl *l = k == K_CRL ? nth_crl(&crls, i) : NULL;
    const mbedtls_x509_buf *raw = c ? &c->raw : &l->raw;
    size_t cap = raw->len * 2 + 128, olen = 0;
    uint8_t f[32];

    mbedtls_sha256_ret(raw->p, raw->len, f, 0);
    hex(f, 32, fpr);
    snprintf(name, sizeof name, "%s.pem", fpr);
    dn(c ? &c->subject : &l->issuer, subject, sizeof subject);
    free(pem);
    if ((pem = malloc(cap)) == NULL ||
        mbedtls_pem_write_buffer(c ? "-----BEGIN CERTIFICATE-----\n" : "-----BEGIN X509 CRL-----\n",
                                 c ? "-----END CERTIFICATE-----\n" : "-----END X509 CRL-----\n",
                                 raw->p, raw->len, (unsigned char *)pem, cap, &olen) != 0) {
      fprintf(stderr, "certctl: cannot write %s as PEM\n", subject);
      err = CG_ECRYPTO;
      break;
    }
    /* olen counts the terminating NUL. */
    if ((err = write_new(dir, subdir[k], name, pem, olen - 1)) != 0) {
      if (err == CG_EEXIST)
        fprintf(stderr, "certctl: %s/%s exists already\n", subdir[k], name);
      break;
    }
    added++;
    printf("added %s/%s: %s\n", subdir[k], name, subject);
    if (k == K_SIGNER) {
      struct entry e = {.crt = c};
      const char *st;
      memcpy(e.fpr, f, 32);
      st = signer_state(&v, &e);
      if (strcmp(st, "untrusted") == 0)
        fprintf(stderr, "certctl: warning: %s does not chain to an anchor of this trust store: its "
                        "seals fail as untrusted_chain until its CA is added with --anchor\n",
                subject);
      else if (strcmp(st, "no-key-usage") == 0)
        fprintf(stderr, "certctl: warning: %s lacks keyUsage digitalSignature: its seals fail as "
                        "signer_key_usage\n", subject);
      else if (strcmp(st, "ok") != 0)
        fprintf(stderr, "certctl: warning: %s is %s\n", subject, st);
    }
    if (k == K_CRL) {
      int issuer_known = 0;
      for (int j = 0; j < v.n[K_ANCHOR]; j++)
        if (v.e[K_ANCHOR][j].crt->subject_raw.len == l->issuer_raw.len &&
            memcmp(v.e[K_ANCHOR][j].crt->subject_raw.p, l->issuer_raw.p, l->issuer_raw.len) == 0)
          issuer_known = 1;
      if (!issuer_known)
        fprintf(stderr, "certctl: warning: no anchor is this CRL's issuer (%s): it revokes "
                        "nothing until its CA is an anchor\n", subject);
    }
  }
  free(pem);
  view_free(&v);
  mbedtls_x509_crt_free(&crts);
  mbedtls_x509_crl_free(&crls);
  if (added == 0)
    return 1;
  if ((gen = generation(dir)) != 0)
    printf("trust generation now %08x. %s\n", gen, hup_note);
  return err || gen == 0 ? 1 : 0;
}

/* ---- revoke ---------------------------------------------------------------------------------- */

/* Copies s into out as one comment line's text: control characters become
 * spaces, and it is cut (on a character boundary) to fit. */
static void comment_text(const char *s, char *out, size_t cap) {
  size_t n = 0;
  for (; *s && n + 1 < cap; s++)
    out[n++] = (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s;
  if (((unsigned char)*s & 0xc0) == 0x80) { /* cut inside a character: drop its start */
    while (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
      n--;
    if (n > 0)
      n--;
  }
  out[n] = '\0';
}

static int trust_revoke(int argc, char **argv) {
  struct args a;
  struct view v;
  cg_config_t *cfg = NULL;
  cg_store_t *s;
  const char *dir;
  const struct entry *e;
  const struct revoked *r;
  char subject[SUBJECT_MAX], fpr[65], path[4200], stamp[32], line1[COMMENT_MAX],
      line2[COMMENT_MAX], reason[128], text[3 * COMMENT_MAX], dirbuf[4096];
  uint8_t f[32];
  time_t now = time(NULL);
  struct tm tm;
  struct stat st;
  int status, fd, n, with_store;
  uint32_t gen;

  if (parse(argc, argv, A_DATA | A_SIGNER | A_CERT | A_REASON, &a, &status) != 0)
    return status;
  if (!!a.signer + !!a.cert != 1)
    return bad_usage("%s", "give one of --signer FINGERPRINT, --cert FILE");
  if (a.reason != NULL && !cg_utf8_valid(a.reason, strlen(a.reason))) {
    fprintf(stderr, "certctl: --reason must be UTF-8 text\n");
    return 1;
  }
  if (a.signer != NULL && parse_fpr(a.signer, strlen(a.signer), f) != 0) {
    fprintf(stderr, "certctl: \"%s\" is not a signer fingerprint: 64 hex digits, the SHA-256 of "
                    "its certificate (the seal's \"signer\"; `certctl trust list` shows them)\n",
            a.signer);
    return 1;
  }
  if (a.cert != NULL) {
    mbedtls_x509_crt c;
    size_t len = 0;
    unsigned char *buf = slurp(a.cert, &len);
    if (buf == NULL)
      return 1;
    mbedtls_x509_crt_init(&c);
    n = mbedtls_x509_crt_parse(&c, buf, parse_len(buf, len)) == 0 ? count_crts(&c) : 0;
    free(buf);
    if (n != 1) {
      fprintf(stderr, "certctl: %s: %s\n", a.cert,
              n ? "holds several certificates; revoke one at a time"
                : "not a certificate in PEM or DER");
      mbedtls_x509_crt_free(&c);
      return 1;
    }
    mbedtls_sha256_ret(c.raw.p, c.raw.len, f, 0);
    mbedtls_x509_crt_free(&c);
  }
  hex(f, 32, fpr);
  if ((dir = trust_dir(&a, &cfg, dirbuf)) == NULL) {
    cg_config_free(cfg);
    return 1;
  }
  s = open_store(&a, cfg);
  with_store = s != NULL;
  cg_config_free(cfg);
  if (view_load(&v, dir, s) != 0) {
    cg_store_close(s);
    return 1;
  }
  cg_store_close(s);

  e = find(&v, K_SIGNER, f);
  if (e == NULL && (e = find(&v, K_ANCHOR, f)) != NULL) {
    fprintf(stderr, "certctl: %s is the anchor %s: revoked.txt withdraws signers only; remove "
                    "the anchor's file to stop trusting that CA; nothing was changed\n", fpr,
            e->file);
    view_free(&v);
    return 1;
  }
  if (e != NULL)
    dn(&e->crt->subject, subject, sizeof subject);
  else
    snprintf(subject, sizeof subject, "unknown signer");
  if ((r = find_revoked(&v, f)) != NULL) {
    printf("signer %s (%s) is revoked already (revoked.txt line %d); nothing was changed. %s\n",
           fpr, subject, r->line, hup_note);
    view_free(&v);
    return 0;
  }
  if (e == NULL)
    fprintf(stderr, "certctl: warning: no signer with this fingerprint is known to the trust "
                    "store%s; it is listed all the same, so seals naming it fail as "
                    "signer_revoked\n", with_store ? " or the store" : "");
  view_free(&v);

  gmtime_r(&now, &tm);
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  comment_text(a.reason ? a.reason : "no reason given", reason, sizeof reason);
  snprintf(line1, sizeof line1, "# %s certctl trust revoke: %s", stamp, reason);
  comment_text(subject, line2, sizeof line2 - 4);
  n = snprintf(text, sizeof text, "%s\n# %.*s\n%s\n", line1, COMMENT_MAX - 4, line2, fpr);

  snprintf(path, sizeof path, "%s/revoked.txt", dir);
  if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) < 0 ||
      fstat(fd, &st) != 0) {
    fprintf(stderr, "certctl: %s: %s; nothing was changed\n", path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return 1;
  }
  /* A last line without its newline would run into the first of ours. */
  if (st.st_size > 0) {
    char last = '\n';
    int rfd = open(path, O_RDONLY | O_CLOEXEC);
    if (rfd >= 0 && pread(rfd, &last, 1, st.st_size - 1) == 1 && last != '\n') {
      memmove(text + 1, text, (size_t)n + 1);
      text[0] = '\n';
      n++;
    }
    if (rfd >= 0)
      close(rfd);
  }
  /* One write: O_APPEND keeps it whole against another certctl appending.
   * A write cut short (a full disk) is taken back: a half line would make
   * certgw refuse the whole trust store at its next load. */
  if (write(fd, text, (size_t)n) != n || fsync(fd) != 0) {
    int werr = errno;
    if (ftruncate(fd, st.st_size) == 0)
      fsync(fd);
    fprintf(stderr, "certctl: %s: %s; nothing was changed\n", path, strerror(werr));
    close(fd);
    return 1;
  }
  close(fd);
  printf("revoked signer %s (%s): listed in %s\n", fpr, subject, path);
  if ((gen = generation(dir)) == 0) {
    fprintf(stderr, "certctl: certgw will refuse this trust store on SIGHUP and go on with the "
                    "one it has: the revocation does not take effect until it loads\n");
    return 1;
  }
  printf("trust generation now %08x. %s Its seals fail as signer_revoked from then on.\n", gen,
         hup_note);
  return 0;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

int ctl_trust(int argc, char **argv) {
  static const struct {
    const char *name;
    int (*run)(int, char **);
  } cmds[] = {{"list", trust_list}, {"add", trust_add}, {"revoke", trust_revoke}};

  if (argc < 2) {
    fputs(usage_short, stderr);
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    fputs(usage_all, stdout);
    return 0;
  }
  for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
    if (!strcmp(argv[1], cmds[i].name))
      return cmds[i].run(argc - 1, argv + 1);
  return bad_usage("unknown command \"%s\"", argv[1]);
}
