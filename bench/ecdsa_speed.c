/* ecdsa_speed.c — how fast mbedTLS verifies ECDSA P-256 signatures here.
 *
 *   ecdsa-speed [SECONDS]
 *
 * The ceiling for bulk seal verification (docs/benchmarks.md, section e):
 * one key, a context per thread made from it (as core/seal.c keeps one per
 * signer per thread), mbedtls_ecdsa_read_signature over a DER signature,
 * on 1 and then 2 threads. Measured twice: over the SHA-256 of a body, as
 * seals are, and over an all-zero digest. The second is no seal's case but
 * a trap for anyone timing the library: a zero digest makes u1 = 0, and
 * mbedTLS then skips the base-point multiplication, half the work.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/entropy.h>
#include <mbedtls/sha256.h>

struct run {
  const mbedtls_ecdsa_context *key;
  const unsigned char *hash, *sig;
  size_t sig_len;
  double seconds, rate;
  int failed;
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *verify_loop(void *arg) {
  struct run *r = arg;
  mbedtls_ecdsa_context ctx;
  long n = 0;
  double t0;

  mbedtls_ecdsa_init(&ctx);
  if (mbedtls_ecdsa_from_keypair(&ctx, r->key) != 0) {
    r->failed = 1;
    return NULL;
  }
  t0 = now();
  while (now() - t0 < r->seconds) {
    if (mbedtls_ecdsa_read_signature(&ctx, r->hash, 32, r->sig, r->sig_len) != 0) {
      r->failed = 1;
      break;
    }
    n++;
  }
  r->rate = (double)n / (now() - t0);
  mbedtls_ecdsa_free(&ctx);
  return NULL;
}

/* Verifications a second on `threads` threads together. */
static double measure(const struct run *proto, int threads) {
  pthread_t th[2];
  struct run r[2];
  double sum = 0;

  for (int i = 0; i < threads; i++) {
    r[i] = *proto;
    if (pthread_create(&th[i], NULL, verify_loop, &r[i]) != 0) {
      fprintf(stderr, "ecdsa-speed: cannot start a thread\n");
      exit(1);
    }
  }
  for (int i = 0; i < threads; i++) {
    pthread_join(th[i], NULL);
    if (r[i].failed) {
      fprintf(stderr, "ecdsa-speed: a signature did not verify\n");
      exit(1);
    }
    sum += r[i].rate;
  }
  return sum;
}

int main(int argc, char **argv) {
  static const char body[] = "{\"certificateIdentifier\":\"a body to seal\",\"status\":\"valid\"}";
  unsigned char real[32], zero[32] = {0}, sig_real[MBEDTLS_ECDSA_MAX_LEN],
                                          sig_zero[MBEDTLS_ECDSA_MAX_LEN];
  size_t len_real = 0, len_zero = 0;
  double seconds = argc > 1 ? atof(argv[1]) : 4.0;
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  mbedtls_ecdsa_context key;

  if (argc > 2 || seconds <= 0) {
    fprintf(stderr, "usage: ecdsa-speed [SECONDS]\n");
    return 2;
  }
  mbedtls_entropy_init(&entropy);
  mbedtls_ctr_drbg_init(&drbg);
  mbedtls_ecdsa_init(&key);
  if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0) != 0 ||
      mbedtls_ecdsa_genkey(&key, MBEDTLS_ECP_DP_SECP256R1, mbedtls_ctr_drbg_random, &drbg) != 0 ||
      mbedtls_sha256_ret((const unsigned char *)body, sizeof body - 1, real, 0) != 0 ||
      mbedtls_ecdsa_write_signature(&key, MBEDTLS_MD_SHA256, real, 32, sig_real, &len_real,
                                    mbedtls_ctr_drbg_random, &drbg) != 0 ||
      mbedtls_ecdsa_write_signature(&key, MBEDTLS_MD_SHA256, zero, 32, sig_zero, &len_zero,
                                    mbedtls_ctr_drbg_random, &drbg) != 0) {
    fprintf(stderr, "ecdsa-speed: cannot make a key and signatures\n");
    return 1;
  }
  struct run seal = {&key, real, sig_real, len_real, seconds, 0, 0};
  struct run trap = {&key, zero, sig_zero, len_zero, seconds, 0, 0};
  printf("ECDSA P-256 verifications/s (mbedtls_ecdsa_read_signature, %.0f s each)\n", seconds);
  printf("  digest of a body, 1 thread   %8.0f\n", measure(&seal, 1));
  printf("  digest of a body, 2 threads  %8.0f\n", measure(&seal, 2));
  printf("  all-zero digest,  1 thread   %8.0f\n", measure(&trap, 1));
  printf("  all-zero digest,  2 threads  %8.0f\n", measure(&trap, 2));
  mbedtls_ecdsa_free(&key);
  mbedtls_ctr_drbg_free(&drbg);
  mbedtls_entropy_free(&entropy);
  return 0;
}
