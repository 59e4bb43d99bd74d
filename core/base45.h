/* base45.h — Base45 (RFC 9285): bytes as text in the 45 characters of the QR
 * code's alphanumeric mode, so a QR code carries them at 5.5 bits a
 * character instead of 8. Two bytes become three characters, a last odd byte
 * two. Pure functions, no allocation; core/token.c is the caller.
 */
#ifndef CG_BASE45_H
#define CG_BASE45_H

#include <stddef.h>

#include "core/error.h"

/* Characters that n bytes encode to (without a NUL). */
static inline size_t cg_base45_encoded_len(size_t n) { return n / 2 * 3 + n % 2 * 2; }
/* Bytes that len characters decode to, if they are valid Base45. */
static inline size_t cg_base45_decoded_len(size_t len) { return len / 3 * 2 + (len % 3 == 2); }

/* Writes the Base45 text of in[0..n) and a NUL to out. Returns 0, or
 * CG_ETOOBIG (out untouched) if cap < cg_base45_encoded_len(n) + 1. */
int cg_base45_encode(const void *in, size_t n, char *out, size_t cap);

/* Decodes in[0..len) into out and sets *outlen. Returns 0; CG_ECODE if a
 * character is outside the 45 of RFC 9285 (lower case included), if len
 * leaves one character over, or if a group's value does not fit its bytes
 * (>= 65536 for three characters, >= 256 for two), as RFC 9285 requires;
 * CG_ETOOBIG if cap < cg_base45_decoded_len(len). out may be partly written
 * on failure. */
int cg_base45_decode(const char *in, size_t len, void *out, size_t cap, size_t *outlen);

#endif
