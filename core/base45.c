/* base45.c — Base45 (RFC 9285) encoding and strict decoding (see base45.h).
 * A pair of bytes is the number b0 * 256 + b1 = c + d * 45 + e * 45^2, written
 * c d e; a last single byte is c + d * 45, written c d. */
#include "core/base45.h"

#include <stdint.h>

static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/* Value of a Base45 character plus one; 0 for any other byte. */
static const uint8_t value1[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,
    ['7'] = 8,  ['8'] = 9,  ['9'] = 10, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14,
    ['E'] = 15, ['F'] = 16, ['G'] = 17, ['H'] = 18, ['I'] = 19, ['J'] = 20, ['K'] = 21,
    ['L'] = 22, ['M'] = 23, ['N'] = 24, ['O'] = 25, ['P'] = 26, ['Q'] = 27, ['R'] = 28,
    ['S'] = 29, ['T'] = 30, ['U'] = 31, ['V'] = 32, ['W'] = 33, ['X'] = 34, ['Y'] = 35,
    ['Z'] = 36, [' '] = 37, ['$'] = 38, ['%'] = 39, ['*'] = 40, ['+'] = 41, ['-'] = 42,
    ['.'] = 43, ['/'] = 44, [':'] = 45,
};

int cg_base45_encode(const void *in, size_t n, char *out, size_t cap) {
  const uint8_t *p = in;
  size_t need = cg_base45_encoded_len(n);
  char *o = out;

  if (cap < need + 1)
    return CG_ETOOBIG;
  for (size_t i = 0; i + 1 < n; i += 2) {
    unsigned v = (unsigned)p[i] << 8 | p[i + 1];
    *o++ = alphabet[v % 45];
    *o++ = alphabet[v / 45 % 45];
    *o++ = alphabet[v / 2025];
  }
  if (n % 2) {
    unsigned v = p[n - 1];
    *o++ = alphabet[v % 45];
    *o++ = alphabet[v / 45];
  }
  *o = '\0';
  return 0;
}

int cg_base45_decode(const char *in, size_t len, void *out, size_t cap, size_t *outlen) {
  const uint8_t *s = (const uint8_t *)in;
  uint8_t *o = out;
  size_t i;

  if (len % 3 == 1)
    return CG_ECODE;
  if (cap < cg_base45_decoded_len(len))
    return CG_ETOOBIG;
  for (i = 0; i < len; i++)
    if (value1[s[i]] == 0)
      return CG_ECODE;
  for (i = 0; i + 2 < len; i += 3) {
    unsigned v =
        (value1[s[i]] - 1u) + (value1[s[i + 1]] - 1u) * 45 + (value1[s[i + 2]] - 1u) * 2025;
    if (v > 0xffff)
      return CG_ECODE;
    *o++ = (uint8_t)(v >> 8);
    *o++ = (uint8_t)v;
  }
  if (len - i == 2) {
    unsigned v = (value1[s[i]] - 1u) + (value1[s[i + 1]] - 1u) * 45;
    if (v > 0xff)
      return CG_ECODE;
    *o++ = (uint8_t)v;
  }
  *outlen = (size_t)(o - (uint8_t *)out);
  return 0;
}
