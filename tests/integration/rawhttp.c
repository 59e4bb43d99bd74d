/* rawhttp — sends bytes to a server exactly as given and prints what comes
 * back, for tests of malformed and pipelined HTTP that curl cannot send.
 *
 * usage: rawhttp PORT [--chunk N] [--delay MS] [--timeout MS] [--hold MS] < bytes
 *
 * Reads standard input whole, with C-style escapes decoded (\r \n \t \\ \xHH),
 * connects to 127.0.0.1:PORT, writes it (in pieces of N bytes with MS between
 * them, if asked), keeps the connection for --hold MS more, then prints what
 * the server sent, followed by a line "<<closed>>" if the server closed the
 * connection or "<<open>>" if it was still open at the timeout. A write
 * that failed (the server reset the connection) is said on stderr, with
 * how much had been sent.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t unescape(char *s, size_t n) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '\\' || i + 1 == n) {
      s[o++] = s[i];
      continue;
    }
    char c = s[++i];
    switch (c) {
    case 'r': s[o++] = '\r'; break;
    case 'n': s[o++] = '\n'; break;
    case 't': s[o++] = '\t'; break;
    case '0': s[o++] = '\0'; break;
    case '\\': s[o++] = '\\'; break;
    case 'x':
      if (i + 2 < n) {
        char hex[3] = {s[i + 1], s[i + 2], 0};
        s[o++] = (char)strtol(hex, NULL, 16);
        i += 2;
      }
      break;
    default: s[o++] = '\\'; s[o++] = c;
    }
  }
  return o;
}

int main(int argc, char **argv) {
  long chunk = 0, delay = 0, timeout = 2000, hold = 0;
  static char in[1 << 22];
  size_t n = 0;
  ssize_t r;
  struct sockaddr_in sa = {.sin_family = AF_INET};
  int fd, closed = 0;

  if (argc < 2) {
    fputs("usage: rawhttp PORT [--chunk N] [--delay MS] [--timeout MS] [--hold MS] < bytes\n",
          stderr);
    return 2;
  }
  for (int i = 2; i + 1 < argc; i += 2) {
    long v = atol(argv[i + 1]);
    if (!strcmp(argv[i], "--chunk")) chunk = v;
    else if (!strcmp(argv[i], "--delay")) delay = v;
    else if (!strcmp(argv[i], "--timeout")) timeout = v;
    else if (!strcmp(argv[i], "--hold")) hold = v;
  }
  /* The server may close while we still write (a 408, a 400): read what it
   * said instead of dying of SIGPIPE. */
  signal(SIGPIPE, SIG_IGN);
  while ((r = read(0, in + n, sizeof in - n)) > 0)
    n += (size_t)r;
  n = unescape(in, n);
  sa.sin_port = htons((unsigned short)atoi(argv[1]));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  fd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    perror("connect");
    return 1;
  }
  for (size_t off = 0; off < n;) {
    size_t k = chunk > 0 && (size_t)chunk < n - off ? (size_t)chunk : n - off;
    if (write(fd, in + off, k) < 0) {
      /* the server may close early; read what it said */
      fprintf(stderr, "rawhttp: sent %zu of %zu bytes: %s\n", off, n, strerror(errno));
      break;
    }
    off += k;
    if (delay > 0 && off < n)
      usleep((useconds_t)delay * 1000);
  }
  if (hold > 0)
    usleep((useconds_t)hold * 1000);
  long end = now_ms() + timeout;
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    long left = end - now_ms();
    char buf[65536];
    if (left <= 0 || poll(&p, 1, (int)left) <= 0)
      break;
    r = read(fd, buf, sizeof buf);
    if (r <= 0) {
      closed = 1;
      break;
    }
    fwrite(buf, 1, (size_t)r, stdout);
  }
  printf("\n%s\n", closed ? "<<closed>>" : "<<open>>");
  close(fd);
  return 0;
}
