/* cert.h — the e-certificate model (电子证照) and its canonical body.
 *
 * A certificate is a JSON object with the national metadata field names
 * (certificateIdentifier, certificateHolderCode, …) plus a `data` object of
 * type-specific fields and a `seal`. The canonical body is the object without
 * `seal`, written as docs/record.md defines it (UTF-8, keys sorted, no
 * insignificant whitespace): those are the exact bytes a seal signs.
 */
#ifndef CG_CERT_H
#define CG_CERT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/ident.h"
#include "core/seal.h"

struct cJSON;

#define CG_CERT_BODY_MAX (64 * 1024) /* largest canonical body accepted */
#define CG_CERT_LINE_MAX (96 * 1024) /* largest JSON text of one certificate */
#define CG_CERT_DEPTH_MAX 8          /* nesting of objects and arrays */

/* Certificate status (the `status` field). */
enum cg_cert_status {
  CG_CERT_VALID = 1,     /* "valid" */
  CG_CERT_SUSPENDED = 2, /* "suspended": temporarily not usable */
  CG_CERT_REVOKED = 3,   /* "revoked": cancelled by the issuer */
};
const char *cg_cert_status_name(int status);
int cg_cert_status_parse(const char *s, size_t len); /* a CG_CERT_… or CG_EBADREQ */

/* Where the members of a canonical body start: the offset (from the body's
 * first byte) of the opening quote of each top-level member's name, in body
 * order, and the same for the members of the `data` object. Written while
 * the body is, so that a view can be cut from the stored bytes without
 * parsing them (core/view.c). An object with more members than fit leaves
 * the index empty (ntop 0): views of it take the parsing path. */
#define CG_CERT_INDEX_MAX 64
typedef struct cg_cert_index {
  uint16_t ntop, ndata;
  uint16_t top[CG_CERT_INDEX_MAX];
  uint16_t data[CG_CERT_INDEX_MAX];
} cg_cert_index_t;

/* What certgw needs to know about a certificate without parsing its body
 * again: the fields the LMDB record header and the holder index carry.
 * Strings are NUL-terminated copies. */
typedef struct cg_cert_meta {
  char identifier[CG_IDENT_MAX + 1];
  char type_code[22];
  char holder_code[19];
  int holder_type;     /* CG_HOLDER_… */
  int status;          /* CG_CERT_… */
  uint32_t issued;     /* yyyymmdd */
  uint32_t effective;  /* yyyymmdd */
  uint32_t expiring;   /* yyyymmdd, 0 when the certificate does not expire (长期) */
  cg_cert_index_t index; /* where the body's members start */
  int revoked_later;     /* its seal's "revoked": true (cg_cert_parse only) */
} cg_cert_meta_t;

/* Validates a certificate object and writes its canonical body to body
 * (appended; the caller resets it). Fills meta, and seal from the `seal`
 * member (seal may be NULL: then a `seal` member is ignored; otherwise it is
 * required). Checks: required fields present and strings; identifier and
 * holder code with right check characters; identifier segments agree with
 * certificateTypeCode and certificateIssuingAuthorityCode; dates are real
 * yyyymmdd dates in order; status known; strings valid UTF-8; keys plain
 * ASCII names, unique; numbers integers; depth and size bounded.
 * Returns 0, or CG_EBADREQ / CG_EIDENT / CG_EHOLDER / CG_ETOOBIG with why. */
int cg_cert_from_json(const struct cJSON *obj, cg_buf_t *body, cg_cert_meta_t *meta,
                      cg_seal_t *seal, cg_why_t *why);

/* Parses one JSON text (a line of a JSON Lines file) and does the above.
 * Its seal object may also carry "revoked": true or false (the seal member
 * is not part of the body: a seal does not sign it): the issuing platform
 * revoked the certificate after sealing it, as `certctl export` writes
 * (docs/record.md); it sets meta->revoked_later. */
int cg_cert_parse(const char *text, size_t len, cg_buf_t *body, cg_cert_meta_t *meta,
                  cg_seal_t *seal, cg_why_t *why);

/* Writes a cJSON value in canonical form (docs/record.md) to out. Used for
 * the body and by anyone who must reproduce the signed bytes. Returns 0,
 * CG_EBADREQ (a float, bad UTF-8, a bad or duplicate key, too deep) with
 * why, or CG_ETOOBIG. */
int cg_cert_canonical(const struct cJSON *v, cg_buf_t *out, cg_why_t *why);

/* Writes the `seal` JSON object: {"algorithm":…,"signature":…,"signer":…}
 * (signature in standard base64, signer as 64 lower-case hex digits). */
int cg_cert_seal_json(const cg_seal_t *seal, cg_buf_t *out);

/* Parses a `seal` object. Returns 0 or CG_EBADREQ with why. */
int cg_cert_seal_from_json(const struct cJSON *obj, cg_seal_t *seal, cg_why_t *why);

/* Parses "yyyymmdd" into 20240131 form, checking it is a real date.
 * Returns 0 or CG_EBADREQ. */
int cg_cert_date_parse(const char *s, size_t len, uint32_t *out);

/* What in the JSON text s[0..len) would put a NUL inside a string (cJSON
 * copies a raw NUL byte as it is, and decodes \u0000, and a \u without four
 * hex digits, into one; a NUL then silently ends the string, so the bytes
 * signed would differ from what the sender wrote): NULL when there is none,
 * else what to say. Every JSON text a certificate comes in is checked with
 * it before cJSON reads it (cg_cert_parse, and the platforms' answers). */
const char *cg_cert_hidden_nul(const char *s, size_t len);

/* 1 if s[0..len) is well-formed UTF-8 without overlongs, surrogates or NUL. */
int cg_utf8_valid(const char *s, size_t len);

#endif
