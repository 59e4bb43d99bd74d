/* record.c — encoding and bounds-checked decoding of LMDB records.
 *
 * Layout (all integers little-endian), CG_RECORD_VERSION 2:
 *    0 u8 version   1 u8 status   2 u8 seal_alg   3 u8 seal_state
 *    4 u8 seal_reason   5 u8 source   6 u8 holder_type   7 u8 flags
 *    8 u32 trust_gen   12 u32 issued   16 u32 effective   20 u32 expiring
 *   24 u64 fetched_at  32 u64 etag     40 u8[16] holder_key
 *   56 u32 body_len    60 u16 sig_len  62 u16 index_len
 *   64 body[body_len] signer[32] sig[sig_len] (base64 text) index[index_len]
 *
 * The index (docs/record.md): u16 ntop, u16 ndata, then ntop and ndata u16
 * offsets. Version 1 records are the same without it (index_len 0).
 */
#include "core/record.h"

#include <string.h>

#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "core/cert.h"
#include "core/ident.h"

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

uint64_t cg_record_etag(const cg_record_t *r) {
  XXH3_state_t st;
  XXH3_64bits_reset(&st);
  XXH3_64bits_update(&st, &r->seal_alg, 1);
  XXH3_64bits_update(&st, r->signer, CG_SEAL_FPR_LEN);
  XXH3_64bits_update(&st, r->sig, r->sig_len);
  XXH3_64bits_update(&st, r->body, r->body_len);
  return XXH3_64bits_digest(&st);
}

static int fields_ok(const cg_record_t *r) {
  return r->status >= CG_CERT_VALID && r->status <= CG_CERT_REVOKED &&
         r->seal_state <= CG_SEAL_INVALID && r->source >= CG_SOURCE_IMPORT &&
         r->source <= CG_SOURCE_LAST && (r->flags & ~CG_RECORD_FLAGS) == 0 &&
         (r->holder_type == CG_HOLDER_CITIZEN || r->holder_type == CG_HOLDER_ORG) &&
         (r->seal_alg == CG_SEAL_ES256 || r->seal_alg == CG_SEAL_RS256) && r->sig_len > 0 &&
         r->sig_len <= CG_SEAL_B64_MAX && r->body_len <= CG_CERT_BODY_MAX;
}

void cg_record_set_revoked_later(void *rec, size_t len) {
  uint8_t *h = rec;
  if (len >= CG_RECORD_HEADER) {
    h[1] = CG_CERT_REVOKED;
    h[7] |= CG_RECORD_REVOKED_LATER;
  }
}

int cg_record_encode(cg_record_t *r, cg_buf_t *out) {
  size_t total =
      CG_RECORD_HEADER + (size_t)r->body_len + CG_SEAL_FPR_LEN + r->sig_len + r->index_len;
  uint8_t *h;
  int err;

  if (!fields_ok(r) || r->body == NULL || r->signer == NULL || r->sig == NULL ||
      (r->index_len > 0 && r->index == NULL))
    return CG_EBADREQ;
  if ((err = cg_buf_reserve(out, total)) != 0)
    return err;
  r->etag = cg_record_etag(r);
  h = (uint8_t *)out->base + out->len;
  memset(h, 0, CG_RECORD_HEADER);
  h[0] = CG_RECORD_VERSION;
  h[1] = r->status;
  h[2] = r->seal_alg;
  h[3] = r->seal_state;
  h[4] = r->seal_reason;
  h[5] = r->source;
  h[6] = r->holder_type;
  h[7] = r->flags;
  put32(h + 8, r->trust_gen);
  put32(h + 12, r->issued);
  put32(h + 16, r->effective);
  put32(h + 20, r->expiring);
  put64(h + 24, r->fetched_at);
  put64(h + 32, r->etag);
  memcpy(h + 40, r->holder_key, CG_HOLDER_KEY_LEN);
  put32(h + 56, r->body_len);
  put16(h + 60, r->sig_len);
  put16(h + 62, r->index_len);
  memcpy(h + CG_RECORD_HEADER, r->body, r->body_len);
  memcpy(h + CG_RECORD_HEADER + r->body_len, r->signer, CG_SEAL_FPR_LEN);
  memcpy(h + CG_RECORD_HEADER + r->body_len + CG_SEAL_FPR_LEN, r->sig, r->sig_len);
  if (r->index_len > 0)
    memcpy(h + total - r->index_len, r->index, r->index_len);
  out->len += total;
  return 0;
}

uint32_t cg_record_today(time_t now) {
  struct tm tm;
  now += 8 * 3600;
  if (gmtime_r(&now, &tm) == NULL)
    return 0;
  return (uint32_t)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
}

int cg_record_decode(const void *p, size_t len, cg_record_t *r) {
  const uint8_t *h = p;

  if (len < CG_RECORD_HEADER || (h[0] != 1 && h[0] != 2) || (h[0] == 1 && get16(h + 62) != 0))
    return CG_ERECORD;
  r->status = h[1];
  r->seal_alg = h[2];
  r->seal_state = h[3];
  r->seal_reason = h[4];
  r->source = h[5];
  r->holder_type = h[6];
  r->flags = h[7];
  r->trust_gen = get32(h + 8);
  r->issued = get32(h + 12);
  r->effective = get32(h + 16);
  r->expiring = get32(h + 20);
  r->fetched_at = get64(h + 24);
  r->etag = get64(h + 32);
  memcpy(r->holder_key, h + 40, CG_HOLDER_KEY_LEN);
  r->body_len = get32(h + 56);
  r->sig_len = get16(h + 60);
  r->index_len = get16(h + 62);
  /* Lengths come from the bytes: compare them with what is there before
   * anything points past the header. */
  if ((uint64_t)CG_RECORD_HEADER + r->body_len + CG_SEAL_FPR_LEN + r->sig_len + r->index_len !=
      len)
    return CG_ERECORD;
  r->body = (const char *)h + CG_RECORD_HEADER;
  r->signer = h + CG_RECORD_HEADER + r->body_len;
  r->sig = (const char *)r->signer + CG_SEAL_FPR_LEN;
  r->index = r->index_len > 0 ? (const uint8_t *)r->sig + r->sig_len : NULL;
  if (!fields_ok(r) || (r->index_len > 0 && (r->index_len < 4 || r->index_len % 2 != 0 ||
                                             r->index_len != 4 + 2 * (get16(r->index) +
                                                                      get16(r->index + 2)))))
    return CG_ERECORD;
  return 0;
}

void cg_record_index_set(cg_record_t *r, const cg_cert_index_t *ix,
                         uint8_t buf[CG_RECORD_INDEX_MAX]) {
  uint8_t *p = buf + 4;
  r->index = NULL;
  r->index_len = 0;
  if (ix->ntop == 0 || ix->ntop > CG_CERT_INDEX_MAX || ix->ndata > CG_CERT_INDEX_MAX)
    return;
  put16(buf, ix->ntop);
  put16(buf + 2, ix->ndata);
  for (int i = 0; i < ix->ntop; i++, p += 2)
    put16(p, ix->top[i]);
  for (int i = 0; i < ix->ndata; i++, p += 2)
    put16(p, ix->data[i]);
  r->index = buf;
  r->index_len = (uint16_t)(p - buf);
}

/* Offsets rising from `from`, below `to`, each at a quote just after the
 * '{' or ',' before a member (core/view.c checks the name that follows
 * when it reads the member). */
static int offsets_ok(const cg_record_t *r, const uint16_t *o, int n, size_t from, size_t to) {
  for (int i = 0; i < n; i++) {
    if (o[i] < from || o[i] >= to || r->body[o[i]] != '"' ||
        (r->body[o[i] - 1] != '{' && r->body[o[i] - 1] != ','))
      return 0;
    from = (size_t)o[i] + 1;
  }
  return 1;
}

int cg_record_index_get(const cg_record_t *r, cg_cert_index_t *ix) {
  const uint8_t *p;
  if (r->index == NULL || r->index_len < 4)
    return CG_ENOTFOUND;
  ix->ntop = get16(r->index);
  ix->ndata = get16(r->index + 2);
  if (ix->ntop == 0 || ix->ntop > CG_CERT_INDEX_MAX || ix->ndata > CG_CERT_INDEX_MAX ||
      r->index_len != 4 + 2 * (ix->ntop + ix->ndata))
    return CG_ENOTFOUND;
  p = r->index + 4;
  for (int i = 0; i < ix->ntop; i++, p += 2)
    ix->top[i] = get16(p);
  for (int i = 0; i < ix->ndata; i++, p += 2)
    ix->data[i] = get16(p);
  if (ix->top[0] != 1 || !offsets_ok(r, ix->top, ix->ntop, 1, r->body_len) ||
      !offsets_ok(r, ix->data, ix->ndata, 1, r->body_len))
    return CG_ENOTFOUND;
  return 0;
}

void cg_record_seal(const cg_record_t *r, cg_seal_t *out) {
  out->alg = (cg_seal_alg_t)r->seal_alg;
  memcpy(out->signer, r->signer, CG_SEAL_FPR_LEN);
  out->sig_len = r->sig_len;
  memcpy(out->sig, r->sig, r->sig_len);
  out->sig[r->sig_len] = '\0';
}

void cg_record_holder_key(int holder_type, const char *code, size_t len,
                          uint8_t out[CG_HOLDER_KEY_LEN]) {
  const char *type = cg_ident_holder_type_code(holder_type);
  char in[3 + 64];
  XXH128_canonical_t c;

  /* Holder codes are 18 characters; anything longer was never valid. */
  if (len > sizeof in - 3)
    len = sizeof in - 3;
  memcpy(in, type ? type : "???", 3);
  memcpy(in + 3, code, len);
  XXH128_canonicalFromHash(&c, XXH3_128bits(in, 3 + len));
  memcpy(out, c.digest, CG_HOLDER_KEY_LEN);
}

int cg_record_member(const cg_record_t *r, const char *name, const char **value, size_t *len) {
  size_t nlen = strlen(name);
  int ntop;
  const uint8_t *p;

  if (r->index == NULL || r->index_len < 4 || (ntop = get16(r->index)) == 0 ||
      r->index_len < 4 + 2 * ntop)
    return CG_ENOTFOUND;
  p = r->index + 4;
  for (int i = 0; i < ntop; i++) {
    size_t off = get16(p + 2 * i);
    size_t end = i + 1 < ntop ? (size_t)get16(p + 2 * i + 2) - 1 : (size_t)r->body_len - 1;
    /* "name": then the value, up to the ',' or '}' where the next begins */
    if (end >= r->body_len || off + nlen + 3 >= end || r->body[off] != '"' ||
        r->body[off + nlen + 1] != '"' || r->body[off + nlen + 2] != ':' ||
        memcmp(r->body + off + 1, name, nlen) != 0)
      continue;
    *value = r->body + off + nlen + 3;
    *len = end - (off + nlen + 3);
    return 0;
  }
  return CG_ENOTFOUND;
}
