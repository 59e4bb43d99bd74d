/* fuzz_http.c — mutated HTTP requests against a running certgw, for
 * tests/integration/gateway_fuzz.sh.
 *
 *   fuzz_http PORT SEED COUNT BASE...
 *
 * Each BASE file holds one well-formed request (bytes as sent). COUNT times:
 * a base, most often mutated (bytes changed, cut, repeated, or a piece that
 * parsers like to trip on put in), sent on a new connection — at once or in
 * small pieces — then the write side shut and the answer read until the
 * server closes (or half a second passes). Deterministic for a SEED, apart
 * from how the kernel cuts the stream. Prints how many answers of each
 * status came back; exits 1 as soon as a connection is refused (the server
 * has gone), 0 otherwise. What the server must do with each message is the
 * other tests' business: here it must only live through them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BASES_MAX 32
#define MSG_MAX (256 * 1024)

static uint64_t rng_state;

static uint64_t rnd(void) { /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1DULL;
}

static size_t below(size_t n) { return n ? (size_t)(rnd() % n) : 0; }

static const char *const pieces[] = {
    "\0", "\xff", "\"", "\\", "{", "}", "[", "]", ",", ":", "\r", "\n", "\r\n", " ", "%", "?",
    ".", "u0000", "\\u0000", "\xe4\xb8\xad", "\xc0\x80", "999999999999", "-1",
    "Transfer-Encoding: chunked\r\n", "Content-Length: 5\r\n", "Host: b\r\n", "\r\n\r\n",
    "GET / HTTP/1.1\r\n"};

/* Mutates m[0..*len) in place (capacity MSG_MAX). */
static void mutate(char *m, size_t *len) {
  int ops = 1 + (int)below(6);
  for (int k = 0; k < ops && *len > 0; k++) {
    size_t i = below(*len), op = below(100);
    if (op < 30) {
      m[i] = (char)rnd();
    } else if (op < 50) {
      size_t n = 1 + below(20);
      if (n > *len - i)
        n = *len - i;
      memmove(m + i, m + i + n, *len - i - n);
      *len -= n;
    } else if (op < 75) {
      size_t which = below(sizeof pieces / sizeof *pieces);
      size_t n = which == 0 ? 1 : strlen(pieces[which]);
      if (*len + n <= MSG_MAX) {
        memmove(m + i + n, m + i, *len - i);
        memcpy(m + i, pieces[which], n);
        *len += n;
      }
    } else if (op < 85) {
      size_t n = 1 + below(50), times = 2 + below(49);
      if (n > *len - i)
        n = *len - i;
      if (*len + n * times <= MSG_MAX) {
        memmove(m + i + n * times, m + i, *len - i);
        for (size_t t = 0; t < times; t++)
          memcpy(m + i + n * t, m + i + n * times, n);
        *len += n * times;
      }
    } else {
      *len = i;
    }
  }
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = malloc(MSG_MAX);
  if (f == NULL || buf == NULL) {
    fprintf(stderr, "fuzz_http: cannot read %s\n", path);
    exit(2);
  }
  *len = fread(buf, 1, MSG_MAX, f);
  fclose(f);
  return buf;
}

/* One exchange; the answer's status (0: none), or -1 when refused. */
static int exchange(const struct sockaddr_in *to, const char *m, size_t len) {
  int fd = socket(AF_INET, SOCK_STREAM, 0), status = 0;
  char buf[65536];
  size_t got = 0;

  if (fd < 0)
    return 0;
  if (connect(fd, (const struct sockaddr *)to, sizeof *to) != 0) {
    int refused = errno == ECONNREFUSED;
    close(fd);
    return refused ? -1 : 0;
  }
  size_t step = below(10) < 3 ? 1 + below(16) : len;
  for (size_t at = 0; at < len;) {
    size_t n = len - at < step ? len - at : step;
    ssize_t w = send(fd, m + at, n, MSG_NOSIGNAL);
    if (w <= 0)
      break;
    at += (size_t)w;
  }
  shutdown(fd, SHUT_WR);
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 500) <= 0)
      break;
    ssize_t r = recv(fd, buf + got, sizeof buf - got, 0);
    if (r <= 0)
      break;
    got += (size_t)r;
    if (got == sizeof buf)
      got = 12; /* the status stays; the rest is not needed */
  }
  close(fd);
  if (got >= 12 && memcmp(buf, "HTTP/1.", 7) == 0)
    status = atoi(buf + 9);
  return status;
}

int main(int argc, char **argv) {
  char *base[BASES_MAX];
  size_t base_len[BASES_MAX];
  int nbase = 0, count;
  unsigned long tally[600] = {0};
  struct sockaddr_in to = {.sin_family = AF_INET};

  if (argc < 5) {
    fprintf(stderr, "usage: fuzz_http PORT SEED COUNT BASE...\n");
    return 2;
  }
  to.sin_port = htons((uint16_t)atoi(argv[1]));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  rng_state = 0x9E3779B97F4A7C15ULL ^ (uint64_t)strtoull(argv[2], NULL, 10);
  count = atoi(argv[3]);
  for (int i = 4; i < argc && nbase < BASES_MAX; i++) {
    base[nbase] = slurp(argv[i], &base_len[nbase]);
    nbase++;
  }
  char *m = malloc(MSG_MAX);
  if (m == NULL)
    return 2;
  for (int k = 0; k < count; k++) {
    size_t b = below((size_t)nbase), len = base_len[b];
    memcpy(m, base[b], len);
    if (below(10) < 9)
      mutate(m, &len);
    int st = exchange(&to, m, len);
    if (st < 0) {
      fprintf(stderr, "fuzz_http: connection refused at message %d (seed %s): the server has gone\n",
              k, argv[2]);
      count = -1;
      break;
    }
    tally[st >= 0 && st < 600 ? st : 0]++;
  }
  free(m);
  for (int i = 0; i < nbase; i++)
    free(base[i]);
  if (count < 0)
    return 1;
  printf("%d messages:", count);
  for (int s = 0; s < 600; s++) {
    if (tally[s] && s == 0)
      printf(" none=%lu", tally[s]);
    else if (tally[s])
      printf(" %d=%lu", s, tally[s]);
  }
  printf("\n");
  return 0;
}
