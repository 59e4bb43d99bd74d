/* cert.c — validating certificate objects and writing their canonical body.
 *
 * The canonical form is certgw's own definition of the signed bytes
 * (docs/record.md); it is a subset of RFC 8785 (JCS): members sorted by key,
 * no whitespace, minimal string escapes, integers only. cJSON parses; this
 * file only walks cJSON's tree, checks it and writes it out in that form.
 */
#include "core/cert.h"

#include "core/json.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MEMBERS_MAX 256 /* members of one object */
#define KEY_MAX 64

static const char hexdig[] = "0123456789abcdef";

/* ---- UTF-8 and small parsers ------------------------------------------- */

int cg_utf8_valid(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s, *end = p + len;

  while (p < end) {
    unsigned c = *p;
    size_t n;
    unsigned cp;

    if (c < 0x80) {
      if (c == 0)
        return 0;
      p++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return 0;
    }
    if ((size_t)(end - p) <= n)
      return 0;
    for (size_t i = 1; i <= n; i++) {
      if ((p[i] & 0xc0) != 0x80)
        return 0;
      cp = (cp << 6) | (p[i] & 0x3f);
    }
    /* Overlong forms, UTF-16 surrogates and code points past U+10FFFF. */
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return 0;
    p += n + 1;
  }
  return 1;
}

int cg_cert_date_parse(const char *s, size_t len, uint32_t *out) {
  static const uint8_t mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  uint32_t v = 0, y, m, d;

  if (len != 8)
    return CG_EBADREQ;
  for (size_t i = 0; i < 8; i++) {
    if (s[i] < '0' || s[i] > '9')
      return CG_EBADREQ;
    v = v * 10 + (uint32_t)(s[i] - '0');
  }
  y = v / 10000, m = v / 100 % 100, d = v % 100;
  if (y < 1900 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
    return CG_EBADREQ;
  if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
    return CG_EBADREQ;
  *out = v;
  return 0;
}

static const char *status_names[] = {NULL, "valid", "suspended", "revoked"};

const char *cg_cert_status_name(int status) {
  if (status < CG_CERT_VALID || status > CG_CERT_REVOKED)
    return NULL;
  return status_names[status];
}

int cg_cert_status_parse(const char *s, size_t len) {
  for (int i = CG_CERT_VALID; i <= CG_CERT_REVOKED; i++)
    if (strlen(status_names[i]) == len && memcmp(status_names[i], s, len) == 0)
      return i;
  return CG_EBADREQ;
}

/* ---- canonical writer -------------------------------------------------- */

static int key_ok(const char *k) {
  size_t i = 0;
  if (k == NULL || !((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= 'A' && k[0] <= 'Z')))
    return 0;
  for (i = 1; k[i]; i++) {
    char c = k[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return 0;
  }
  return i <= KEY_MAX;
}

/* Collects the members of obj, sorted by key, into m. Keys are checked here
 * because every object passes through: a duplicate would make the signed
 * bytes depend on which copy a parser keeps. Objects are small (a
 * certificate has about twenty members), so insertion sort beats qsort,
 * which in glibc allocates a buffer for its merge sort. */
static int sorted_members(const cJSON *obj, const cJSON **m, size_t *n, cg_why_t *why) {
  size_t k = 0;

  for (const cJSON *c = obj->child; c != NULL; c = c->next) {
    size_t j;
    if (k == MEMBERS_MAX)
      return cg_why_set(why, CG_EBADREQ, "an object has more than %d members", MEMBERS_MAX);
    if (!key_ok(c->string))
      return cg_why_set(why, CG_EBADREQ, "member name \"%.40s\" is not a plain name",
                        c->string ? c->string : "");
    for (j = k; j > 0; j--) {
      int cmp = strcmp(m[j - 1]->string, c->string);
      if (cmp == 0)
        return cg_why_set(why, CG_EBADREQ, "member \"%s\" appears twice", c->string);
      if (cmp < 0)
        break;
      m[j] = m[j - 1];
    }
    m[j] = c;
    k++;
  }
  *n = k;
  return 0;
}

/* Bytes below 0x20, '"' and '\\' need an escape; 0x80 and up start or
 * continue a multi-byte sequence. Everything else is copied as it is. */
static const unsigned char plain[256] = {
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
    R16(0), R16(0), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1),
#undef R16
};

/* One pass checks UTF-8 (as cg_utf8_valid does) and finds what needs
 * escaping; runs of plain bytes are copied whole. */
static int write_string(cg_buf_t *out, const char *str, cg_why_t *why) {
  const unsigned char *s = (const unsigned char *)str;
  size_t len = strlen(str), i = 0, from = 0, need = len * 6 + 2;
  char *p;
  int err;

  /* Worst case every byte becomes \u00XX. Where that would pass the bound,
   * count exactly: a long string (a photo in base64) must fit whenever its
   * canonical form does. */
  if (need > out->max - out->len) {
    need = len + 2;
    for (size_t k = 0; k < len; k++)
      if (s[k] == '"' || s[k] == '\\' || (s[k] < 0x20 && strchr("\b\f\n\r\t", s[k]) != NULL))
        need += 1;
      else if (s[k] < 0x20)
        need += 5;
  }
  if ((err = cg_buf_reserve(out, need)) != 0)
    return err;
  p = out->base + out->len;
  *p++ = '"';
  while (i < len) {
    unsigned c = s[i];
    if (plain[c] && c != '"' && c != '\\') {
      i++;
      continue;
    }
    /* Most text here is CJK: three-byte sequences led by E1..EC or EE..EF
     * are valid whenever two continuation bytes follow (no overlong form,
     * no surrogate is possible), so they skip the general decoder. */
    if (c >= 0xe1 && c != 0xed && c <= 0xef && len - i > 2 && (s[i + 1] & 0xc0) == 0x80 &&
        (s[i + 2] & 0xc0) == 0x80) {
      i += 3;
      continue;
    }
    if (c >= 0x80) {
      size_t n;
      unsigned cp;
      if (c >= 0xc2 && c <= 0xdf)
        n = 1, cp = c & 0x1f;
      else if (c >= 0xe0 && c <= 0xef)
        n = 2, cp = c & 0x0f;
      else if (c >= 0xf0 && c <= 0xf4)
        n = 3, cp = c & 0x07;
      else
        goto bad;
      if (len - i <= n)
        goto bad;
      for (size_t k = 1; k <= n; k++) {
        if ((s[i + k] & 0xc0) != 0x80)
          goto bad;
        cp = (cp << 6) | (s[i + k] & 0x3f);
      }
      if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
          (cp >= 0xd800 && cp <= 0xdfff))
        goto bad;
      i += n + 1;
      continue;
    }
    memcpy(p, s + from, i - from);
    p += i - from;
    *p++ = '\\';
    switch (c) {
    case '"': *p++ = '"'; break;
    case '\\': *p++ = '\\'; break;
    case '\b': *p++ = 'b'; break;
    case '\f': *p++ = 'f'; break;
    case '\n': *p++ = 'n'; break;
    case '\r': *p++ = 'r'; break;
    case '\t': *p++ = 't'; break;
    default:
      *p++ = 'u', *p++ = '0', *p++ = '0';
      *p++ = hexdig[c >> 4], *p++ = hexdig[c & 15];
    }
    from = ++i;
  }
  memcpy(p, s + from, len - from);
  p += len - from;
  *p++ = '"';
  out->len = (size_t)(p - out->base);
  return 0;

bad:
  return cg_why_set(why, CG_EBADREQ, "a string is not valid UTF-8");
}

/* While a body is written, where its members start (NULL: not wanted). */
struct at {
  size_t base;          /* the body's first byte in out */
  cg_cert_index_t *ix;
  int overflow;
};

static int write_value(const cJSON *v, cg_buf_t *out, int depth, struct at *at, cg_why_t *why);

static void note(struct at *at, uint16_t *offs, uint16_t *n, size_t pos) {
  /* (A body is at most 64 KiB where records are made; a caller with a
   * larger buffer gets no index rather than a wrong one.) */
  if (*n == CG_CERT_INDEX_MAX || pos - at->base > UINT16_MAX)
    at->overflow = 1;
  else
    offs[(*n)++] = (uint16_t)(pos - at->base);
}

/* Writes an object whose members are already sorted, leaving out skip.
 * With at, notes where members start: those of the top level (depth 0) and
 * those of the top-level `data` object (depth 1, reached only through it). */
static int write_members(const cJSON **m, size_t n, cg_buf_t *out, int depth, const cJSON *skip,
                         struct at *at, cg_why_t *why) {
  int err, first = 1;

  if ((err = cg_buf_putc(out, '{')) != 0)
    return err;
  for (size_t i = 0; i < n; i++) {
    struct at *down = NULL;
    if (m[i] == skip)
      continue;
    if (!first && (err = cg_buf_putc(out, ',')) != 0)
      return err;
    first = 0;
    if (at != NULL) {
      if (depth == 0) {
        note(at, at->ix->top, &at->ix->ntop, out->len);
        if (strcmp(m[i]->string, "data") == 0)
          down = at;
      } else {
        note(at, at->ix->data, &at->ix->ndata, out->len);
      }
    }
    if ((err = write_string(out, m[i]->string, why)) != 0 || (err = cg_buf_putc(out, ':')) != 0 ||
        (err = write_value(m[i], out, depth + 1, down, why)) != 0)
      return err;
  }
  return cg_buf_putc(out, '}');
}

static int write_object(const cJSON *obj, cg_buf_t *out, int depth, struct at *at,
                        cg_why_t *why) {
  const cJSON *m[MEMBERS_MAX];
  size_t n;
  int err;

  if ((err = sorted_members(obj, m, &n, why)) != 0)
    return err;
  return write_members(m, n, out, depth, NULL, at, why);
}

static int write_value(const cJSON *v, cg_buf_t *out, int depth, struct at *at, cg_why_t *why) {
  int err;

  if (depth > CG_CERT_DEPTH_MAX)
    return cg_why_set(why, CG_EBADREQ, "nested deeper than %d levels", CG_CERT_DEPTH_MAX);
  switch (v->type & 0xff) {
  case cJSON_NULL:
    return cg_buf_append(out, "null", 4);
  case cJSON_False:
    return cg_buf_append(out, "false", 5);
  case cJSON_True:
    return cg_buf_append(out, "true", 4);
  case cJSON_String:
    return write_string(out, v->valuestring, why);
  case cJSON_Number: {
    double d = v->valuedouble;
    /* Only integers exactly representable in a double: a float's decimal
     * form differs between printers, and signed bytes must not. */
    if (!(fabs(d) < 1e15) || d != floor(d))
      return cg_why_set(why, CG_EBADREQ, "numbers must be integers below 10^15");
    return cg_buf_printf(out, "%lld", (long long)d);
  }
  case cJSON_Array:
    if ((err = cg_buf_putc(out, '[')) != 0)
      return err;
    for (const cJSON *c = v->child; c != NULL; c = c->next) {
      if (c != v->child && (err = cg_buf_putc(out, ',')) != 0)
        return err;
      if ((err = write_value(c, out, depth + 1, NULL, why)) != 0)
        return err;
    }
    return cg_buf_putc(out, ']');
  case cJSON_Object:
    return write_object(v, out, depth, at, why);
  default:
    return cg_why_set(why, CG_EBADREQ, "unsupported JSON value");
  }
}

int cg_cert_canonical(const cJSON *v, cg_buf_t *out, cg_why_t *why) {
  return write_value(v, out, 0, NULL, why);
}

/* ---- seal object -------------------------------------------------------- */

int cg_cert_seal_json(const cg_seal_t *seal, cg_buf_t *out) {
  const char *alg = cg_seal_alg_name(seal->alg);
  int err;

  if (alg == NULL || seal->sig_len > CG_SEAL_B64_MAX)
    return CG_EBADREQ;
  if ((err = cg_buf_reserve(out, 48 + seal->sig_len + 2 * CG_SEAL_FPR_LEN)) != 0)
    return err;
  cg_buf_puts(out, "{\"algorithm\":\"");
  cg_buf_puts(out, alg);
  cg_buf_append(out, "\",\"signature\":\"", 15);
  cg_buf_append(out, seal->sig, seal->sig_len);
  cg_buf_append(out, "\",\"signer\":\"", 12);
  for (size_t i = 0; i < CG_SEAL_FPR_LEN; i++) {
    out->base[out->len++] = hexdig[seal->signer[i] >> 4];
    out->base[out->len++] = hexdig[seal->signer[i] & 15];
  }
  return cg_buf_append(out, "\"}", 2);
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

int cg_cert_seal_from_json(const cJSON *obj, cg_seal_t *seal, cg_why_t *why) {
  const cJSON *alg, *sig, *signer;
  size_t slen;

  if (!cJSON_IsObject(obj))
    return cg_why_set(why, CG_EBADREQ, "seal: not an object");
  alg = cJSON_GetObjectItemCaseSensitive(obj, "algorithm");
  sig = cJSON_GetObjectItemCaseSensitive(obj, "signature");
  signer = cJSON_GetObjectItemCaseSensitive(obj, "signer");
  if (!cJSON_IsString(alg) || !cJSON_IsString(sig) || !cJSON_IsString(signer))
    return cg_why_set(why, CG_EBADREQ, "seal: algorithm, signature and signer are required strings");
  memset(seal, 0, sizeof *seal);
  seal->alg = cg_seal_alg_parse(alg->valuestring, strlen(alg->valuestring));
  if (seal->alg == CG_SEAL_NONE)
    return cg_why_set(why, CG_EBADREQ, "seal: unsupported algorithm \"%.16s\"", alg->valuestring);
  if (strlen(signer->valuestring) != 2 * CG_SEAL_FPR_LEN)
    return cg_why_set(why, CG_EBADREQ, "seal: signer must be 64 lower-case hex digits");
  for (size_t i = 0; i < CG_SEAL_FPR_LEN; i++) {
    int hi = hexval(signer->valuestring[2 * i]), lo = hexval(signer->valuestring[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return cg_why_set(why, CG_EBADREQ, "seal: signer must be 64 lower-case hex digits");
    seal->signer[i] = (uint8_t)(hi << 4 | lo);
  }
  slen = strlen(sig->valuestring);
  if (!cg_seal_b64_valid(sig->valuestring, slen))
    return cg_why_set(why, CG_EBADREQ, "seal: signature is not base64 of at most %d bytes",
                      CG_SEAL_SIG_MAX);
  memcpy(seal->sig, sig->valuestring, slen + 1);
  seal->sig_len = (uint16_t)slen;
  return 0;
}

/* ---- the certificate --------------------------------------------------- */

/* The members certgw reads, in sorted order, so that one merge pass over
 * an object's sorted members finds them all. */
enum {
  F_AREA, F_EFFECTIVE, F_EXPIRING, F_HOLDER_CODE, F_HOLDER_NAME, F_HOLDER_TYPE, F_IDENT,
  F_ISSUED, F_ISSUER_CODE, F_ISSUER_NAME, F_NAME, F_NUMBER, F_TYPE_CODE, F_DATA, F_SEAL,
  F_STATUS, F__N
};
static const struct {
  const char *name;
  int required;
} fields[F__N] = {
    [F_AREA] = {"certificateAreaCode", 1},
    [F_EFFECTIVE] = {"certificateEffectiveDate", 1},
    [F_EXPIRING] = {"certificateExpiringDate", 0},
    [F_HOLDER_CODE] = {"certificateHolderCode", 1},
    [F_HOLDER_NAME] = {"certificateHolderName", 1},
    [F_HOLDER_TYPE] = {"certificateHolderTypeCode", 1},
    [F_IDENT] = {"certificateIdentifier", 1},
    [F_ISSUED] = {"certificateIssuedDate", 1},
    [F_ISSUER_CODE] = {"certificateIssuingAuthorityCode", 1},
    [F_ISSUER_NAME] = {"certificateIssuingAuthorityName", 1},
    [F_NAME] = {"certificateName", 1},
    [F_NUMBER] = {"certificateNumber", 1},
    [F_TYPE_CODE] = {"certificateTypeCode", 1},
    [F_DATA] = {"data", 0},
    [F_SEAL] = {"seal", 0},
    [F_STATUS] = {"status", 1},
};

static void find_fields(const cJSON **m, size_t n, const cJSON *f[F__N]) {
  size_t i = 0;
  int k = 0;
  memset(f, 0, F__N * sizeof *f);
  while (i < n && k < F__N) {
    int c = strcmp(m[i]->string, fields[k].name);
    if (c == 0)
      f[k++] = m[i++];
    else if (c < 0)
      i++;
    else
      k++;
  }
}

static int copy_field(char *dst, size_t cap, const cJSON *v, const char *name, cg_why_t *why) {
  size_t len = strlen(v->valuestring);
  if (len >= cap)
    return cg_why_set(why, CG_EBADREQ, "%s is too long", name);
  memcpy(dst, v->valuestring, len + 1);
  return 0;
}

int cg_cert_from_json(const cJSON *obj, cg_buf_t *body, cg_cert_meta_t *meta, cg_seal_t *seal,
                      cg_why_t *why) {
  const cJSON *m[MEMBERS_MAX], *f[F__N], *v;
  size_t n, start = body->len;
  cg_ident_t id;
  int err;

  if (!cJSON_IsObject(obj))
    return cg_why_set(why, CG_EBADREQ, "a certificate must be a JSON object");
  if ((err = sorted_members(obj, m, &n, why)) != 0)
    return err;
  find_fields(m, n, f);
  for (int i = 0; i < F__N; i++) {
    if (f[i] == NULL) {
      if (fields[i].required)
        return cg_why_set(why, CG_EBADREQ, "%s is missing", fields[i].name);
      continue;
    }
    if (i != F_DATA && i != F_SEAL && (!cJSON_IsString(f[i]) || f[i]->valuestring[0] == '\0'))
      return cg_why_set(why, CG_EBADREQ, "%s must be a non-empty string", fields[i].name);
  }
  memset(meta, 0, sizeof *meta);

  v = f[F_IDENT];
  if ((err = cg_ident_parse(v->valuestring, strlen(v->valuestring), &id, why)) != 0)
    return err;
  memcpy(meta->identifier, v->valuestring, strlen(v->valuestring) + 1);

  v = f[F_TYPE_CODE];
  if ((err = copy_field(meta->type_code, sizeof meta->type_code, v, "certificateTypeCode", why)))
    return err;
  if (strlen(meta->type_code) != 21 || memcmp(meta->type_code, id.type_code, 21) != 0)
    return cg_why_set(why, CG_EBADREQ, "certificateTypeCode does not match the identifier");

  v = f[F_ISSUER_CODE];
  if (strlen(v->valuestring) != 18 || memcmp(v->valuestring, id.issuer, 18) != 0)
    return cg_why_set(why, CG_EBADREQ,
                      "certificateIssuingAuthorityCode does not match the identifier");

  v = f[F_HOLDER_TYPE];
  meta->holder_type = cg_ident_holder_type(v->valuestring, strlen(v->valuestring));
  if (meta->holder_type < 0)
    return cg_why_set(why, CG_EHOLDER, "certificateHolderTypeCode must be \"111\" or \"001\"");

  v = f[F_HOLDER_CODE];
  if ((err = cg_ident_holder_validate(meta->holder_type, v->valuestring, strlen(v->valuestring),
                                      why)) != 0)
    return err;
  memcpy(meta->holder_code, v->valuestring, strlen(v->valuestring) + 1);

  v = f[F_AREA];
  if (strlen(v->valuestring) != 6 || strspn(v->valuestring, "0123456789") != 6)
    return cg_why_set(why, CG_EBADREQ, "certificateAreaCode must be 6 digits");

  v = f[F_ISSUED];
  if (cg_cert_date_parse(v->valuestring, strlen(v->valuestring), &meta->issued) != 0)
    return cg_why_set(why, CG_EBADREQ, "certificateIssuedDate is not a yyyymmdd date");
  v = f[F_EFFECTIVE];
  if (cg_cert_date_parse(v->valuestring, strlen(v->valuestring), &meta->effective) != 0)
    return cg_why_set(why, CG_EBADREQ, "certificateEffectiveDate is not a yyyymmdd date");
  v = f[F_EXPIRING];
  if (v != NULL) {
    if (cg_cert_date_parse(v->valuestring, strlen(v->valuestring), &meta->expiring) != 0)
      return cg_why_set(why, CG_EBADREQ, "certificateExpiringDate is not a yyyymmdd date");
    if (meta->expiring < meta->effective)
      return cg_why_set(why, CG_EBADREQ,
                        "certificateExpiringDate is before certificateEffectiveDate");
  }

  v = f[F_STATUS];
  meta->status = cg_cert_status_parse(v->valuestring, strlen(v->valuestring));
  if (meta->status < 0)
    return cg_why_set(why, CG_EBADREQ, "status must be valid, suspended or revoked");

  if (f[F_DATA] != NULL && !cJSON_IsObject(f[F_DATA]))
    return cg_why_set(why, CG_EBADREQ, "data must be an object");

  if (seal != NULL) {
    if (f[F_SEAL] == NULL)
      return cg_why_set(why, CG_EBADREQ, "seal is missing");
    if ((err = cg_cert_seal_from_json(f[F_SEAL], seal, why)) != 0)
      return err;
  }

  struct at at = {.base = start, .ix = &meta->index};
  if ((err = write_members(m, n, body, 0, f[F_SEAL], &at, why)) != 0) {
    body->len = start;
    if (err == CG_ETOOBIG)
      cg_why_set(why, err, "the certificate is larger than %d bytes", CG_CERT_BODY_MAX);
    return err;
  }
  if (at.overflow)
    meta->index.ntop = meta->index.ndata = 0;
  return 0;
}

static int hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Escapes are walked pair by pair, so that "\\u0000" (an escaped
 * backslash, then text) is no escape of u. */
const char *cg_cert_hidden_nul(const char *s, size_t len) {
  const char *end = s + len;
  if (memchr(s, '\0', len) != NULL)
    return "a NUL byte";
  for (const char *p = s; (p = memchr(p, '\\', (size_t)(end - p))) != NULL;) {
    if (p + 1 < end && p[1] == 'u') {
      if (end - p < 6 || !hex_digit(p[2]) || !hex_digit(p[3]) || !hex_digit(p[4]) ||
          !hex_digit(p[5]))
        return "a \\u escape without four hex digits";
      if (memcmp(p + 2, "0000", 4) == 0)
        return "a string contains \\u0000";
    }
    p += 2; /* the backslash and what it escapes */
    if (p >= end)
      break;
  }
  return NULL;
}

int cg_cert_parse(const char *text, size_t len, cg_buf_t *body, cg_cert_meta_t *meta,
                  cg_seal_t *seal, cg_why_t *why) {
  const char *end = NULL;
  cJSON *obj;
  int err;

  if (len > CG_CERT_LINE_MAX)
    return cg_why_set(why, CG_ETOOBIG, "longer than %d bytes", CG_CERT_LINE_MAX);
  const char *nul = cg_cert_hidden_nul(text, len);
  if (nul != NULL)
    return cg_why_set(why, CG_EBADREQ, "%s", nul);
  obj = cJSON_ParseWithLengthOpts(text, len, &end, 0);
  if (obj == NULL)
    return cg_why_set(why, CG_EBADREQ, "not valid JSON");
  /* cJSON stops after the first value; anything but white space after it
   * means the line held more than one certificate, or garbage. */
  for (; end < text + len; end++) {
    if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
      cg_json_delete(obj);
      return cg_why_set(why, CG_EBADREQ, "text after the JSON object");
    }
  }
  err = cg_cert_from_json(obj, body, meta, seal, why);
  /* The seal member is not part of the body: a mark in it is not signed. */
  const cJSON *revoked =
      cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "seal"), "revoked");
  if (err == 0 && revoked != NULL && !cJSON_IsBool(revoked))
    err = cg_why_set(why, CG_EBADREQ, "seal.revoked must be true or false");
  if (err == 0)
    meta->revoked_later = cJSON_IsTrue(revoked);
  cg_json_delete(obj);
  return err;
}
