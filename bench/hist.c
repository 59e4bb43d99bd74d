/* hist.c — the log-linear histogram of hist.h.
 *
 * Slot layout: a value v with b significant bits (b > 7) is shifted right by
 * s = b - 7, which leaves a sub-bucket number in [64, 128); its slot is
 * s * 64 + (v >> s). Values below 128 have s = 0 and land in slot v, so the
 * slots run on without a gap and each holds values within 1/64 of each other.
 */
#include "bench/hist.h"

#include <math.h>
#include <string.h>

static unsigned shift_of(uint64_t v) {
  unsigned bits = 64 - (unsigned)__builtin_clzll(v | 1);
  return bits > CG_HIST_SUB_BITS + 1 ? bits - (CG_HIST_SUB_BITS + 1) : 0;
}

static unsigned slot_of(uint64_t v) {
  unsigned s = shift_of(v);
  return (s << CG_HIST_SUB_BITS) + (unsigned)(v >> s);
}

/* The highest value that lands in slot i. */
static uint64_t slot_high(unsigned i) {
  unsigned s, sub;
  if (i < (2u << CG_HIST_SUB_BITS))
    return i;
  s = (i >> CG_HIST_SUB_BITS) - 1;
  sub = i - (s << CG_HIST_SUB_BITS);
  return ((uint64_t)sub << s) + ((uint64_t)1 << s) - 1;
}

_Static_assert((CG_HIST_MAX_US >> CG_HIST_TOP_SHIFT) < (2u << CG_HIST_SUB_BITS),
               "CG_HIST_TOP_SHIFT is too small for CG_HIST_MAX_US");
_Static_assert((CG_HIST_TOP_SHIFT << CG_HIST_SUB_BITS) + (2u << CG_HIST_SUB_BITS) <= CG_HIST_SLOTS,
               "CG_HIST_SLOTS is too small");

void cg_hist_init(cg_hist_t *h) {
  memset(h, 0, sizeof *h);
  h->min = UINT64_MAX;
}

void cg_hist_record(cg_hist_t *h, uint64_t us) {
  if (us > CG_HIST_MAX_US) {
    us = CG_HIST_MAX_US;
    h->over++;
  }
  h->slots[slot_of(us)]++;
  h->count++;
  if (us < h->min)
    h->min = us;
  if (us > h->max)
    h->max = us;
  h->sum += (double)us;
  h->sumsq += (double)us * (double)us;
}

void cg_hist_merge(cg_hist_t *into, const cg_hist_t *from) {
  for (unsigned i = 0; i < CG_HIST_SLOTS; i++)
    into->slots[i] += from->slots[i];
  into->count += from->count;
  into->over += from->over;
  into->sum += from->sum;
  into->sumsq += from->sumsq;
  if (from->min < into->min)
    into->min = from->min;
  if (from->max > into->max)
    into->max = from->max;
}

uint64_t cg_hist_percentile(const cg_hist_t *h, double p) {
  uint64_t rank, seen = 0;
  double r;

  if (h->count == 0)
    return 0;
  if (p >= 100.0)
    return h->max;
  if (p < 0.0)
    p = 0.0;
  /* The rank of the value sought, 1-based: at least p % are at or below it.
   * The tiny shave keeps 99.9 % of 1000 (which is 999.0000000001 in binary
   * floating point) from rounding up to the next rank. */
  r = p * (double)h->count / 100.0;
  rank = (uint64_t)ceil(r - r * 1e-12);
  if (rank == 0)
    rank = 1;
  for (unsigned i = 0; i < CG_HIST_SLOTS; i++) {
    seen += h->slots[i];
    if (seen >= rank) {
      uint64_t v = slot_high(i);
      return v < h->max ? v : h->max;
    }
  }
  return h->max;
}

double cg_hist_mean(const cg_hist_t *h) {
  return h->count ? h->sum / (double)h->count : 0.0;
}

double cg_hist_stdev(const cg_hist_t *h) {
  double m, var;
  if (h->count < 2)
    return 0.0;
  m = h->sum / (double)h->count;
  var = h->sumsq / (double)h->count - m * m;
  return var > 0.0 ? sqrt(var) : 0.0;
}
