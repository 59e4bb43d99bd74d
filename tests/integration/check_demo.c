/* check_demo — checks a deployment written by `certctl demo`, independently
 * of the code that wrote it where it matters: every stored record decodes,
 * its identifier, holder code and agency codes pass their check characters,
 * its seal verifies with mbedTLS against the signer certificate stored for
 * it, that signer chains to the demo CA in the trust store and may sign
 * (digitalSignature), the holder index files it, and demo.json lists only
 * certificates that are present and valid, and venues whose keys match.
 *
 * usage: check_demo DIR        exit 0 when all holds, 1 with reasons else.
 */
#include <cjson/cJSON.h>
#include <mbedtls/base64.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cert.h"
#include "core/ident.h"
#include "core/record.h"
#include "core/store.h"
#include "core/venue.h"

static int failures;

#define FAIL(...)                                                                                  \
  do {                                                                                             \
    if (failures++ < 20) {                                                                         \
      fprintf(stderr, "check_demo: " __VA_ARGS__);                                                 \
      fputc('\n', stderr);                                                                         \
    }                                                                                              \
  } while (0)

struct ctx {
  cg_store_reader_t *r;
  mbedtls_x509_crt ca;
  uint64_t n, es, rs, valid;
  uint32_t today;
};

struct find {
  const char *ident;
  size_t len;
  int found;
};

static int find_ident(void *arg, cg_slice_t k, cg_slice_t v) {
  struct find *f = arg;
  (void)k;
  if (v.len == f->len && memcmp(v.base, f->ident, f->len) == 0)
    f->found = 1;
  return 0;
}

static const char *str(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : "";
}

static int check_one(void *arg, cg_slice_t key, cg_slice_t val) {
  struct ctx *c = arg;
  char ident[CG_IDENT_MAX + 1];
  cg_record_t rec;
  cg_slice_t der;
  mbedtls_x509_crt crt;
  uint8_t hash[32];
  uint32_t flags = 0;
  cJSON *body;
  int holder_type;

  snprintf(ident, sizeof ident, "%.*s", (int)key.len, key.base);
  c->n++;
  if (cg_record_decode(val.base, val.len, &rec) != 0) {
    FAIL("%s: record does not decode", ident);
    return 0;
  }
  if (cg_ident_parse(key.base, key.len, NULL, NULL) != 0)
    FAIL("%s: identifier fails its check", ident);
  body = cJSON_ParseWithLength(rec.body, rec.body_len);
  if (body == NULL) {
    FAIL("%s: body is not JSON", ident);
    return 0;
  }
  if (strcmp(str(body, "certificateIdentifier"), ident) != 0)
    FAIL("%s: body names another identifier", ident);
  holder_type = cg_ident_holder_type(str(body, "certificateHolderTypeCode"), 3);
  if (holder_type < 0 || holder_type != rec.holder_type ||
      cg_ident_holder_validate(holder_type, str(body, "certificateHolderCode"),
                               strlen(str(body, "certificateHolderCode")), NULL) != 0)
    FAIL("%s: holder code %s fails its check", ident, str(body, "certificateHolderCode"));
  if (cg_ident_uscc_validate(str(body, "certificateIssuingAuthorityCode"), 18, NULL) != 0)
    FAIL("%s: issuing authority code fails its check", ident);
  if (cg_ident_uscc_validate(str(body, "certificateDefineAuthorityCode"), 18, NULL) != 0)
    FAIL("%s: defining authority code fails its check", ident);
  if (rec.status == CG_CERT_VALID && (rec.expiring == 0 || rec.expiring >= c->today))
    c->valid++;

  /* The holder index files it under the holder's key. */
  uint8_t hk[CG_HOLDER_KEY_LEN];
  const char *code = str(body, "certificateHolderCode");
  cg_record_holder_key(holder_type, code, strlen(code), hk);
  struct find f = {ident, key.len, 0};
  if (memcmp(hk, rec.holder_key, CG_HOLDER_KEY_LEN) != 0 ||
      cg_store_holder_each(c->r, hk, find_ident, &f) != 0 || !f.found)
    FAIL("%s: not in the holder index", ident);
  cJSON_Delete(body);

  /* The seal: signer certificate from the store, chained to the CA. */
  if (cg_store_get(c->r, CG_DB_SIGNER, rec.signer, CG_SEAL_FPR_LEN, &der) != 0) {
    FAIL("%s: signer not in the store", ident);
    return 0;
  }
  mbedtls_sha256_ret((const unsigned char *)der.base, der.len, hash, 0);
  if (memcmp(hash, rec.signer, 32) != 0)
    FAIL("%s: signer fingerprint is not SHA-256 of its DER", ident);
  mbedtls_x509_crt_init(&crt);
  if (mbedtls_x509_crt_parse_der(&crt, (const unsigned char *)der.base, der.len) != 0) {
    FAIL("%s: signer certificate does not parse", ident);
  } else {
    if (mbedtls_x509_crt_verify(&crt, &c->ca, NULL, NULL, &flags, NULL, NULL) != 0)
      FAIL("%s: signer does not chain to the demo CA (flags %#x)", ident, flags);
    if (mbedtls_x509_crt_check_key_usage(&crt, MBEDTLS_X509_KU_DIGITAL_SIGNATURE) != 0)
      FAIL("%s: signer lacks digitalSignature", ident);
    uint8_t raw[CG_SEAL_SIG_MAX];
    size_t raw_len = 0;
    mbedtls_sha256_ret((const unsigned char *)rec.body, rec.body_len, hash, 0);
    if (mbedtls_base64_decode(raw, sizeof raw, &raw_len, (const unsigned char *)rec.sig,
                              rec.sig_len) != 0)
      FAIL("%s: signature is not base64", ident);
    else if (mbedtls_pk_verify(&crt.pk, MBEDTLS_MD_SHA256, hash, 32, raw, raw_len) != 0)
      FAIL("%s: seal does not verify", ident);
    if (mbedtls_pk_get_type(&crt.pk) == MBEDTLS_PK_ECKEY && rec.seal_alg == CG_SEAL_ES256)
      c->es++;
    else if (mbedtls_pk_get_type(&crt.pk) == MBEDTLS_PK_RSA && rec.seal_alg == CG_SEAL_RS256)
      c->rs++;
    else
      FAIL("%s: seal algorithm does not match the signer's key", ident);
  }
  mbedtls_x509_crt_free(&crt);
  return 0;
}

static cJSON *read_json(const char *path) {
  FILE *f = fopen(path, "r");
  char *buf;
  long n;
  cJSON *o;
  if (f == NULL)
    return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  rewind(f);
  buf = malloc((size_t)n + 1);
  if (fread(buf, 1, (size_t)n, f) != (size_t)n)
    n = 0;
  buf[n] = '\0';
  fclose(f);
  o = cJSON_Parse(buf);
  free(buf);
  return o;
}

int main(int argc, char **argv) {
  char path[4096];
  cg_store_opts_t so = {.readonly = 1};
  cg_store_t *s;
  cg_why_t why = {""};
  struct ctx c = {0};
  cJSON *demo, *e;
  time_t now = time(NULL);
  struct tm tm;

  if (argc != 2) {
    fprintf(stderr, "usage: check_demo DIR\n");
    return 2;
  }
  gmtime_r(&now, &tm);
  c.today = (uint32_t)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
  mbedtls_x509_crt_init(&c.ca);
  snprintf(path, sizeof path, "%s/trust/anchors/demo-seal-ca.pem", argv[1]);
  if (mbedtls_x509_crt_parse_file(&c.ca, path) != 0) {
    fprintf(stderr, "check_demo: cannot read %s\n", path);
    return 1;
  }
  snprintf(path, sizeof path, "%s/data", argv[1]);
  so.path = path;
  if (cg_store_open(&s, &so, &why) != 0) {
    fprintf(stderr, "check_demo: %s\n", why.text);
    return 1;
  }
  cg_store_reader_open(s, &c.r);
  cg_store_reader_begin(c.r);
  if (cg_store_each(c.r, CG_DB_CERT, check_one, &c) != 0)
    FAIL("walking the store failed");

  snprintf(path, sizeof path, "%s/demo.json", argv[1]);
  if ((demo = read_json(path)) == NULL) {
    FAIL("cannot read demo.json");
  } else {
    int n = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(demo, "certificates")) {
      cg_record_t rec;
      n++;
      if (!cJSON_IsString(e) ||
          cg_store_cert_get(c.r, e->valuestring, strlen(e->valuestring), &rec) != 0)
        FAIL("demo.json certificate %s is not in the store", cJSON_IsString(e) ? e->valuestring : "?");
      else if (rec.status != CG_CERT_VALID || (rec.expiring && rec.expiring < c.today))
        FAIL("demo.json certificate %s is not valid", e->valuestring);
    }
    if (n == 0 || n > 100)
      FAIL("demo.json lists %d certificates (want 1..100)", n);
    n = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(demo, "holders")) {
      const cJSON *id;
      int type = cg_ident_holder_type(str(e, "type"), strlen(str(e, "type")));
      n++;
      if (cg_ident_holder_validate(type, str(e, "code"), strlen(str(e, "code")), NULL) != 0)
        FAIL("demo.json holder %s fails its check", str(e, "code"));
      cJSON_ArrayForEach(id, cJSON_GetObjectItem(e, "certificates")) {
        uint8_t hk[CG_HOLDER_KEY_LEN];
        struct find f = {id->valuestring, strlen(id->valuestring), 0};
        cg_record_holder_key(type, str(e, "code"), strlen(str(e, "code")), hk);
        cg_store_holder_each(c.r, hk, find_ident, &f);
        if (!f.found)
          FAIL("demo.json: %s is not filed under holder %s", id->valuestring, str(e, "code"));
      }
    }
    if (n == 0 || n > 100)
      FAIL("demo.json lists %d holders (want 1..100)", n);
    int scopes = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(demo, "venues")) {
      cg_slice_t v;
      cg_venue_t venue;
      const char *id = str(e, "id"), *key = str(e, "key");
      scopes |= !strcmp(str(e, "scope"), "hotel") ? 1 : !strcmp(str(e, "scope"), "department") ? 2 : 0;
      if (cg_store_get(c.r, CG_DB_VENUE, id, strlen(id), &v) != 0 ||
          cg_venue_decode(v.base, v.len, &venue) != 0)
        FAIL("venue %s is not in the store", id);
      else if (!cg_venue_key_matches(&venue, key, strlen(key)) || strcmp(venue.scope, str(e, "scope")))
        FAIL("venue %s: key or scope does not match the store", id);
      else if (cg_venue_key_matches(&venue, "cgk_wrong", 9))
        FAIL("venue %s: a wrong key matches", id);
    }
    if (scopes != 3)
      FAIL("demo.json lacks a hotel or a department venue");
    cJSON_Delete(demo);
  }
  cg_store_reader_end(c.r);
  cg_store_reader_close(c.r);
  cg_store_close(s);
  mbedtls_x509_crt_free(&c.ca);
  if (c.es == 0 || c.rs == 0)
    FAIL("seals of both algorithms expected (ES256 %llu, RS256 %llu)", (unsigned long long)c.es,
         (unsigned long long)c.rs);
  printf("check_demo: %llu certificates (%llu valid), ES256 %llu, RS256 %llu: %d problems\n",
         (unsigned long long)c.n, (unsigned long long)c.valid, (unsigned long long)c.es,
         (unsigned long long)c.rs, failures);
  return failures ? 1 : 0;
}
