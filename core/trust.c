/* trust.c — loading the trust store (see trust.h). */
#include "core/trust.h"

#include <dirent.h>
#include <errno.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "core/store.h"

#define FILE_MAX (1 << 20)

struct signer {
  uint8_t fpr[32];
  mbedtls_x509_crt crt;
  UT_hash_handle hh;
};

struct revoked {
  uint8_t fpr[32];
  UT_hash_handle hh;
};

struct cg_trust {
  _Atomic int refs;
  struct revoked *revoked; /* revoked.txt: signers the operator no longer trusts */
  int nrevoked;
  mbedtls_x509_crt anchors;
  mbedtls_x509_crl crls;
  struct signer *signers;
  int nanchors, nsigners, ncrls;
  uint32_t gen;
  time_t fresh_until; /* the earliest nextUpdate of the CRLs (0: none has one) */
  int stale;          /* a CRL was past it, or not yet in force, at load */
};

static void free_names(char **names, int n);

/* File names of dir with one of the suffixes, sorted (the generation digest
 * must not depend on directory order). */
static int list_dir(const char *dir, const char *suf1, const char *suf2, char ***names, int *n) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int cap = 0;

  *names = NULL;
  *n = 0;
  if (d == NULL)
    return errno == ENOENT ? 0 : -1;
  /* A name left out (no memory, a directory that cannot be read to its
   * end) would leave a CRL or an anchor out unsaid: the load fails. */
  errno = 0;
  while ((e = readdir(d)) != NULL) {
    size_t len = strlen(e->d_name);
    int match = 0;
    for (const char *s = suf1; s != NULL; s = s == suf1 ? suf2 : NULL)
      if (len > strlen(s) && strcmp(e->d_name + len - strlen(s), s) == 0)
        match = 1;
    if (!match)
      continue;
    if (*n == cap) {
      char **more = realloc(*names, (size_t)(cap ? 2 * cap : 16) * sizeof **names);
      if (more == NULL)
        goto fail;
      *names = more;
      cap = cap ? 2 * cap : 16;
    }
    if (((*names)[*n] = strdup(e->d_name)) == NULL)
      goto fail;
    (*n)++;
    errno = 0;
  }
  if (errno != 0)
    goto fail;
  closedir(d);
  for (int i = 1; i < *n; i++) /* insertion sort: directories are small */
    for (int j = i; j > 0 && strcmp((*names)[j - 1], (*names)[j]) > 0; j--) {
      char *t = (*names)[j];
      (*names)[j] = (*names)[j - 1];
      (*names)[j - 1] = t;
    }
  return 0;
fail:
  closedir(d);
  free_names(*names, *n);
  *names = NULL;
  *n = 0;
  if (errno == 0)
    errno = ENOMEM;
  return -1;
}

static void free_names(char **names, int n) {
  for (int i = 0; i < n; i++)
    free(names[i]);
  free(names);
}

/* Reads a file whole, NUL-terminated (mbedTLS wants PEM with its NUL). */
static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  unsigned char *buf;
  long n;
  if (f == NULL)
    return NULL;
  if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > FILE_MAX) {
    fclose(f);
    return NULL;
  }
  rewind(f);
  buf = malloc((size_t)n + 1);
  if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  if (buf != NULL) {
    buf[n] = '\0';
    *len = (size_t)n;
  }
  return buf;
}

static int add_signer_der(cg_trust_t *t, const unsigned char *der, size_t len) {
  struct signer *s = calloc(1, sizeof *s), *dup;
  if (s == NULL)
    return CG_ENOMEM;
  mbedtls_x509_crt_init(&s->crt);
  if (mbedtls_x509_crt_parse_der(&s->crt, der, len) != 0) {
    mbedtls_x509_crt_free(&s->crt);
    free(s);
    return CG_ECRYPTO;
  }
  mbedtls_sha256_ret(der, len, s->fpr, 0);
  HASH_FIND(hh, t->signers, s->fpr, 32, dup);
  if (dup != NULL) { /* the same certificate from the directory and the store */
    mbedtls_x509_crt_free(&s->crt);
    free(s);
    return 0;
  }
  HASH_ADD(hh, t->signers, fpr, 32, s);
  t->nsigners++;
  return 0;
}

/* Each file of a sub-directory: parsed with parse(), fed to the digest. */
static int load_part(cg_trust_t *t, const char *dir, const char *sub, mbedtls_sha256_context *h,
                     cg_why_t *why) {
  char path[4096], **names;
  int n, err = 0;

  snprintf(path, sizeof path, "%s/%s", dir, sub);
  if (list_dir(path, ".pem", strcmp(sub, "crl") == 0 ? ".crl" : NULL, &names, &n) != 0)
    return cg_why_set(why, CG_EIO, "%s: %s", path, strerror(errno));
  for (int i = 0; i < n && !err; i++) {
    unsigned char *buf;
    size_t len = 0, plen;
    int rc;

    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, names[i]);
    if ((buf = slurp(path, &len)) == NULL) {
      err = cg_why_set(why, CG_EIO, "%s: cannot read", path);
      break;
    }
    mbedtls_sha256_update_ret(h, (const unsigned char *)sub, strlen(sub) + 1);
    mbedtls_sha256_update_ret(h, buf, len);
    /* PEM is parsed with its NUL counted; DER must be given without it: the
     * CRL parser refuses a byte after the outer SEQUENCE, so a DER *.crl
     * with the NUL would never load. */
    plen = strstr((const char *)buf, "-----BEGIN ") != NULL ? len + 1 : len;
    if (strcmp(sub, "anchors") == 0) {
      rc = mbedtls_x509_crt_parse(&t->anchors, buf, plen);
      if (rc == 0)
        t->nanchors++;
    } else if (strcmp(sub, "crl") == 0) {
      rc = mbedtls_x509_crl_parse(&t->crls, buf, plen);
      if (rc == 0)
        t->ncrls++;
      /* mbedTLS reads a CRL without nextUpdate as past it, so every seal
       * under its CA would fail as trust_stale: refused here, plainly (RFC
       * 5280 5.1.2.5: issuers MUST include it). */
      for (const mbedtls_x509_crl *c = &t->crls; rc == 0 && c != NULL; c = c->next)
        if (c->version != 0 && c->next_update.year == 0) {
          free(buf);
          err = cg_why_set(why, CG_ECRYPTO, "%s: a CRL without nextUpdate (RFC 5280 requires one)",
                           path);
          goto out;
        }
    } else {
      mbedtls_x509_crt one;
      mbedtls_x509_crt_init(&one);
      rc = mbedtls_x509_crt_parse(&one, buf, plen);
      for (mbedtls_x509_crt *c = &one; rc == 0 && c != NULL && c->raw.p != NULL; c = c->next)
        rc = add_signer_der(t, c->raw.p, c->raw.len);
      mbedtls_x509_crt_free(&one);
    }
    free(buf);
    if (rc != 0)
      err = cg_why_set(why, CG_ECRYPTO, "%s: not a certificate or CRL in PEM or DER", path);
  }
out:
  free_names(names, n);
  return err;
}

static int unhex(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                      : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                             : -1;
}

/* revoked.txt: one signer fingerprint (64 hex digits) a line, # comments.
 * mbedTLS 2.28 cannot write CRLs, so this is how an operator withdraws
 * trust in a signer himself; CRLs from the CAs are honoured as well. */
static int load_revoked(cg_trust_t *t, const char *dir, mbedtls_sha256_context *h, cg_why_t *why) {
  char path[4096], *line = NULL;
  size_t cap = 0;
  int lineno = 0;
  FILE *f;

  snprintf(path, sizeof path, "%s/revoked.txt", dir);
  if ((f = fopen(path, "r")) == NULL)
    return errno == ENOENT ? 0 : cg_why_set(why, CG_EIO, "%s: %s", path, strerror(errno));
  /* getline: a long comment line must not be cut into a bogus second line. */
  while (getline(&line, &cap, f) > 0) {
    char *p = line, *e;
    struct revoked *r, *dup;
    lineno++;
    mbedtls_sha256_update_ret(h, (const unsigned char *)line, strlen(line));
    while (*p == ' ' || *p == '\t')
      p++;
    if (*p == '#' || *p == '\n' || *p == '\0')
      continue;
    for (e = p; *e && *e != '\n' && *e != ' ' && *e != '\t' && *e != '#'; e++)
      ;
    if (e - p != 64) {
      free(line);
      fclose(f);
      return cg_why_set(why, CG_ECONFIG, "%s:%d: not a 64-digit fingerprint", path, lineno);
    }
    if ((r = calloc(1, sizeof *r)) == NULL) {
      free(line);
      fclose(f);
      return CG_ENOMEM;
    }
    for (int i = 0; i < 32; i++) {
      int hi = unhex(p[2 * i]), lo = unhex(p[2 * i + 1]);
      if (hi < 0 || lo < 0) {
        free(r);
        free(line);
        fclose(f);
        return cg_why_set(why, CG_ECONFIG, "%s:%d: not a 64-digit fingerprint", path, lineno);
      }
      r->fpr[i] = (uint8_t)(hi << 4 | lo);
    }
    HASH_FIND(hh, t->revoked, r->fpr, 32, dup);
    if (dup != NULL) {
      free(r);
      continue;
    }
    HASH_ADD(hh, t->revoked, fpr, 32, r);
    t->nrevoked++;
  }
  free(line);
  fclose(f);
  return 0;
}

int cg__trust_revoked(const cg_trust_t *t, const uint8_t fpr[32]) {
  struct revoked *r;
  HASH_FIND(hh, t->revoked, fpr, 32, r);
  return r != NULL;
}

static int load_store_signer(void *arg, cg_slice_t key, cg_slice_t val) {
  (void)key;
  /* A signer the store holds but that does not parse is left out: seals
   * naming it fail as unknown_signer, which is the truth. */
  add_signer_der(arg, (const unsigned char *)val.base, val.len);
  return 0;
}

static time_t unix_time(const mbedtls_x509_time *x) {
  struct tm tm = {.tm_year = x->year - 1900,
                  .tm_mon = x->mon - 1,
                  .tm_mday = x->day,
                  .tm_hour = x->hour,
                  .tm_min = x->min,
                  .tm_sec = x->sec};
  return timegm(&tm);
}

/* Which CRLs are out of force now — past nextUpdate, or before
 * thisUpdate —, each fed to the digest (so that the generation changes
 * whenever the set does), and when the next of them changes: the earliest
 * nextUpdate or thisUpdate still to come. (Every CRL has a nextUpdate:
 * load_part.) */
static void crl_dates(cg_trust_t *t, mbedtls_sha256_context *h) {
  time_t now = time(NULL);
  for (const mbedtls_x509_crl *c = t->ncrls ? &t->crls : NULL; c != NULL; c = c->next) {
    if (c->version == 0)
      continue;
    /* (past by a second at least, as mbedTLS's checks count it) */
    time_t from = unix_time(&c->this_update), until = unix_time(&c->next_update);
    if (from > now || until < now) {
      t->stale = 1;
      mbedtls_sha256_update_ret(h, (const unsigned char *)"stale", 6);
      mbedtls_sha256_update_ret(h, c->raw.p, c->raw.len);
    }
    time_t next = from > now ? from : until >= now ? until : 0;
    if (next != 0 && (t->fresh_until == 0 || next < t->fresh_until))
      t->fresh_until = next;
  }
}

int cg_trust_load(cg_trust_t **out, const char *dir, cg_store_t *store, cg_why_t *why) {
  cg_trust_t *t = calloc(1, sizeof *t);
  mbedtls_sha256_context h;
  uint8_t digest[32];
  int err;

  *out = NULL;
  if (t == NULL)
    return CG_ENOMEM;
  atomic_init(&t->refs, 1);
  mbedtls_x509_crt_init(&t->anchors);
  mbedtls_x509_crl_init(&t->crls);
  mbedtls_sha256_init(&h);
  mbedtls_sha256_starts_ret(&h, 0);
  if ((err = load_part(t, dir, "anchors", &h, why)) != 0 ||
      (err = load_part(t, dir, "crl", &h, why)) != 0 ||
      (err = load_part(t, dir, "signers", &h, why)) != 0 ||
      (err = load_revoked(t, dir, &h, why)) != 0)
    goto fail;
  if (t->nanchors == 0) {
    err = cg_why_set(why, CG_ECONFIG, "%s/anchors holds no CA certificate: nothing is trusted", dir);
    goto fail;
  }
  if (store != NULL) {
    cg_store_reader_t *r = NULL;
    if ((err = cg_store_reader_open(store, &r)) == 0 && (err = cg_store_reader_begin(r)) == 0) {
      err = cg_store_each(r, CG_DB_SIGNER, load_store_signer, t);
      cg_store_reader_end(r);
    }
    cg_store_reader_close(r);
    if (err) {
      cg_why_set(why, err, "cannot read the store's signers");
      goto fail;
    }
  }
  /* Staleness is part of the generation: when a CRL's nextUpdate passes,
   * the same files loaded again make another generation, and every seal is
   * judged again (failing closed, trust_stale) — not left verified on what
   * the CRL said while it was in force. */
  crl_dates(t, &h);
  mbedtls_sha256_finish_ret(&h, digest);
  mbedtls_sha256_free(&h);
  t->gen = (uint32_t)digest[0] << 24 | (uint32_t)digest[1] << 16 | (uint32_t)digest[2] << 8 |
           digest[3];
  if (t->gen == 0)
    t->gen = 1;
  *out = t;
  return 0;

fail:
  mbedtls_sha256_free(&h);
  cg_trust_free(t);
  return err;
}

cg_trust_t *cg_trust_ref(cg_trust_t *t) {
  atomic_fetch_add(&t->refs, 1);
  return t;
}

void cg_trust_free(cg_trust_t *t) {
  struct signer *s, *tmp;
  struct revoked *r, *rtmp;
  if (t == NULL || atomic_fetch_sub(&t->refs, 1) != 1)
    return;
  HASH_ITER(hh, t->revoked, r, rtmp) {
    HASH_DEL(t->revoked, r);
    free(r);
  }
  HASH_ITER(hh, t->signers, s, tmp) {
    HASH_DEL(t->signers, s);
    mbedtls_x509_crt_free(&s->crt);
    free(s);
  }
  mbedtls_x509_crt_free(&t->anchors);
  mbedtls_x509_crl_free(&t->crls);
  free(t);
}

uint32_t cg_trust_generation(const cg_trust_t *t) { return t->gen; }

time_t cg_trust_fresh_until(const cg_trust_t *t) { return t->fresh_until; }

int cg_trust_stale(const cg_trust_t *t) { return t->stale; }

void cg_trust_counts(const cg_trust_t *t, int *anchors, int *signers, int *crls) {
  *anchors = t->nanchors;
  *signers = t->nsigners;
  *crls = t->ncrls;
}

int cg_trust_each_signer(const cg_trust_t *t,
                         int (*cb)(void *, const uint8_t[32], const void *, size_t, int),
                         void *arg) {
  struct signer *s, *tmp;
  HASH_ITER(hh, t->signers, s, tmp) {
    int rc = cb(arg, s->fpr, s->crt.raw.p, s->crt.raw.len, cg__trust_revoked(t, s->fpr));
    if (rc != 0)
      return rc;
  }
  return 0;
}

const mbedtls_x509_crt *cg__trust_signer(const cg_trust_t *t, const uint8_t fpr[32]) {
  struct signer *s;
  HASH_FIND(hh, t->signers, fpr, 32, s);
  return s ? &s->crt : NULL;
}

mbedtls_x509_crt *cg__trust_anchors(const cg_trust_t *t) { return (mbedtls_x509_crt *)&t->anchors; }

mbedtls_x509_crl *cg__trust_crls(const cg_trust_t *t) {
  return t->ncrls ? (mbedtls_x509_crl *)&t->crls : NULL;
}
