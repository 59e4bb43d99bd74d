/* record.h — the binary LMDB record of one certificate (docs/record.md).
 *
 *   header (64 bytes, little-endian, versioned) | canonical body | seal
 *   | member index (version 2)
 *
 * The seal is the signer fingerprint and the signature in base64, the form
 * answers carry, so serving never encodes it.
 *
 * The header carries what the request path needs without parsing the body:
 * status, dates, seal state and the trust generation it was checked under,
 * the XXH3 ETag and the holder index key. Encoding and decoding check every
 * length against the bytes actually there; a decoded record points into the
 * bytes it was decoded from (an LMDB value: valid until the txn ends).
 */
#ifndef CG_RECORD_H
#define CG_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/buf.h"
#include "core/cert.h"
#include "core/error.h"
#include "core/seal.h"

#define CG_RECORD_VERSION 2 /* 1: no member index; both are read */
#define CG_RECORD_HEADER 64
#define CG_HOLDER_KEY_LEN 16 /* XXH3-128 of holder type code ‖ holder code */
#define CG_RECORD_INDEX_MAX (4 + 4 * CG_CERT_INDEX_MAX) /* bytes of a packed index */

/* Where a record came from. */
enum cg_record_source {
  CG_SOURCE_IMPORT = 1,   /* certctl import / demo */
  CG_SOURCE_CITY = 2,     /* the city platform */
  CG_SOURCE_PROVINCE = 3, /* the provincial platform */
  CG_SOURCE_LAST = 5,     /* upstream tier i (0-based) is source 2 + i */
};

/* Marks an encoded record (as cg_record_encode wrote it, len bytes) revoked
 * by its issuer since it was sealed: status revoked, CG_RECORD_REVOKED_LATER
 * set. For a writer that keeps such a revocation when a version comes that
 * does not know of it. */
void cg_record_set_revoked_later(void *rec, size_t len);

/* Header flags. */
enum cg_record_flag {
  /* Revoked by the issuing platform after it was sealed (its change feed or
   * its answer said so): status is CG_CERT_REVOKED while the signed body
   * still reads as it was sealed. Never served (docs/upstream.md). */
  CG_RECORD_REVOKED_LATER = 1,
  CG_RECORD_FLAGS = 1, /* every flag defined */
};

/* What is known of a record's seal. Checking is issue 5's; until a record
 * is checked it is unchecked, and an unchecked record is never served as
 * genuine. */
enum cg_seal_state {
  CG_SEAL_UNCHECKED = 0,
  CG_SEAL_VERIFIED = 1,
  CG_SEAL_INVALID = 2, /* seal_reason says why */
};

typedef struct cg_record {
  uint8_t status;      /* CG_CERT_… */
  uint8_t seal_state;  /* CG_SEAL_UNCHECKED … */
  uint8_t seal_reason; /* why a seal is invalid (issue 5), else 0 */
  uint8_t source;      /* CG_SOURCE_… */
  uint8_t holder_type; /* CG_HOLDER_… */
  uint8_t flags;       /* CG_RECORD_… */
  uint32_t trust_gen;  /* trust generation the seal state was reached under */
  uint32_t issued, effective, expiring; /* yyyymmdd; expiring 0 = no expiry */
  uint64_t fetched_at; /* unix seconds when it entered the store */
  uint64_t etag;       /* XXH3-64 of body and seal; set by cg_record_encode */
  uint8_t holder_key[CG_HOLDER_KEY_LEN];
  const char *body;    /* canonical body */
  uint32_t body_len;
  uint8_t seal_alg;                /* cg_seal_alg_t */
  const uint8_t *signer;           /* CG_SEAL_FPR_LEN bytes */
  const char *sig;                 /* base64, as in the seal object */
  uint16_t sig_len;
  const uint8_t *index;            /* the body's member index, packed; NULL: none */
  uint16_t index_len;
} cg_record_t;

/* Appends the encoding of r to out, computing and storing r->etag.
 * Returns 0, CG_EBADREQ for out-of-range fields, or CG_ETOOBIG. */
int cg_record_encode(cg_record_t *r, cg_buf_t *out);

/* Decodes p[0..len). On success r's pointers point into p. Returns 0 or
 * CG_ERECORD for anything that does not add up (version, lengths, enums). */
int cg_record_decode(const void *p, size_t len, cg_record_t *r);

/* Today at time now as certificates' dates are written (yyyymmdd): in
 * China Standard Time (UTC+8, no daylight saving), the calendar of every
 * effective and expiring date, not UTC (which is still yesterday until
 * 08:00). 0 if now cannot be converted. */
uint32_t cg_record_today(time_t now);

/* Packs ix into buf and points r at it (an empty index: none). */
void cg_record_index_set(cg_record_t *r, const cg_cert_index_t *ix,
                         uint8_t buf[CG_RECORD_INDEX_MAX]);

/* Unpacks r's member index into ix, checking it against the body: offsets
 * rising, inside it, each at a member name's opening quote. Returns 0, or
 * CG_ENOTFOUND when r has none or it does not fit its body. */
int cg_record_index_get(const cg_record_t *r, cg_cert_index_t *ix);

/* The stored value (JSON text as in the body: a string with its quotes) of
 * the top-level member name, found through the member index without reading
 * the body through. Returns 0, or CG_ENOTFOUND when the record has no index
 * or no such member (callers without an index search the body). */
int cg_record_member(const cg_record_t *r, const char *name, const char **value, size_t *len);

/* The ETag a record's content hashes to (XXH3-64 of alg, signer, sig, body). */
uint64_t cg_record_etag(const cg_record_t *r);

/* Fills a cg_seal_t from a decoded record's seal fields. */
void cg_record_seal(const cg_record_t *r, cg_seal_t *out);

/* The holder index key: XXH3-128 of the 3-character type code ‖ code, in
 * canonical (big-endian) byte order. */
void cg_record_holder_key(int holder_type, const char *code, size_t len,
                          uint8_t out[CG_HOLDER_KEY_LEN]);

#endif
