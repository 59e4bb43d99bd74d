/* tls.c — a connection's byte stream: plain TCP, or TLS through mbedTLS.
 *
 * One server configuration (certificate chain, key, a CTR-DRBG seeded once)
 * is shared by every connection; each connection gets its own
 * mbedtls_ssl_context over its blocking socket. The socket's SO_RCVTIMEO
 * and SO_SNDTIMEO (set by http.c) bound every read and write, TLS or not.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "sim.h"

struct sim_tls {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  pthread_mutex_t drbg_mu;
  mbedtls_x509_crt chain;
  mbedtls_pk_context key;
  mbedtls_ssl_config conf;
};

/* The DRBG is shared by every handshake. mbedTLS locks it itself when built
 * with MBEDTLS_THREADING_C (Debian's is), but a lock here costs nothing and
 * does not depend on how the library was configured. */
static int rng(void *arg, unsigned char *out, size_t n) {
  sim_tls_t *t = arg;
  pthread_mutex_lock(&t->drbg_mu);
  int ret = mbedtls_ctr_drbg_random(&t->drbg, out, n);
  pthread_mutex_unlock(&t->drbg_mu);
  return ret;
}

static int tls_fail(cg_why_t *why, int ret, const char *what) {
  char msg[120];
  mbedtls_strerror(ret, msg, sizeof msg);
  return cg_why_set(why, CG_ECRYPTO, "%.70s: %s", what, msg);
}

int sim_tls_new(const char *cert_file, const char *key_file, sim_tls_t **out, cg_why_t *why) {
  static const char pers[] = "certgw-upstream-sim";
  sim_tls_t *t = calloc(1, sizeof *t);
  int ret, err = 0;

  if (t == NULL)
    return cg_why_set(why, CG_ENOMEM, "out of memory");
  pthread_mutex_init(&t->drbg_mu, NULL);
  mbedtls_entropy_init(&t->entropy);
  mbedtls_ctr_drbg_init(&t->drbg);
  mbedtls_x509_crt_init(&t->chain);
  mbedtls_pk_init(&t->key);
  mbedtls_ssl_config_init(&t->conf);

  if ((ret = mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->entropy,
                                   (const unsigned char *)pers, sizeof pers - 1)) != 0)
    err = tls_fail(why, ret, "seeding the generator");
  else if ((ret = mbedtls_x509_crt_parse_file(&t->chain, cert_file)) != 0)
    err = tls_fail(why, ret, cert_file);
  else if ((ret = mbedtls_pk_parse_keyfile(&t->key, key_file, NULL)) != 0)
    err = tls_fail(why, ret, key_file);
  else if ((ret = mbedtls_pk_check_pair(&t->chain.pk, &t->key)) != 0)
    err = tls_fail(why, ret, "the key does not match the certificate");
  else if ((ret = mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_SERVER,
                                              MBEDTLS_SSL_TRANSPORT_STREAM,
                                              MBEDTLS_SSL_PRESET_DEFAULT)) != 0)
    err = tls_fail(why, ret, "TLS configuration");
  if (err == 0) {
    mbedtls_ssl_conf_min_version(&t->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                 MBEDTLS_SSL_MINOR_VERSION_3); /* TLS 1.2 */
    mbedtls_ssl_conf_rng(&t->conf, rng, t);
    if ((ret = mbedtls_ssl_conf_own_cert(&t->conf, &t->chain, &t->key)) != 0)
      err = tls_fail(why, ret, "TLS configuration");
  }
  if (err != 0) {
    mbedtls_ssl_config_free(&t->conf);
    mbedtls_pk_free(&t->key);
    mbedtls_x509_crt_free(&t->chain);
    mbedtls_ctr_drbg_free(&t->drbg);
    mbedtls_entropy_free(&t->entropy);
    pthread_mutex_destroy(&t->drbg_mu);
    free(t);
    return err;
  }
  *out = t;
  return 0;
}

/* ---- the socket under mbedTLS ------------------------------------------------ */

static int bio_send(void *ctx, const unsigned char *buf, size_t len) {
  int fd = *(int *)ctx;
  for (;;) {
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    if (n >= 0)
      return (int)n;
    if (errno == EINTR)
      continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? MBEDTLS_ERR_SSL_TIMEOUT
           : errno == EPIPE || errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET
                                                   : MBEDTLS_ERR_NET_SEND_FAILED;
  }
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len) {
  int fd = *(int *)ctx;
  for (;;) {
    ssize_t n = recv(fd, buf, len, 0);
    if (n >= 0)
      return (int)n; /* 0: the peer closed, which mbedTLS reports as CONN_EOF */
    if (errno == EINTR)
      continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? MBEDTLS_ERR_SSL_TIMEOUT
           : errno == ECONNRESET                   ? MBEDTLS_ERR_NET_CONN_RESET
                                                   : MBEDTLS_ERR_NET_RECV_FAILED;
  }
}

static int want_more(int ret) {
  return ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE;
}

static void ssl_free(sim_io_t *io) {
  if (io->ssl != NULL) {
    mbedtls_ssl_free(io->ssl);
    free(io->ssl);
    io->ssl = NULL;
  }
}

int sim_io_open(sim_io_t *io, sim_tls_t *tls) {
  int ret;

  io->ssl = NULL;
  if (tls == NULL)
    return 0;
  if ((io->ssl = malloc(sizeof *io->ssl)) == NULL)
    return -1;
  mbedtls_ssl_init(io->ssl);
  if (mbedtls_ssl_setup(io->ssl, &tls->conf) != 0) {
    ssl_free(io);
    return -1;
  }
  mbedtls_ssl_set_bio(io->ssl, &io->fd, bio_send, bio_recv, NULL);
  while ((ret = mbedtls_ssl_handshake(io->ssl)) != 0) {
    if (!want_more(ret)) {
      /* A client that does not trust our certificate ends here; the
       * simulator has nothing to say about it. */
      ssl_free(io);
      return -1;
    }
  }
  return 0;
}

ssize_t sim_io_read(sim_io_t *io, void *buf, size_t n) {
  if (io->ssl == NULL) {
    for (;;) {
      ssize_t r = recv(io->fd, buf, n, 0);
      if (r >= 0)
        return r;
      if (errno != EINTR)
        return -1;
    }
  }
  for (;;) {
    int r = mbedtls_ssl_read(io->ssl, buf, n);
    if (r > 0)
      return r;
    if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || r == MBEDTLS_ERR_SSL_CONN_EOF)
      return 0;
    if (!want_more(r))
      return -1;
  }
}

int sim_io_write(sim_io_t *io, const void *buf, size_t n) {
  const unsigned char *p = buf;
  while (n > 0) {
    ssize_t r;
    if (io->ssl == NULL) {
      r = send(io->fd, p, n, MSG_NOSIGNAL);
      if (r < 0 && errno == EINTR)
        continue;
    } else {
      r = mbedtls_ssl_write(io->ssl, p, n);
      if (want_more((int)r))
        continue;
    }
    if (r <= 0)
      return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

void sim_io_close(sim_io_t *io) {
  struct timeval tv = {.tv_sec = 0, .tv_usec = 200 * 1000};
  struct timespec start, now;
  char buf[4096];

  if (io->fd < 0)
    return;
  if (io->ssl != NULL)
    mbedtls_ssl_close_notify(io->ssl);
  ssl_free(io);
  /* Closing a socket with unread input sends a reset, which can destroy the
   * answer just sent before the client reads it (a 413 to a body still on
   * its way). Send our FIN first, then read what is left for up to a second. */
  shutdown(io->fd, SHUT_WR);
  setsockopt(io->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    ssize_t r = recv(io->fd, buf, sizeof buf, 0);
    if (r == 0 || (r < 0 && errno != EINTR))
      break;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - start.tv_sec >= 1)
      break;
  }
  close(io->fd);
  io->fd = -1;
}

void sim_io_reset(sim_io_t *io) {
  struct linger lg = {.l_onoff = 1, .l_linger = 0};

  if (io->fd < 0)
    return;
  ssl_free(io);
  setsockopt(io->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(io->fd);
  io->fd = -1;
}
