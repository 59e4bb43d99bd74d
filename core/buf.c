/* buf.c — bounded growable byte buffers (see buf.h). */
#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

void cg_buf_init(cg_buf_t *b, size_t max) {
  b->base = NULL;
  b->len = b->cap = 0;
  b->max = max;
}

void cg_buf_free(cg_buf_t *b) {
  free(b->base);
  b->base = NULL;
  b->len = b->cap = 0;
}

int cg_buf_reserve(cg_buf_t *b, size_t n) {
  size_t want, cap;
  char *p;

  if (n > b->max || b->len > b->max - n)
    return CG_ETOOBIG;
  want = b->len + n;
  if (want <= b->cap)
    return 0;
  /* Never allocate past max: cg_buf_putc and callers writing into reserved
   * room trust cap, so cap must not exceed the bound. */
  cap = b->cap ? b->cap : (b->max < 256 ? b->max : 256);
  while (cap < want)
    cap = cap > b->max / 2 ? b->max : cap * 2;
  p = realloc(b->base, cap);
  if (p == NULL)
    return CG_ENOMEM;
  b->base = p;
  b->cap = cap;
  return 0;
}

int cg_buf_append(cg_buf_t *b, const void *p, size_t n) {
  int err = cg_buf_reserve(b, n);
  if (err)
    return err;
  if (n)
    memcpy(b->base + b->len, p, n);
  b->len += n;
  return 0;
}

int cg_buf_putc(cg_buf_t *b, char c) {
  if (b->len < b->cap) {
    b->base[b->len++] = c;
    return 0;
  }
  return cg_buf_append(b, &c, 1);
}

int cg_buf_puts(cg_buf_t *b, const char *s) { return cg_buf_append(b, s, strlen(s)); }

int cg_buf_printf(cg_buf_t *b, const char *fmt, ...) {
  va_list ap;
  int n, err;

  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    return CG_EINTERNAL;
  if ((err = cg_buf_reserve(b, (size_t)n)) != 0 || n == 0)
    return err;
  /* vsnprintf also writes a NUL, which is not content: when there is no room
   * for it below max, format aside rather than refuse text that fits. */
  if (b->cap - b->len > (size_t)n) {
    va_start(ap, fmt);
    vsnprintf(b->base + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
  } else {
    char *t = malloc((size_t)n + 1);
    if (t == NULL)
      return CG_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(t, (size_t)n + 1, fmt, ap);
    va_end(ap);
    memcpy(b->base + b->len, t, (size_t)n);
    free(t);
  }
  b->len += (size_t)n;
  return 0;
}
