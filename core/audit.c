/* audit.c — audit records (see audit.h). */
#include "core/audit.h"

#include <cjson/cJSON.h>
#include <mbedtls/md.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ident.h"

static const char hexdig[] = "0123456789abcdef";

void cg_audit_holder_key(const uint8_t key[32], int holder_type, const char *code, size_t len,
                         uint8_t out[CG_AUDIT_HOLDER_LEN]) {
  const char *type = cg_ident_holder_type_code(holder_type);
  mbedtls_md_context_t md;

  mbedtls_md_init(&md);
  mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1);
  mbedtls_md_hmac_starts(&md, key, 32);
  mbedtls_md_hmac_update(&md, (const unsigned char *)(type ? type : "???"), 3);
  mbedtls_md_hmac_update(&md, (const unsigned char *)code, len);
  mbedtls_md_hmac_finish(&md, out);
  mbedtls_md_free(&md);
}

struct cg_audit_hmac {
  mbedtls_md_context_t md;
};

cg_audit_hmac_t *cg_audit_hmac_new(const uint8_t key[32]) {
  cg_audit_hmac_t *h = calloc(1, sizeof *h);
  if (h == NULL)
    return NULL;
  mbedtls_md_init(&h->md);
  if (mbedtls_md_setup(&h->md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1) != 0 ||
      mbedtls_md_hmac_starts(&h->md, key, 32) != 0) {
    mbedtls_md_free(&h->md);
    free(h);
    return NULL;
  }
  return h;
}

void cg_audit_hmac_free(cg_audit_hmac_t *h) {
  if (h != NULL) {
    mbedtls_md_free(&h->md);
    free(h);
  }
}

void cg_audit_hmac(cg_audit_hmac_t *h, int holder_type, const char *code, size_t len,
                   uint8_t out[CG_AUDIT_HOLDER_LEN]) {
  const char *type = cg_ident_holder_type_code(holder_type);
  /* hmac_reset restarts from the keyed inner state kept by hmac_starts. */
  mbedtls_md_hmac_reset(&h->md);
  mbedtls_md_hmac_update(&h->md, (const unsigned char *)(type ? type : "???"), 3);
  mbedtls_md_hmac_update(&h->md, (const unsigned char *)code, len);
  mbedtls_md_hmac_finish(&h->md, out);
}

void cg_audit_key(uint64_t ms, uint64_t seq, uint8_t out[CG_AUDIT_KEY_LEN]) {
  for (int i = 0; i < 8; i++) {
    out[i] = (uint8_t)(ms >> (56 - 8 * i));
    out[8 + i] = (uint8_t)(seq >> (56 - 8 * i));
  }
}

const char *cg_audit_kind_name(int kind) {
  return kind == CG_AUDIT_SCAN ? "scan" : kind == CG_AUDIT_FETCH ? "fetch"
                                      : kind == CG_AUDIT_LIST    ? "list"
                                                                 : "?";
}

int cg_audit_json(const cg_audit_t *a, cg_buf_t *out) {
  cJSON *o = cJSON_CreateObject(), *ids;
  char holder[2 * CG_AUDIT_HOLDER_LEN + 1], *text;
  int err;

  if (o == NULL)
    return CG_ENOMEM;
  for (int i = 0; i < CG_AUDIT_HOLDER_LEN; i++) {
    holder[2 * i] = hexdig[a->holder[i] >> 4];
    holder[2 * i + 1] = hexdig[a->holder[i] & 15];
  }
  holder[2 * CG_AUDIT_HOLDER_LEN] = '\0';
  cJSON_AddNumberToObject(o, "time", (double)a->time_ms);
  cJSON_AddStringToObject(o, "kind", cg_audit_kind_name(a->kind));
  cJSON_AddStringToObject(o, "venue", a->venue);
  cJSON_AddStringToObject(o, "purpose", a->purpose);
  cJSON_AddStringToObject(o, "matter", a->matter);
  cJSON_AddStringToObject(o, "holder", holder);
  cJSON_AddNumberToObject(o, "status", a->status);
  cJSON_AddStringToObject(o, "client", a->client);
  cJSON_AddStringToObject(o, "scanId", a->scan_id);
  ids = cJSON_AddArrayToObject(o, "certificates");
  for (int i = 0; i < a->nids && i < CG_AUDIT_IDS_MAX; i++)
    cJSON_AddItemToArray(ids, cJSON_CreateString(a->ids[i]));
  text = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  if (text == NULL)
    return CG_ENOMEM;
  err = cg_buf_puts(out, text);
  cJSON_free(text);
  return err;
}

/* Layout, version 1: u8 version, u8 kind, u16 status, u64 time (ms),
 * holder[32], then venue, purpose, matter, client, scan id as u8 length and
 * bytes, then u8 count and each identifier as u8 length and bytes. All
 * integers big-endian. */
#define AUDIT_VERSION 1

static int put_str(cg_buf_t *out, const char *s) {
  size_t n = s ? strlen(s) : 0;
  uint8_t len = (uint8_t)(n > 255 ? 255 : n);
  int err = cg_buf_putc(out, (char)len);
  return err ? err : cg_buf_append(out, s, len);
}

int cg_audit_pack(const cg_audit_use_t *u, const uint8_t holder[CG_AUDIT_HOLDER_LEN],
                  cg_buf_t *out) {
  static const uint8_t none[CG_AUDIT_HOLDER_LEN];
  uint8_t h[12];
  int nids = u->nids > CG_AUDIT_IDS_MAX ? CG_AUDIT_IDS_MAX : u->nids;
  int err;

  h[0] = AUDIT_VERSION;
  h[1] = (uint8_t)u->kind;
  h[2] = (uint8_t)(u->status >> 8);
  h[3] = (uint8_t)u->status;
  for (int i = 0; i < 8; i++)
    h[4 + i] = (uint8_t)(u->time_ms >> (56 - 8 * i));
  if ((err = cg_buf_append(out, h, sizeof h)) != 0 ||
      (err = cg_buf_append(out, holder ? holder : none, CG_AUDIT_HOLDER_LEN)) != 0 ||
      (err = put_str(out, u->venue)) != 0 || (err = put_str(out, u->purpose)) != 0 ||
      (err = put_str(out, u->matter)) != 0 || (err = put_str(out, u->client)) != 0 ||
      (err = put_str(out, u->scan_id)) != 0 || (err = cg_buf_putc(out, (char)nids)) != 0)
    return err;
  for (int i = 0; i < nids; i++)
    if ((err = put_str(out, u->ids[i])) != 0)
      return err;
  return 0;
}

int cg_audit_encode(const cg_audit_t *a, cg_buf_t *out) {
  const char *ids[CG_AUDIT_IDS_MAX];
  cg_audit_use_t u = {.time_ms = a->time_ms, .kind = a->kind, .status = a->status,
                      .venue = a->venue, .purpose = a->purpose, .matter = a->matter,
                      .client = a->client, .scan_id = a->scan_id, .ids = ids,
                      .nids = a->nids > CG_AUDIT_IDS_MAX ? CG_AUDIT_IDS_MAX : a->nids};
  for (int i = 0; i < u.nids; i++)
    ids[i] = a->ids[i];
  return cg_audit_pack(&u, a->holder, out);
}

static int get_str(const uint8_t **p, const uint8_t *end, char *dst, size_t cap) {
  size_t n;
  if (*p >= end)
    return -1;
  n = **p;
  (*p)++;
  if ((size_t)(end - *p) < n || n >= cap)
    return -1;
  memcpy(dst, *p, n);
  dst[n] = '\0';
  *p += n;
  return 0;
}

int cg_audit_decode(const char *buf, size_t len, cg_audit_t *a) {
  const uint8_t *p = (const uint8_t *)buf, *end = p + len;
  int n;

  memset(a, 0, sizeof *a);
  if (len < 12 + CG_AUDIT_HOLDER_LEN || p[0] != AUDIT_VERSION)
    return CG_ERECORD;
  a->kind = p[1];
  a->status = p[2] << 8 | p[3];
  for (int i = 0; i < 8; i++)
    a->time_ms = a->time_ms << 8 | p[4 + i];
  memcpy(a->holder, p + 12, CG_AUDIT_HOLDER_LEN);
  p += 12 + CG_AUDIT_HOLDER_LEN;
  if (get_str(&p, end, a->venue, sizeof a->venue) || get_str(&p, end, a->purpose, sizeof a->purpose) ||
      get_str(&p, end, a->matter, sizeof a->matter) || get_str(&p, end, a->client, sizeof a->client) ||
      get_str(&p, end, a->scan_id, sizeof a->scan_id) || p >= end)
    return CG_ERECORD;
  n = *p++;
  if (n > CG_AUDIT_IDS_MAX)
    return CG_ERECORD;
  for (int i = 0; i < n; i++)
    if (get_str(&p, end, a->ids[i], sizeof a->ids[0]))
      return CG_ERECORD;
  a->nids = n;
  if (p != end || a->kind < CG_AUDIT_SCAN || a->kind > CG_AUDIT_LIST)
    return CG_ERECORD;
  return 0;
}
