/* buf.h — slices and bounded growable byte buffers.
 *
 * A cg_buf_t grows on demand up to the maximum it was created with; past it
 * every append fails with CG_ETOOBIG and leaves the contents as they were, so
 * nothing a peer sends can make a buffer grow without bound.
 */
#ifndef CG_BUF_H
#define CG_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct cg_slice {
  const char *base;
  size_t len;
} cg_slice_t;

typedef struct cg_buf {
  char *base;
  size_t len;
  size_t cap;
  size_t max;
} cg_buf_t;

/* An empty buffer that will never hold more than max bytes. Allocates nothing. */
void cg_buf_init(cg_buf_t *b, size_t max);
/* Frees the memory; the buffer is empty and usable again afterwards. */
void cg_buf_free(cg_buf_t *b);
/* Empties the buffer and keeps its memory. */
static inline void cg_buf_reset(cg_buf_t *b) { b->len = 0; }

/* Makes room for n more bytes. Returns 0, CG_ETOOBIG or CG_ENOMEM. */
int cg_buf_reserve(cg_buf_t *b, size_t n);
int cg_buf_append(cg_buf_t *b, const void *p, size_t n);
int cg_buf_putc(cg_buf_t *b, char c);
int cg_buf_puts(cg_buf_t *b, const char *s);
int cg_buf_printf(cg_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
