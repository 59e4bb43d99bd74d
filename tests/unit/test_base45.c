/* test_base45.c — unit tests of core/base45.c.
 *
 * The examples of RFC 9285 section 4 must come out exactly; decoding must
 * give back every byte string, and refuse what the RFC calls invalid: a
 * character outside the 45, a single character left over, and a group whose
 * value does not fit its bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/base45.h"

static void encodes(const char *in, const char *want) {
  char out[64];
  assert_int_equal(cg_base45_encode(in, strlen(in), out, sizeof out), 0);
  assert_string_equal(out, want);
  assert_int_equal(strlen(out), cg_base45_encoded_len(strlen(in)));
}

static void decodes(const char *in, const char *want) {
  uint8_t out[64];
  size_t n = 99;
  assert_int_equal(cg_base45_decode(in, strlen(in), out, sizeof out, &n), 0);
  assert_int_equal(n, strlen(want));
  assert_int_equal(n, cg_base45_decoded_len(strlen(in)));
  assert_memory_equal(out, want, n);
}

static void refuses(const char *in, size_t len) {
  uint8_t out[64];
  size_t n = 99;
  assert_int_equal(cg_base45_decode(in, len, out, sizeof out, &n), CG_ECODE);
  assert_int_equal(n, 99);
}

static void test_rfc9285_examples(void **state) {
  (void)state;
  encodes("AB", "BB8");
  encodes("Hello!!", "%69 VD92EX0");
  encodes("base-45", "UJCLQE7W581");
  encodes("ietf!", "QED8WEX0");
  decodes("QED8WEX0", "ietf!");
  decodes("%69 VD92EX0", "Hello!!");
  decodes("UJCLQE7W581", "base-45");
  decodes("BB8", "AB");
  encodes("", "");
  decodes("", "");
}

static void test_extremes(void **state) {
  uint8_t ff[2] = {0xff, 0xff}, zero[2] = {0, 0}, back[2];
  char out[8];
  size_t n;
  (void)state;

  /* 65535 = 15 + 16*45 + 32*2025: the largest group; GGW, one more, is invalid. */
  assert_int_equal(cg_base45_encode(ff, 2, out, sizeof out), 0);
  assert_string_equal(out, "FGW");
  assert_int_equal(cg_base45_decode("FGW", 3, back, sizeof back, &n), 0);
  assert_memory_equal(back, ff, 2);
  assert_int_equal(cg_base45_encode(zero, 2, out, sizeof out), 0);
  assert_string_equal(out, "000");
  assert_int_equal(cg_base45_encode(ff, 1, out, sizeof out), 0);
  assert_string_equal(out, "U5"); /* 255 = 30 + 5*45 */
  assert_int_equal(cg_base45_decode("U5", 2, back, sizeof back, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(back[0], 0xff);
}

/* Byte strings of every length up to 40 and a few up to 2000, and every
 * value of a pair of bytes, come back unchanged. */
static void test_round_trip(void **state) {
  uint8_t in[2000], back[2000];
  char text[3001];
  size_t n;
  (void)state;

  for (size_t i = 0; i < sizeof in; i++)
    in[i] = (uint8_t)(i * 7 + i / 256);
  for (size_t len = 0; len <= sizeof in; len += len < 40 ? 1 : 487) {
    assert_int_equal(cg_base45_encode(in, len, text, sizeof text), 0);
    assert_int_equal(strlen(text), cg_base45_encoded_len(len));
    assert_int_equal(cg_base45_decode(text, strlen(text), back, sizeof back, &n), 0);
    assert_int_equal(n, len);
    assert_memory_equal(back, in, len);
  }
  for (unsigned v = 0; v < 65536; v++) {
    uint8_t two[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    assert_int_equal(cg_base45_encode(two, 2, text, sizeof text), 0);
    assert_int_equal(cg_base45_decode(text, 3, back, sizeof back, &n), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(back, two, 2);
  }
}

static void test_invalid(void **state) {
  (void)state;
  refuses("GGW", 3);       /* 16 + 16*45 + 32*2025 = 65536, the RFC's example */
  refuses("::::", 4);       /* a single character left over */
  refuses("A", 1);
  refuses("QED8WEX", 7);
  refuses("Z9", 2);         /* 35 + 9*45 = 440 > 255 */
  refuses("V5", 2);         /* 31 + 5*45 = 256 */
  refuses("qed8wex0", 8);   /* lower case is not in the alphabet */
  refuses("QED8WE!0", 8);
  refuses("QED8WE\0" "0", 8);
  refuses("QED8WE\xc3\xa9", 8);
  refuses("QED8WEX0\n", 9); /* nor a newline, which would leave 9 % 3 == 0 */
}

/* Every character outside the 45 is refused in every position of a group;
 * every one inside is taken, unless it makes the group overflow. */
static void test_alphabet(void **state) {
  const char *set = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  uint8_t out[4];
  size_t n;
  (void)state;

  for (int c = 0; c < 256; c++) {
    const char *at = c != 0 ? strchr(set, c) : NULL;
    for (int pos = 0; pos < 3; pos++) {
      char g[3] = {'0', '0', '0'};
      int ok = at != NULL && (pos < 2 || at - set <= 32); /* 33 * 2025 > 65535 */
      g[pos] = (char)c;
      assert_int_equal(cg_base45_decode(g, 3, out, sizeof out, &n), ok ? 0 : CG_ECODE);
    }
  }
}

static void test_bounds(void **state) {
  char out[4];
  uint8_t back[1];
  size_t n;
  (void)state;

  memset(out, 'x', sizeof out);
  assert_int_equal(cg_base45_encode("AB", 2, out, 3), CG_ETOOBIG); /* no room for the NUL */
  assert_int_equal(out[0], 'x');
  assert_int_equal(cg_base45_encode("AB", 2, out, 4), 0);
  assert_int_equal(cg_base45_decode("BB8", 3, back, 1, &n), CG_ETOOBIG);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc9285_examples), cmocka_unit_test(test_extremes),
      cmocka_unit_test(test_round_trip),       cmocka_unit_test(test_invalid),
      cmocka_unit_test(test_alphabet),         cmocka_unit_test(test_bounds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
