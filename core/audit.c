/* audit.c — audit records (see audit.h). */
#include "core/audit.h"

#include <cjson/cJSON.h>
#include <mbedtls/md.h>
#include <stdio.h>
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

int cg_audit_encode(const cg_audit_t *a, cg_buf_t *out) {
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

static void copy(char *dst, size_t cap, const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  snprintf(dst, cap, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

int cg_audit_decode(const char *p, size_t len, cg_audit_t *a) {
  cJSON *o = cJSON_ParseWithLength(p, len), *e;
  const cJSON *v;
  char holder[2 * CG_AUDIT_HOLDER_LEN + 1], kind[16];

  memset(a, 0, sizeof *a);
  if (o == NULL)
    return CG_ERECORD;
  v = cJSON_GetObjectItemCaseSensitive(o, "time");
  a->time_ms = cJSON_IsNumber(v) && v->valuedouble >= 0 ? (uint64_t)v->valuedouble : 0;
  copy(kind, sizeof kind, o, "kind");
  a->kind = !strcmp(kind, "scan") ? CG_AUDIT_SCAN : !strcmp(kind, "fetch") ? CG_AUDIT_FETCH
                                                  : !strcmp(kind, "list")  ? CG_AUDIT_LIST
                                                                           : 0;
  copy(a->venue, sizeof a->venue, o, "venue");
  copy(a->purpose, sizeof a->purpose, o, "purpose");
  copy(a->matter, sizeof a->matter, o, "matter");
  copy(a->client, sizeof a->client, o, "client");
  copy(a->scan_id, sizeof a->scan_id, o, "scanId");
  copy(holder, sizeof holder, o, "holder");
  for (int i = 0; i < CG_AUDIT_HOLDER_LEN && strlen(holder) == 2 * CG_AUDIT_HOLDER_LEN; i++) {
    const char *h = holder + 2 * i;
    int hi = strchr(hexdig, h[0]) ? (int)(strchr(hexdig, h[0]) - hexdig) : 0;
    int lo = strchr(hexdig, h[1]) ? (int)(strchr(hexdig, h[1]) - hexdig) : 0;
    a->holder[i] = (uint8_t)(hi << 4 | lo);
  }
  v = cJSON_GetObjectItemCaseSensitive(o, "status");
  a->status = cJSON_IsNumber(v) ? (int)v->valuedouble : 0;
  cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "certificates")) {
    if (a->nids < CG_AUDIT_IDS_MAX && cJSON_IsString(e))
      snprintf(a->ids[a->nids++], sizeof a->ids[0], "%s", e->valuestring);
  }
  cJSON_Delete(o);
  return a->kind ? 0 : CG_ERECORD;
}
