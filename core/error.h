/* error.h — the one error vocabulary of certgw.
 *
 * Every function in core/ returns 0 or a negative CG_E… code. One X-macro
 * table gives each code its message for a person, the snake_case name that
 * the HTTP API puts in error.code, and the HTTP status it answers with.
 * Codes of LMDB, mbedTLS and libuv are translated in the file that calls them.
 */
#ifndef CG_ERROR_H
#define CG_ERROR_H

#include <stddef.h>

/*  XX(suffix, api name, http status, message) */
#define CG_ERRNO_MAP(XX)                                                              \
  XX(EBADREQ,     "bad_request",          400, "the request is malformed")            \
  XX(EIDENT,      "invalid_identifier",   400, "the identifier is not valid")         \
  XX(EHOLDER,     "invalid_holder_code",  400, "the holder code is not valid")        \
  XX(ECODE,       "malformed_code",       400, "the QR text cannot be decoded")       \
  XX(EUNAUTH,     "unauthorized",         401, "no or unknown venue key")             \
  XX(ETOKEN,      "invalid_code",         401, "the QR code is not genuine")          \
  XX(EFORBIDDEN,  "forbidden",            403, "the venue's scope does not allow this") \
  XX(ENOTFOUND,   "not_found",            404, "nothing was found")                   \
  XX(EMETHOD,     "method_not_allowed",   405, "the method is not allowed here")      \
  XX(ETIMEDOUT,   "request_timeout",      408, "the request took too long to arrive") \
  XX(EEXIST,      "already_exists",       409, "it exists already")                   \
  XX(EEXPIRED,    "code_expired",         410, "the QR code has expired")             \
  XX(EREVOKED,    "certificate_revoked",  410, "the issuing agency has revoked this certificate") \
  XX(ETOOBIG,     "payload_too_large",    413, "the body is too large")               \
  XX(EHDRBIG,     "headers_too_large",    431, "the request headers are too large")   \
  XX(ERATE,       "rate_limited",         429, "too many requests")                   \
  XX(EINTERNAL,   "internal_error",       500, "an internal error occurred")          \
  XX(ENOMEM,      "out_of_memory",        500, "out of memory")                       \
  XX(EIO,         "io_error",             500, "an input/output error occurred")      \
  XX(ESTORE,      "store_error",          500, "the certificate store failed")        \
  XX(ESCHEMA,     "schema_mismatch",      500, "the store has another schema version") \
  XX(ERECORD,     "corrupt_record",       500, "a stored record is corrupt")          \
  XX(ECRYPTO,     "crypto_error",         500, "a cryptographic operation failed")    \
  XX(ECONFIG,     "bad_config",           500, "the configuration is not valid")      \
  XX(EMAPFULL,    "store_full",           507, "the certificate store is full")       \
  XX(EUPSTREAM,   "upstream_unavailable", 503, "every upstream platform failed")      \
  XX(EUPTIMEOUT,  "upstream_timeout",     504, "the upstream platforms did not answer in time") \
  XX(EUNAVAIL,    "unavailable",          503, "the service is not ready")            \

enum cg_errno {
  CG_OK = 0,
  CG__ERRNO_BASE = -1000,
#define CG__XX(s, name, status, msg) CG_##s,
  CG_ERRNO_MAP(CG__XX)
#undef CG__XX
  CG__ERRNO_END
};

/* A sentence for a person; never NULL, "unknown error" for a foreign code. */
const char *cg_strerror(int err);
/* The stable snake_case name used as error.code in HTTP bodies. */
const char *cg_err_name(int err);
/* The HTTP status a request failing with err answers with (500 if unknown). */
int cg_err_status(int err);

/* A detail for a person, filled by functions that can say more than their
 * code ("certificateHolderCode: wrong check character"). A NULL cg_why_t
 * pointer is allowed everywhere and means "not interested". */
typedef struct cg_why {
  char text[200];
} cg_why_t;

/* Formats into why (if not NULL) and returns err, so a caller can write
 * `return cg_why_set(why, CG_EIDENT, "…", …);`. */
int cg_why_set(cg_why_t *why, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
