/* check_demo — checks a deployment written by `certctl demo`, independently
 * of the code that wrote it where it matters: every stored record decodes,
 * its identifier, holder code and agency codes pass their check characters,
 * its seal verifies with mbedTLS against the signer certificate stored for
 * it, that signer chains to the demo CA in the trust store and may sign
 * (digitalSignature), the holder index files it, and demo.json lists only
 * certificates that are present and valid, and venues whose keys match.
 * The upstream data sets hold only certificates that are valid, sealed by
 * a stored signer and in neither the store nor the other set; demo.json's
 * simulator commands agree with certgw.conf's tiers; the TLS server
 * certificate verifies, for both of its names, against ca.pem only.
 *
 * usage: check_demo DIR        exit 0 when all holds, 1 with reasons else.
 */
#include <cjson/cJSON.h>
#include <mbedtls/base64.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/cert.h"
#include "core/config.h"
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

/* ---- upstream ------------------------------------------------------------------- */

/* Verifies a seal over body with the signer certificate the store holds
 * under the hex fingerprint signer_hex. Returns a reason, or NULL. */
static const char *seal_check(struct ctx *c, const char *body, size_t body_len,
                              const char *sig_b64, const char *signer_hex) {
  uint8_t fpr[32], hash[32], raw[CG_SEAL_SIG_MAX];
  size_t raw_len = 0;
  cg_slice_t der;
  mbedtls_x509_crt crt;
  uint32_t flags = 0;
  const char *why = NULL;

  if (strlen(signer_hex) != 64)
    return "signer is not 64 hex digits";
  for (int i = 0; i < 32; i++)
    if (sscanf(signer_hex + 2 * i, "%2hhx", &fpr[i]) != 1)
      return "signer is not hex";
  if (cg_store_get(c->r, CG_DB_SIGNER, fpr, sizeof fpr, &der) != 0)
    return "signer not in the store";
  mbedtls_x509_crt_init(&crt);
  mbedtls_sha256_ret((const unsigned char *)body, body_len, hash, 0);
  if (mbedtls_x509_crt_parse_der(&crt, (const unsigned char *)der.base, der.len) != 0)
    why = "signer certificate does not parse";
  else if (mbedtls_x509_crt_verify(&crt, &c->ca, NULL, NULL, &flags, NULL, NULL) != 0)
    why = "signer does not chain to the demo CA";
  else if (mbedtls_base64_decode(raw, sizeof raw, &raw_len, (const unsigned char *)sig_b64,
                                 strlen(sig_b64)) != 0)
    why = "signature is not base64";
  else if (mbedtls_pk_verify(&crt.pk, MBEDTLS_MD_SHA256, hash, 32, raw, raw_len) != 0)
    why = "seal does not verify";
  mbedtls_x509_crt_free(&crt);
  return why;
}

/* A set of identifiers, to check the upstream sets are disjoint. */
typedef struct idset {
  char **ids;
  size_t n, cap;
} idset_t;

static int idset_has(const idset_t *s, const char *id) {
  for (size_t i = 0; i < s->n; i++)
    if (!strcmp(s->ids[i], id))
      return 1;
  return 0;
}

static void idset_free(idset_t *s) {
  for (size_t i = 0; i < s->n; i++)
    free(s->ids[i]);
  free(s->ids);
}

/* Checks DIR/upstream/NAME.jsonl: every line a usable certificate (checks
 * as in check_one, from the JSON), sealed by a stored signer, in neither
 * the store nor `other`. Its identifiers go into `ids`. */
static void check_upstream_set(struct ctx *c, const char *dir, const char *name,
                               const idset_t *other, idset_t *ids) {
  char path[4096], *line = NULL;
  size_t cap = 0, lineno = 0;
  ssize_t len;
  FILE *f;

  snprintf(path, sizeof path, "%s/upstream/%s.jsonl", dir, name);
  if ((f = fopen(path, "r")) == NULL) {
    FAIL("cannot read %s", path);
    return;
  }
  while ((len = getline(&line, &cap, f)) > 0) {
    cJSON *o, *seal;
    const char *ident, *code, *expiring, *at = NULL;
    cg_record_t rec;
    int holder_type;

    lineno++;
    if ((o = cJSON_ParseWithLength(line, (size_t)len)) == NULL) {
      FAIL("%s:%zu: not JSON", name, lineno);
      continue;
    }
    ident = str(o, "certificateIdentifier");
    code = str(o, "certificateHolderCode");
    expiring = str(o, "certificateExpiringDate");
    if (cg_ident_parse(ident, strlen(ident), NULL, NULL) != 0)
      FAIL("%s:%zu: identifier %s fails its check", name, lineno, ident);
    holder_type = cg_ident_holder_type(str(o, "certificateHolderTypeCode"), 3);
    if (holder_type < 0 || cg_ident_holder_validate(holder_type, code, strlen(code), NULL) != 0)
      FAIL("%s: holder code %s fails its check", ident, code);
    if (cg_ident_uscc_validate(str(o, "certificateIssuingAuthorityCode"), 18, NULL) != 0)
      FAIL("%s: issuing authority code fails its check", ident);
    if (strcmp(str(o, "status"), "valid") != 0 ||
        (unsigned long)atol(str(o, "certificateIssuedDate")) > c->today ||
        (expiring[0] != '\0' && (unsigned long)atol(expiring) < c->today))
      FAIL("%s: in %s but not valid and in date", ident, name);
    if (cg_store_cert_get(c->r, ident, strlen(ident), &rec) == 0)
      FAIL("%s: in %s and in the store", ident, name);
    if (idset_has(other, ident) || idset_has(ids, ident))
      FAIL("%s: in %s twice, or in both platforms' sets", ident, name);
    if (ids->n == ids->cap) {
      ids->cap = ids->cap ? 2 * ids->cap : 256;
      ids->ids = realloc(ids->ids, ids->cap * sizeof *ids->ids);
    }
    ids->ids[ids->n++] = strdup(ident);
    /* The export form: the canonical body with the seal as its last member. */
    for (const char *p = strstr(line, ",\"seal\":"); p; p = strstr(p + 1, ",\"seal\":"))
      at = p;
    seal = cJSON_GetObjectItemCaseSensitive(o, "seal");
    if (at == NULL || seal == NULL) {
      FAIL("%s: no seal", ident);
    } else {
      size_t body_len = (size_t)(at - line) + 1;
      char *body = malloc(body_len);
      const char *why;
      memcpy(body, line, body_len - 1);
      body[body_len - 1] = '}';
      why = seal_check(c, body, body_len, str(seal, "signature"), str(seal, "signer"));
      if (why != NULL)
        FAIL("%s (%s): %s", ident, name, why);
      free(body);
    }
    cJSON_Delete(o);
  }
  free(line);
  fclose(f);
  if (lineno < 50)
    FAIL("%s.jsonl holds %zu certificates (want at least 50)", name, lineno);
}

/* demo.json's upstream.NAME against certgw.conf's [upstream NAME] (tier
 * number k) and the data set. */
static void check_upstream_json(const cJSON *demo, const cg_config_t *cfg, int k,
                                const char *name, const char *dir, const idset_t *ids) {
  const cJSON *up = cJSON_GetObjectItemCaseSensitive(demo, "upstream");
  const cJSON *u = cJSON_GetObjectItemCaseSensitive(up, name);
  const cJSON *argv = cJSON_GetObjectItemCaseSensitive(u, "command"), *e;
  const char *want[] = {"--name", name, "--listen", str(u, "listen"), "--data", NULL,
                        "--access-id", NULL, "--token", NULL};
  char listen[160], data[PATH_MAX], real[PATH_MAX], path[4096];
  const cg_tier_t *t = cfg && k < cfg->ntiers ? &cfg->tiers[k] : NULL;
  int n = 0, i = 0;

  if (u == NULL || !cJSON_IsArray(argv)) {
    FAIL("demo.json has no upstream.%s with a command", name);
    return;
  }
  if (t == NULL || strcmp(t->name, name) != 0 || t->naddrs != 1 || t->addrs[0].tls || !t->feed) {
    FAIL("certgw.conf: tier %d is not [upstream %s] with one http url and feed = yes", k + 1, name);
    return;
  }
  snprintf(listen, sizeof listen, "%s:%u", t->addrs[0].host, t->addrs[0].port);
  if (strcmp(listen, str(u, "listen")) != 0)
    FAIL("upstream.%s listens on %s, certgw.conf asks %s", name, str(u, "listen"), listen);
  snprintf(path, sizeof path, "%s/upstream/%s.jsonl", dir, name);
  if (realpath(path, real) == NULL)
    real[0] = '\0';
  want[7] = t->access_id;
  want[9] = t->token;
  cJSON_ArrayForEach(e, argv) {
    const char *a = cJSON_IsString(e) ? e->valuestring : "";
    if (i == 0) {
      const char *slash = strrchr(a, '/');
      if (a[0] != '/' || slash == NULL || strcmp(slash, "/certgw-upstream-sim") != 0 ||
          access(a, X_OK) != 0)
        FAIL("upstream.%s: %s is not the absolute path of an executable certgw-upstream-sim",
             name, a);
    } else if (i == 6) {
      if (a[0] != '/' || realpath(a, data) == NULL || strcmp(data, real) != 0)
        FAIL("upstream.%s: --data %s is not %s", name, a, path);
    } else if (i > 10 || want[i - 1] == NULL || strcmp(a, want[i - 1]) != 0) {
      FAIL("upstream.%s: argument %d is \"%s\", want \"%s\"", name, i, a,
           i <= 10 && want[i - 1] ? want[i - 1] : "(none)");
    }
    i++;
  }
  if (i != 11)
    FAIL("upstream.%s: the command has %d words, want 11", name, i);
  if (strlen(t->access_id) < 16 || strlen(t->token) < 32)
    FAIL("upstream.%s: access id or token too short to be random", name);
  cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(u, "certificates")) {
    n++;
    if (!cJSON_IsString(e) || !idset_has(ids, e->valuestring))
      FAIL("upstream.%s certificate %s is not in %s.jsonl", name,
           cJSON_IsString(e) ? e->valuestring : "?", name);
  }
  if (n == 0 || n > 100)
    FAIL("upstream.%s lists %d certificates (want 1..100)", name, n);
}

/* What an mbedTLS client (certgw) sees of the TLS files. */
static void check_tls(const char *dir) {
  static const char *names[] = {"platform.test", "127.0.0.1"};
  mbedtls_x509_crt ca, other, server;
  mbedtls_pk_context key;
  char path[4096];
  uint32_t flags;

  mbedtls_x509_crt_init(&ca);
  mbedtls_x509_crt_init(&other);
  mbedtls_x509_crt_init(&server);
  mbedtls_pk_init(&key);
  snprintf(path, sizeof path, "%s/upstream/tls/ca.pem", dir);
  if (mbedtls_x509_crt_parse_file(&ca, path) != 0)
    FAIL("%s does not parse", path);
  snprintf(path, sizeof path, "%s/upstream/tls/other-ca.pem", dir);
  if (mbedtls_x509_crt_parse_file(&other, path) != 0)
    FAIL("%s does not parse", path);
  snprintf(path, sizeof path, "%s/upstream/tls/server.pem", dir);
  if (mbedtls_x509_crt_parse_file(&server, path) != 0)
    FAIL("%s does not parse", path);
  snprintf(path, sizeof path, "%s/upstream/tls/server.key", dir);
  if (mbedtls_pk_parse_keyfile(&key, path, NULL) != 0)
    FAIL("%s does not parse", path);
  else if (mbedtls_pk_check_pair(&server.pk, &key) != 0)
    FAIL("server.key is not the key of server.pem");
  if (mbedtls_pk_get_type(&server.pk) != MBEDTLS_PK_ECKEY ||
      mbedtls_pk_get_bitlen(&server.pk) != 256)
    FAIL("server.pem's key is not EC P-256");
  for (int i = 0; i < 2; i++) {
    if (mbedtls_x509_crt_verify(&server, &ca, NULL, names[i], &flags, NULL, NULL) != 0)
      FAIL("server.pem does not verify against ca.pem for %s (flags %#x)", names[i], flags);
    if (mbedtls_x509_crt_verify(&server, &other, NULL, names[i], &flags, NULL, NULL) == 0)
      FAIL("server.pem verifies against other-ca.pem");
  }
  if (mbedtls_x509_crt_verify(&server, &ca, NULL, "other.test", &flags, NULL, NULL) == 0)
    FAIL("server.pem verifies for a name it does not carry");
  if (mbedtls_x509_crt_check_extended_key_usage(&server, MBEDTLS_OID_SERVER_AUTH,
                                                MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)) != 0)
    FAIL("server.pem is not for serverAuth");
  mbedtls_pk_free(&key);
  mbedtls_x509_crt_free(&server);
  mbedtls_x509_crt_free(&other);
  mbedtls_x509_crt_free(&ca);
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

    idset_t city = {0}, province = {0};
    cg_config_t *cfg = NULL;
    snprintf(path, sizeof path, "%s/certgw.conf", argv[1]);
    if (cg_config_load(&cfg, path, &why) != 0)
      FAIL("%s", why.text);
    check_upstream_set(&c, argv[1], "city", &province, &city);
    check_upstream_set(&c, argv[1], "province", &city, &province);
    check_upstream_json(demo, cfg, 0, "city", argv[1], &city);
    check_upstream_json(demo, cfg, 1, "province", argv[1], &province);
    if (cfg != NULL && cfg->ntiers != 2)
      FAIL("certgw.conf has %d upstream tiers, want 2", cfg->ntiers);
    printf("check_demo: upstream: %zu city and %zu province certificates\n", city.n, province.n);
    idset_free(&city);
    idset_free(&province);
    cg_config_free(cfg);
    check_tls(argv[1]);
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
