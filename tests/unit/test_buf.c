/* test_buf.c — unit tests of core/buf.c.
 *
 * The point of cg_buf_t is its bound: whatever path bytes come in by
 * (append, putc, puts, printf, or a caller writing into reserved room), the
 * length never passes max, and a refused append changes nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/buf.h"
#include "core/error.h"

static void test_init_allocates_nothing(void **state) {
  cg_buf_t b;
  (void)state;

  cg_buf_init(&b, 1000);
  assert_null(b.base);
  assert_int_equal(b.len, 0);
  assert_int_equal(b.cap, 0);
  assert_int_equal(b.max, 1000);
  cg_buf_free(&b);
}

static void test_growth(void **state) {
  cg_buf_t b;
  char expect[100000];
  (void)state;

  cg_buf_init(&b, sizeof expect);
  for (size_t i = 0; i < sizeof expect; i++) {
    expect[i] = (char)(i * 7 + 3);
    if (i % 3 == 0)
      assert_int_equal(cg_buf_putc(&b, expect[i]), 0);
    else
      assert_int_equal(cg_buf_append(&b, &expect[i], 1), 0);
    assert_true(b.cap >= b.len);
    assert_true(b.cap <= b.max);
  }
  assert_int_equal(b.len, sizeof expect);
  assert_memory_equal(b.base, expect, sizeof expect);
  cg_buf_free(&b);
  assert_null(b.base);
  assert_int_equal(b.len, 0);

  /* Usable again after free, one large append at a time. */
  assert_int_equal(cg_buf_append(&b, expect, sizeof expect), 0);
  assert_memory_equal(b.base, expect, sizeof expect);
  cg_buf_free(&b);
}

static void test_reserve(void **state) {
  cg_buf_t b;
  (void)state;

  cg_buf_init(&b, 5000);
  assert_int_equal(cg_buf_reserve(&b, 3000), 0);
  assert_true(b.cap >= 3000);
  assert_int_equal(b.len, 0);
  assert_int_equal(cg_buf_reserve(&b, 5000), 0);
  assert_int_equal(cg_buf_reserve(&b, 5001), CG_ETOOBIG);
  assert_int_equal(cg_buf_reserve(&b, SIZE_MAX), CG_ETOOBIG);
  cg_buf_free(&b);
}

/* Fills b to exactly its max with each way of appending, then checks that
 * one byte more is refused and that nothing moved. */
static void check_full(cg_buf_t *b, const char *content, size_t n) {
  char *base = b->base;
  size_t len = b->len;

  assert_int_equal(len, n);
  assert_int_equal(cg_buf_append(b, "z", 1), CG_ETOOBIG);
  assert_int_equal(cg_buf_putc(b, 'z'), CG_ETOOBIG);
  assert_int_equal(cg_buf_puts(b, "z"), CG_ETOOBIG);
  assert_int_equal(cg_buf_printf(b, "%d", 7), CG_ETOOBIG);
  assert_int_equal(cg_buf_reserve(b, 1), CG_ETOOBIG);
  assert_ptr_equal(b->base, base);
  assert_int_equal(b->len, len);
  assert_memory_equal(b->base, content, n);
  /* Appending nothing is not appending past max. */
  assert_int_equal(cg_buf_append(b, "", 0), 0);
  assert_int_equal(b->len, len);
}

static void test_max_enforced(void **state) {
  cg_buf_t b;
  (void)state;

  /* A max below the first allocation size: putc must not use the slack. */
  cg_buf_init(&b, 10);
  assert_int_equal(cg_buf_append(&b, "abcde", 5), 0);
  for (int i = 0; i < 5; i++)
    assert_int_equal(cg_buf_putc(&b, (char)('f' + i)), 0);
  check_full(&b, "abcdefghij", 10);
  cg_buf_free(&b);

  /* A large append that does not fit leaves the contents alone. */
  cg_buf_init(&b, 10);
  assert_int_equal(cg_buf_puts(&b, "1234567"), 0);
  assert_int_equal(cg_buf_append(&b, "89ab", 4), CG_ETOOBIG);
  assert_int_equal(cg_buf_puts(&b, "89ab"), CG_ETOOBIG);
  assert_int_equal(cg_buf_printf(&b, "%s", "89ab"), CG_ETOOBIG);
  assert_int_equal(b.len, 7);
  assert_memory_equal(b.base, "1234567", 7);
  assert_int_equal(cg_buf_puts(&b, "89a"), 0);
  check_full(&b, "123456789a", 10);
  cg_buf_free(&b);

  /* Past the first doubling. */
  cg_buf_init(&b, 1000);
  for (int i = 0; i < 1000; i++)
    assert_int_equal(cg_buf_putc(&b, (char)('0' + i % 10)), 0);
  assert_int_equal(b.len, 1000);
  assert_int_equal(cg_buf_putc(&b, 'x'), CG_ETOOBIG);
  assert_int_equal(b.len, 1000);
  assert_true(b.cap <= 1000);
  cg_buf_free(&b);
}

static void test_printf(void **state) {
  cg_buf_t b;
  char big[3000];
  (void)state;

  cg_buf_init(&b, 4096);
  assert_int_equal(cg_buf_printf(&b, "%s=%d;", "a", 42), 0);
  assert_int_equal(cg_buf_printf(&b, "%05u|%x", 7u, 255u), 0);
  assert_int_equal(b.len, strlen("a=42;00007|ff"));
  assert_memory_equal(b.base, "a=42;00007|ff", b.len);
  assert_int_equal(cg_buf_printf(&b, "%s", ""), 0);
  assert_int_equal(b.len, strlen("a=42;00007|ff"));

  /* Longer than what was allocated so far: the buffer grows. */
  memset(big, 'q', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_int_equal(cg_buf_printf(&b, "<%s>", big), 0);
  assert_int_equal(b.len, 13 + 2 + sizeof big - 1);
  assert_int_equal(b.base[13], '<');
  assert_int_equal(b.base[b.len - 1], '>');
  assert_int_equal(b.base[b.len - 2], 'q');
  cg_buf_free(&b);
}

static void test_printf_to_exact_max(void **state) {
  cg_buf_t b;
  (void)state;

  /* The text fits exactly; vsnprintf's NUL is not content and must not
   * count against max. */
  cg_buf_init(&b, 8);
  assert_int_equal(cg_buf_puts(&b, "ab"), 0);
  assert_int_equal(cg_buf_printf(&b, "%d", 123456), 0);
  check_full(&b, "ab123456", 8);
  cg_buf_free(&b);

  cg_buf_init(&b, 300);
  assert_int_equal(cg_buf_printf(&b, "%0300d", 1), 0);
  assert_int_equal(b.len, 300);
  assert_int_equal(b.base[0], '0');
  assert_int_equal(b.base[299], '1');
  cg_buf_free(&b);
}

static void test_reset_keeps_memory(void **state) {
  cg_buf_t b;
  char *base;
  size_t cap;
  (void)state;

  cg_buf_init(&b, 1 << 20);
  for (int i = 0; i < 100; i++)
    assert_int_equal(cg_buf_puts(&b, "0123456789"), 0);
  base = b.base;
  cap = b.cap;
  assert_true(cap >= 1000);
  cg_buf_reset(&b);
  assert_int_equal(b.len, 0);
  assert_ptr_equal(b.base, base);
  assert_int_equal(b.cap, cap);
  /* Refilling up to the old length needs no new memory. */
  for (int i = 0; i < 100; i++)
    assert_int_equal(cg_buf_puts(&b, "abcdefghij"), 0);
  assert_ptr_equal(b.base, base);
  assert_int_equal(b.cap, cap);
  assert_memory_equal(b.base, "abcdefghij", 10);
  assert_memory_equal(b.base + 990, "abcdefghij", 10);
  cg_buf_free(&b);
}

static void test_zero_max(void **state) {
  cg_buf_t b;
  (void)state;

  cg_buf_init(&b, 0);
  assert_int_equal(cg_buf_append(&b, "a", 1), CG_ETOOBIG);
  assert_int_equal(cg_buf_putc(&b, 'a'), CG_ETOOBIG);
  assert_int_equal(cg_buf_puts(&b, "a"), CG_ETOOBIG);
  assert_int_equal(cg_buf_printf(&b, "%c", 'a'), CG_ETOOBIG);
  assert_int_equal(cg_buf_reserve(&b, 1), CG_ETOOBIG);
  assert_int_equal(cg_buf_append(&b, "", 0), 0);
  assert_int_equal(cg_buf_puts(&b, ""), 0);
  assert_int_equal(cg_buf_printf(&b, "%s", ""), 0);
  assert_int_equal(b.len, 0);
  assert_null(b.base);
  cg_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_init_allocates_nothing),
      cmocka_unit_test(test_growth),
      cmocka_unit_test(test_reserve),
      cmocka_unit_test(test_max_enforced),
      cmocka_unit_test(test_printf),
      cmocka_unit_test(test_printf_to_exact_max),
      cmocka_unit_test(test_reset_keeps_memory),
      cmocka_unit_test(test_zero_max),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
