/* audit.c — audit records (see audit.h). */
#include "core/audit.h"

#include <cjson/cJSON.h>
#include <mbedtls/md.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ident.h"

/* The block builder's tables report running out of memory (uthash_nonfatal_oom,
 * below) rather than exit. */
#define HASH_NONFATAL_OOM 1
#include <uthash.h>

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

/* ---- blocks -------------------------------------------------------------------
 *
 * Layout, version 2: u8 version, u8 zero, u16 records, u16 holders, u16
 * strings; the holders (32 bytes each); the strings (u8 length and bytes);
 * then each record: u8 kind, u16 status, u64 time (ms), u16 holder (its
 * index, or NONE), u16 venue, purpose, matter, client, scan id (string
 * indexes), u8 count and a u16 string index per identifier. Big-endian. */
#define BLOCK_VERSION 2
#define BLOCK_HEAD 8
#define NONE 0xffff
/* A record's part: the fixed fields and up to 16 identifiers' indexes. */
#define REC_MAX (1 + 2 + 8 + 2 + 5 * 2 + 1 + 2 * CG_AUDIT_IDS_MAX)
#define STRS_MAX 8192    /* strings in a block */
#define HOLDERS_MAX 1024 /* holders in a block */
/* What one record may add at most: its part, a new holder, new strings. */
#define ADD_MAX (REC_MAX + CG_AUDIT_HOLDER_LEN + (5 + CG_AUDIT_IDS_MAX) * 256)

struct entry {
  UT_hash_handle hh;
  uint16_t idx;
};

struct cg_audit_block {
  uint8_t *holders; /* HOLDERS_MAX * 32 */
  uint8_t *strs;    /* CG_AUDIT_BLOCK_MAX: never moves, the tables point into it */
  uint8_t *recs;    /* CG_AUDIT_BLOCK_MAX */
  size_t nholders, strs_len, nstrs, recs_len, nrecs;
  struct entry *spool, *hpool; /* the tables' entries, taken in order */
  struct entry *stab, *htab;   /* uthash, by bytes */
  /* The last record's holder and strings, by field: a record is most often
   * like the one before (a venue's scanner, a holder's certificates), and
   * a comparison costs less than a lookup. */
  unsigned last_holder, last[5 + CG_AUDIT_IDS_MAX];
  int oom;
};

/* uthash's own allocations (bucket arrays) may fail: it then leaves the
 * entry out and says so here, rather than exiting. */
#undef uthash_nonfatal_oom
#define uthash_nonfatal_oom(e) (b->oom = 1)

cg_audit_block_t *cg_audit_block_new(void) {
  cg_audit_block_t *b = calloc(1, sizeof *b);
  if (b == NULL)
    return NULL;
  b->holders = malloc(HOLDERS_MAX * CG_AUDIT_HOLDER_LEN);
  b->strs = malloc(CG_AUDIT_BLOCK_MAX);
  b->recs = malloc(CG_AUDIT_BLOCK_MAX);
  b->spool = calloc(STRS_MAX, sizeof *b->spool);
  b->hpool = calloc(HOLDERS_MAX, sizeof *b->hpool);
  if (!b->holders || !b->strs || !b->recs || !b->spool || !b->hpool) {
    cg_audit_block_free(b);
    return NULL;
  }
  cg_audit_block_reset(b);
  return b;
}

void cg_audit_block_reset(cg_audit_block_t *b) {
  HASH_CLEAR(hh, b->stab);
  HASH_CLEAR(hh, b->htab);
  b->nholders = b->strs_len = b->nstrs = b->recs_len = b->nrecs = 0;
  b->last_holder = NONE;
  for (size_t i = 0; i < sizeof b->last / sizeof *b->last; i++)
    b->last[i] = NONE;
  b->oom = 0;
}

void cg_audit_block_free(cg_audit_block_t *b) {
  if (b == NULL)
    return;
  cg_audit_block_reset(b);
  free(b->holders);
  free(b->strs);
  free(b->recs);
  free(b->spool);
  free(b->hpool);
  free(b);
}

static size_t block_size(const cg_audit_block_t *b) {
  return BLOCK_HEAD + b->nholders * CG_AUDIT_HOLDER_LEN + b->strs_len + b->recs_len;
}

int cg_audit_block_full(const cg_audit_block_t *b) {
  return block_size(b) + ADD_MAX > CG_AUDIT_BLOCK_MAX ||
         b->nstrs + 5 + CG_AUDIT_IDS_MAX > STRS_MAX || b->nholders + 1 > HOLDERS_MAX ||
         b->nrecs == NONE;
}

size_t cg_audit_block_count(const cg_audit_block_t *b) { return b->nrecs; }

const uint8_t *cg_audit_block_holders(const cg_audit_block_t *b, size_t *n) {
  *n = b->nholders;
  return b->holders;
}

static uint8_t *put16(uint8_t *o, unsigned v) {
  o[0] = (uint8_t)(v >> 8);
  o[1] = (uint8_t)v;
  return o + 2;
}

static unsigned get16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }

/* The index of s in b's strings, added if new (NONE: out of memory); hint
 * is where to look first. */
static unsigned intern(cg_audit_block_t *b, const uint8_t *s, size_t n, unsigned hint) {
  struct entry *e;
  if (hint != NONE && b->spool[hint].hh.keylen == n && memcmp(b->spool[hint].hh.key, s, n) == 0)
    return hint;
  HASH_FIND(hh, b->stab, s, n, e);
  if (e != NULL)
    return e->idx;
  uint8_t *at = b->strs + b->strs_len;
  at[0] = (uint8_t)n;
  memcpy(at + 1, s, n);
  e = &b->spool[b->nstrs];
  e->idx = (uint16_t)b->nstrs;
  HASH_ADD_KEYPTR(hh, b->stab, at + 1, n, e);
  if (b->oom)
    return NONE;
  b->strs_len += 1 + n;
  return b->nstrs++;
}

static unsigned intern_holder(cg_audit_block_t *b, const uint8_t *h) {
  static const uint8_t none[CG_AUDIT_HOLDER_LEN];
  struct entry *e;
  if (b->last_holder != NONE &&
      memcmp(b->holders + b->last_holder * CG_AUDIT_HOLDER_LEN, h, CG_AUDIT_HOLDER_LEN) == 0)
    return b->last_holder;
  if (memcmp(h, none, CG_AUDIT_HOLDER_LEN) == 0)
    return NONE;
  HASH_FIND(hh, b->htab, h, CG_AUDIT_HOLDER_LEN, e);
  if (e != NULL)
    return e->idx;
  uint8_t *at = b->holders + b->nholders * CG_AUDIT_HOLDER_LEN;
  memcpy(at, h, CG_AUDIT_HOLDER_LEN);
  e = &b->hpool[b->nholders];
  e->idx = (uint16_t)b->nholders;
  HASH_ADD_KEYPTR(hh, b->htab, at, CG_AUDIT_HOLDER_LEN, e);
  return b->oom ? NONE : b->nholders++;
}

/* The room a cg_audit_t has for venue, purpose, matter, client and scan id:
 * a record that would not fit is not added, so that a block never holds
 * one its readers cannot give (each would refuse the whole block). */
static const size_t field_cap[5] = {
    sizeof((cg_audit_t *)0)->venue, sizeof((cg_audit_t *)0)->purpose,
    sizeof((cg_audit_t *)0)->matter, sizeof((cg_audit_t *)0)->client,
    sizeof((cg_audit_t *)0)->scan_id};

/* Past the u8-length string at p, or NULL if it overruns end. */
static const uint8_t *skip_str(const uint8_t *p, const uint8_t *end) {
  return p < end && (size_t)(end - p - 1) >= *p ? p + 1 + *p : NULL;
}

int cg_audit_block_add(cg_audit_block_t *b, const void *rec, size_t len) {
  const uint8_t *p = rec, *end = p + len, *str[5 + CG_AUDIT_IDS_MAX];
  uint8_t *o = b->recs + b->recs_len;
  unsigned nids, holder, idx;

  if (cg_audit_block_full(b))
    return CG_ETOOBIG;
  b->oom = 0; /* (an entry uthash could not add was left out whole) */
  /* Checked whole before anything is added. */
  if (len < 12 + CG_AUDIT_HOLDER_LEN || p[0] != AUDIT_VERSION || p[1] < CG_AUDIT_SCAN ||
      p[1] > CG_AUDIT_LIST)
    return CG_ERECORD;
  p += 12 + CG_AUDIT_HOLDER_LEN;
  for (unsigned i = 0; i < 5; i++)
    if ((p = skip_str(str[i] = p, end)) == NULL || *str[i] >= field_cap[i])
      return CG_ERECORD;
  if (p >= end || (nids = *p++) > CG_AUDIT_IDS_MAX)
    return CG_ERECORD;
  for (unsigned i = 0; i < nids; i++)
    if ((p = skip_str(str[5 + i] = p, end)) == NULL ||
        *str[5 + i] >= sizeof(((cg_audit_t *)0)->ids[0]))
      return CG_ERECORD;
  if (p != end)
    return CG_ERECORD;
  memcpy(o, (const uint8_t *)rec + 1, 11); /* kind, status, time */
  if ((holder = intern_holder(b, (const uint8_t *)rec + 12)) == NONE && b->oom)
    return CG_ENOMEM;
  o = put16(o + 11, holder);
  for (unsigned i = 0; i < 5 + nids; i++) {
    if (i == 5)
      *o++ = (uint8_t)nids;
    if ((idx = intern(b, str[i] + 1, str[i][0], b->last[i])) == NONE)
      return CG_ENOMEM;
    o = put16(o, idx);
    b->last[i] = idx;
  }
  if (holder != NONE)
    b->last_holder = holder;
  if (nids == 0)
    *o++ = 0;
  b->recs_len = (size_t)(o - b->recs);
  b->nrecs++;
  return 0;
}

int cg_audit_block_finish(const cg_audit_block_t *b, cg_buf_t *out) {
  uint8_t h[BLOCK_HEAD] = {BLOCK_VERSION, 0};
  int err;
  put16(put16(put16(h + 2, (unsigned)b->nrecs), (unsigned)b->nholders), (unsigned)b->nstrs);
  if ((err = cg_buf_append(out, h, sizeof h)) != 0 ||
      (err = cg_buf_append(out, b->holders, b->nholders * CG_AUDIT_HOLDER_LEN)) != 0 ||
      (err = cg_buf_append(out, b->strs, b->strs_len)) != 0)
    return err;
  return cg_buf_append(out, b->recs, b->recs_len);
}

/* A block read back: its tables found and every record checked. */
struct view {
  const uint8_t *holders, *recs;
  unsigned nrecs, nholders, nstrs;
  const uint8_t **str; /* nstrs */
};

static int view_open(struct view *v, const uint8_t *p, size_t len) {
  const uint8_t *end = p + len, *r;
  memset(v, 0, sizeof *v);
  if (len < BLOCK_HEAD || p[0] != BLOCK_VERSION || p[1] != 0)
    return CG_ERECORD;
  v->nrecs = get16(p + 2), v->nholders = get16(p + 4), v->nstrs = get16(p + 6);
  p += BLOCK_HEAD;
  if (v->nrecs == 0 || (size_t)(end - p) < (size_t)v->nholders * CG_AUDIT_HOLDER_LEN)
    return CG_ERECORD;
  v->holders = p;
  p += (size_t)v->nholders * CG_AUDIT_HOLDER_LEN;
  if ((v->str = malloc((v->nstrs ? v->nstrs : 1) * sizeof *v->str)) == NULL)
    return CG_ENOMEM;
  for (unsigned i = 0; i < v->nstrs; i++, p += 1 + *p) {
    if (p >= end || (size_t)(end - p - 1) < *p)
      goto bad;
    v->str[i] = p;
  }
  v->recs = r = p;
  for (unsigned i = 0; i < v->nrecs; i++) {
    unsigned h, n;
    if ((size_t)(end - r) < REC_MAX - 2 * CG_AUDIT_IDS_MAX || r[0] < CG_AUDIT_SCAN ||
        r[0] > CG_AUDIT_LIST || ((h = get16(r + 11)) != NONE && h >= v->nholders) ||
        (n = r[23]) > CG_AUDIT_IDS_MAX || (size_t)(end - r) < 24 + 2 * (size_t)n)
      goto bad;
    /* Each string in range, and short enough for its field of a
     * cg_audit_t: a value a reader could not give whole is refused whole. */
    for (unsigned j = 0; j < 5 + n; j++) {
      unsigned s = get16(r + 13 + 2 * j + (j >= 5));
      if (s >= v->nstrs ||
          v->str[s][0] >= (j < 5 ? field_cap[j] : sizeof(((cg_audit_t *)0)->ids[0])))
        goto bad;
    }
    r += 24 + 2 * n;
  }
  if (r != end)
    goto bad;
  return 0;
bad:
  free(v->str);
  v->str = NULL;
  return CG_ERECORD;
}

static int copy_str(const struct view *v, const uint8_t *at, char *dst, size_t cap) {
  const uint8_t *s = v->str[get16(at)];
  if (s[0] >= cap)
    return -1;
  memcpy(dst, s + 1, s[0]);
  dst[s[0]] = '\0';
  return 0;
}

/* Record i of a checked view (r: where it begins) into a; *next past it. */
static int view_record(const struct view *v, const uint8_t *r, cg_audit_t *a,
                       const uint8_t **next) {
  unsigned h = get16(r + 11), n = r[23];
  memset(a, 0, sizeof *a);
  a->kind = r[0];
  a->status = (int)get16(r + 1);
  for (int i = 0; i < 8; i++)
    a->time_ms = a->time_ms << 8 | r[3 + i];
  if (h != NONE)
    memcpy(a->holder, v->holders + (size_t)h * CG_AUDIT_HOLDER_LEN, CG_AUDIT_HOLDER_LEN);
  *next = r + 24 + 2 * n;
  if (copy_str(v, r + 13, a->venue, sizeof a->venue) ||
      copy_str(v, r + 15, a->purpose, sizeof a->purpose) ||
      copy_str(v, r + 17, a->matter, sizeof a->matter) ||
      copy_str(v, r + 19, a->client, sizeof a->client) ||
      copy_str(v, r + 21, a->scan_id, sizeof a->scan_id))
    return CG_ERECORD;
  for (unsigned j = 0; j < n; j++)
    if (copy_str(v, r + 24 + 2 * j, a->ids[j], sizeof a->ids[0]))
      return CG_ERECORD;
  a->nids = (int)n;
  return 0;
}

int cg_audit_each(const char *val, size_t len, cg_audit_fn fn, void *arg) {
  struct view v;
  const uint8_t *r;
  cg_audit_t *a;
  int err;

  if (len > 0 && (uint8_t)val[0] == AUDIT_VERSION) {
    if ((a = malloc(sizeof *a)) == NULL)
      return CG_ENOMEM;
    err = cg_audit_decode(val, len, a);
    if (err == 0)
      err = fn(arg, a);
    free(a);
    return err;
  }
  if ((err = view_open(&v, (const uint8_t *)val, len)) != 0)
    return err;
  if ((a = malloc(sizeof *a)) == NULL) {
    free(v.str);
    return CG_ENOMEM;
  }
  r = v.recs;
  for (unsigned i = 0; i < v.nrecs && err == 0; i++)
    if ((err = view_record(&v, r, a, &r)) == 0)
      err = fn(arg, a);
  free(a);
  free(v.str);
  return err;
}

int cg_audit_each_holder(const char *val, size_t len, cg_audit_holder_fn fn, void *arg) {
  static const uint8_t none[CG_AUDIT_HOLDER_LEN];
  struct view v;
  int err = 0;

  if (len > 0 && (uint8_t)val[0] == AUDIT_VERSION) {
    cg_audit_t *a = malloc(sizeof *a);
    if (a == NULL)
      return CG_ENOMEM;
    if ((err = cg_audit_decode(val, len, a)) == 0 && memcmp(a->holder, none, sizeof none) != 0)
      err = fn(arg, a->holder);
    free(a);
    return err;
  }
  if ((err = view_open(&v, (const uint8_t *)val, len)) != 0)
    return err;
  for (unsigned i = 0; i < v.nholders && err == 0; i++)
    err = fn(arg, v.holders + (size_t)i * CG_AUDIT_HOLDER_LEN);
  free(v.str);
  return err;
}
