/* ident.h — identifiers that certgw checks before any lookup.
 *
 * GB/T 36904 e-certificate identifiers (ISO 7064 MOD 37,36 hybrid check
 * character), GB 11643 citizen ID numbers (MOD 11-2 and a real birth date),
 * GB 32100 unified social credit codes (MOD 31) and the GB 11714
 * organisation code inside them. Pure functions: no allocation, no state.
 * Only the canonical spelling is valid (upper-case letters, no spaces).
 */
#ifndef CG_IDENT_H
#define CG_IDENT_H

#include <stddef.h>

#include "core/error.h"

#define CG_IDENT_ROOT "1.2.156.3005.2."   /* 电子证照根代码 and its dot */
#define CG_IDENT_MAX 128                 /* longest identifier accepted, in bytes */
#define CG_IDENT_SERIAL_MAX 32           /* longest serial (流水号) seen in real data */

/* An identifier split into its segments. Each segment points into the string
 * that cg_ident_parse was given and is valid as long as that string is. */
typedef struct cg_ident {
  const char *type_code;  /* 证照类型代码, 21 characters */
  const char *issuer;     /* 颁发机构代码, 18 characters (a USCC) */
  const char *serial;     /* 流水号, 1..CG_IDENT_SERIAL_MAX of [0-9A-Z] */
  size_t serial_len;
  const char *version;    /* 版本号, 3 digits */
  char check;             /* 校验位 */
} cg_ident_t;

/* Parses and validates `1.2.156.3005.2.<type>.<issuer>.<serial>.<version>.<check>`.
 * Returns 0, or CG_EIDENT with the reason in why. out may be NULL. */
int cg_ident_parse(const char *s, size_t len, cg_ident_t *out, cg_why_t *why);

/* The type code (21 characters) of an identifier already checked — one from
 * the store, which checks every identifier it takes — without checking it
 * again: NULL when s does not even have the form's root and type segment. */
const char *cg_ident_type_of(const char *s, size_t len);

/* ISO 7064 MOD 37,36 check character over s (characters 0-9A-Z, the four
 * middle segments joined without dots). Returns 0 if s holds another character. */
char cg_ident_mod37_36(const char *s, size_t len);

/* Holder types (持证主体代码类型代码, GB/T 36903). */
enum cg_holder_type {
  CG_HOLDER_CITIZEN = 1, /* "111" 公民身份号码 */
  CG_HOLDER_ORG = 2,     /* "001" 统一社会信用代码 */
};

/* "111" -> CG_HOLDER_CITIZEN, "001" -> CG_HOLDER_ORG, else CG_EHOLDER. */
int cg_ident_holder_type(const char *s, size_t len);
/* The three-character code of a holder type ("111", "001"), or NULL. */
const char *cg_ident_holder_type_code(int type);

/* GB 11643: 18 characters, 6-digit area code, a real birth date between
 * 1900-01-01 and today, 3-digit sequence, MOD 11-2 check ('X' for 10).
 * Returns 0 or CG_EHOLDER with the reason in why. */
int cg_ident_citizen_validate(const char *s, size_t len, cg_why_t *why);
/* Check character of the first 17 characters, or 0 if one is not a digit. */
char cg_ident_citizen_check_char(const char *first17);

/* GB 32100: 18 characters from 0-9A-HJ-NP-RTUWXY, MOD 31 check character,
 * positions 3-8 digits (area code). Returns 0 or CG_EHOLDER with why. */
int cg_ident_uscc_validate(const char *s, size_t len, cg_why_t *why);
/* Check character of the first 17 characters, or 0 if one is outside the set. */
char cg_ident_uscc_check_char(const char *first17);

/* GB 11714 organisation code check character (positions 9-17 of a USCC):
 * over the first 8 characters, weights 3,7,9,10,5,8,4,2; 10 -> 'X', 11 -> '0'.
 * Returns 0 if a character is outside 0-9A-Z. A soft check: real codes pass it,
 * but GB 32100 does not require it. */
char cg_ident_orgcode_check_char(const char *first8);

/* Validates code as a holder code of the given type (CG_HOLDER_…).
 * Returns 0 or CG_EHOLDER with the reason in why. */
int cg_ident_holder_validate(int type, const char *code, size_t len, cg_why_t *why);

#endif
