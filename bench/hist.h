/* hist.h — a log-linear latency histogram of microseconds (HdrHistogram style).
 *
 * Values below 128 µs are counted exactly; above, every power of two is split
 * into 64 linear sub-buckets, so a value is known to within 1/64 of itself
 * (1.6 %). Values above CG_HIST_MAX_US (60 s) are counted as 60 s. A histogram
 * is a plain fixed-size value (about 11 KiB): each load thread owns its own and
 * they are merged once at the end. Not thread-safe.
 */
#ifndef CG_HIST_H
#define CG_HIST_H

#include <stdint.h>

#define CG_HIST_SUB_BITS 6                         /* 64 sub-buckets per power of two */
#define CG_HIST_MAX_US 60000000ull                 /* 60 s */
#define CG_HIST_TOP_SHIFT 19                       /* 60e6 has 26 bits: 60e6 >> 19 < 128 */
#define CG_HIST_SLOTS ((CG_HIST_TOP_SHIFT + 2) << CG_HIST_SUB_BITS)

typedef struct cg_hist {
  uint64_t count;    /* values recorded */
  uint64_t min, max; /* exact, in µs (min is UINT64_MAX while empty) */
  uint64_t over;     /* values above CG_HIST_MAX_US, counted as that */
  double sum, sumsq; /* for the mean and the standard deviation */
  uint64_t slots[CG_HIST_SLOTS];
} cg_hist_t;

/* An empty histogram. */
void cg_hist_init(cg_hist_t *h);

/* Counts one value of us microseconds. */
void cg_hist_record(cg_hist_t *h, uint64_t us);

/* Adds every value of from to into. */
void cg_hist_merge(cg_hist_t *into, const cg_hist_t *from);

/* The value at percentile p (0..100): the smallest recorded value v such that
 * at least p % of the values are <= v, reported as the highest value its
 * sub-bucket holds but never above max. The reported value r of a true value v
 * satisfies v <= r <= v + v/64 (r == v below 128 µs). 0 when empty. */
uint64_t cg_hist_percentile(const cg_hist_t *h, double p);

/* Mean and standard deviation of the values recorded, in µs (0 when empty). */
double cg_hist_mean(const cg_hist_t *h);
double cg_hist_stdev(const cg_hist_t *h);

#endif
