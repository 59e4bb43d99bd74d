/* test_bench_hist.c — unit tests of bench/hist.c, certbench's histogram.
 *
 * Not a core module: tests/CMakeLists.txt adds bench/hist.c to this test.
 * Each known distribution is checked against the exact percentile (the same
 * rank rule, computed from the sorted values) within the stated precision:
 * a reported value r of a true value v satisfies v <= r <= v + v/64.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "bench/hist.h"

static const double percentiles[] = {0.0, 1.0, 25.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The exact value at percentile p of sorted values v[0..n): v[rank - 1]. */
static uint64_t exact(const uint64_t *v, size_t n, double p) {
  size_t rank = (size_t)ceil(p / 100.0 * (double)n - 1e-9);
  if (rank == 0)
    rank = 1;
  if (rank > n)
    rank = n;
  return v[rank - 1];
}

static void assert_within(uint64_t reported, uint64_t truth) {
  assert_in_range(reported, truth, truth + truth / 64);
}

static void check_all(const cg_hist_t *h, const uint64_t *sorted, size_t n) {
  for (size_t i = 0; i < COUNT(percentiles); i++)
    assert_within(cg_hist_percentile(h, percentiles[i]), exact(sorted, n, percentiles[i]));
  assert_int_equal(h->count, n);
  assert_int_equal(h->min, sorted[0]);
  assert_int_equal(h->max, sorted[n - 1]);
  assert_int_equal(cg_hist_percentile(h, 100.0), sorted[n - 1]);
}

static void test_uniform(void **state) {
  const size_t n = 1000000;
  uint64_t *v = malloc(n * sizeof *v);
  cg_hist_t *h = malloc(sizeof *h);
  (void)state;
  assert_non_null(v);
  assert_non_null(h);
  cg_hist_init(h);
  for (size_t i = 0; i < n; i++) {
    v[i] = i + 1;
    cg_hist_record(h, v[i]);
  }
  check_all(h, v, n);
  /* Exact values where the precision says so, and the well-known ones. */
  assert_within(cg_hist_percentile(h, 50.0), 500000);
  assert_within(cg_hist_percentile(h, 99.9), 999000);
  assert_true(fabs(cg_hist_mean(h) - 500000.5) < 1e-3);
  assert_true(fabs(cg_hist_stdev(h) - 288675.1) < 1.0);
  free(v);
  free(h);
}

static void test_constant(void **state) {
  cg_hist_t h;
  (void)state;
  cg_hist_init(&h);
  for (int i = 0; i < 10000; i++)
    cg_hist_record(&h, 12345);
  /* The sub-bucket of 12345 reaches higher, but never above the max. */
  for (size_t i = 0; i < COUNT(percentiles); i++)
    assert_int_equal(cg_hist_percentile(&h, percentiles[i]), 12345);
  assert_true(cg_hist_stdev(&h) < 1e-6);
}

static void test_small_values_exact(void **state) {
  cg_hist_t h;
  uint64_t v[128];
  (void)state;
  cg_hist_init(&h);
  for (uint64_t i = 0; i < 128; i++) {
    v[i] = i;
    cg_hist_record(&h, i);
  }
  for (size_t i = 0; i < COUNT(percentiles); i++)
    assert_int_equal(cg_hist_percentile(&h, percentiles[i]), exact(v, 128, percentiles[i]));
}

/* 99 % of the answers at 100 µs, 1 % at 250 ms: p50..p99 sit on the first
 * spike, p99.9 and max on the second. */
static void test_two_spikes(void **state) {
  const size_t fast = 99000, slow = 1000, n = fast + slow;
  uint64_t *v = malloc(n * sizeof *v);
  cg_hist_t h;
  (void)state;
  assert_non_null(v);
  cg_hist_init(&h);
  for (size_t i = 0; i < n; i++) {
    v[i] = i < fast ? 100 : 250000;
    cg_hist_record(&h, v[i]);
  }
  check_all(&h, v, n);
  assert_int_equal(cg_hist_percentile(&h, 50.0), 100);
  assert_int_equal(cg_hist_percentile(&h, 99.0), 100);
  assert_within(cg_hist_percentile(&h, 99.1), 250000);
  assert_within(cg_hist_percentile(&h, 99.9), 250000);
  assert_int_equal(cg_hist_percentile(&h, 100.0), 250000);
  free(v);
}

/* Values past 60 s are counted as 60 s and flagged. */
static void test_over_range(void **state) {
  cg_hist_t h;
  (void)state;
  cg_hist_init(&h);
  cg_hist_record(&h, 5);
  cg_hist_record(&h, 3600ull * 1000000);
  assert_int_equal(h.over, 1);
  assert_int_equal(h.max, CG_HIST_MAX_US);
  assert_int_equal(cg_hist_percentile(&h, 100.0), CG_HIST_MAX_US);
  assert_int_equal(cg_hist_percentile(&h, 50.0), 5);
}

/* Merging per-thread histograms gives what one histogram would have. */
static void test_merge(void **state) {
  cg_hist_t *a = malloc(sizeof *a), *b = malloc(sizeof *b), *all = malloc(sizeof *all);
  uint64_t x = 88172645463325252ull;
  (void)state;
  assert_non_null(a);
  assert_non_null(b);
  assert_non_null(all);
  cg_hist_init(a);
  cg_hist_init(b);
  cg_hist_init(all);
  for (int i = 0; i < 200000; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
    uint64_t us = x % 5000000;
    cg_hist_record(i % 3 ? a : b, us);
    cg_hist_record(all, us);
  }
  cg_hist_merge(a, b);
  assert_int_equal(a->count, all->count);
  assert_int_equal(a->min, all->min);
  assert_int_equal(a->max, all->max);
  for (size_t i = 0; i < COUNT(percentiles); i++)
    assert_int_equal(cg_hist_percentile(a, percentiles[i]), cg_hist_percentile(all, percentiles[i]));
  free(a);
  free(b);
  free(all);
}

static void test_empty(void **state) {
  cg_hist_t h;
  (void)state;
  cg_hist_init(&h);
  assert_int_equal(cg_hist_percentile(&h, 50.0), 0);
  assert_int_equal(cg_hist_percentile(&h, 100.0), 0);
  assert_true(cg_hist_mean(&h) == 0.0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_uniform),    cmocka_unit_test(test_constant),
      cmocka_unit_test(test_small_values_exact), cmocka_unit_test(test_two_spikes),
      cmocka_unit_test(test_over_range), cmocka_unit_test(test_merge),
      cmocka_unit_test(test_empty),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
