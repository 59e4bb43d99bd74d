/* pipe_late.c — pipelined requests from a client that reads late, for
 * tests/integration/gateway_upstream.sh.
 *
 *   pipe_late PORT HOLD_MS FIRST N LATE M
 *
 * Connects to 127.0.0.1:PORT with a small receive buffer, sends the bytes of
 * the file FIRST (requests, pipelined), reads nothing for HOLD_MS
 * milliseconds (so that the server's answers back up), then reads N
 * answers, sends the file LATE and reads M more. Prints one line an answer,
 * in the order received: the status and the body (line breaks as spaces). Every answer must carry Content-Length, as
 * certgw's do. Exits 1 when the server closes or a read waits 10 s.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_MAX (8 << 20)

static char in[IN_MAX];
static size_t in_len;

static int slurp(const char *path, char **out, size_t *len) {
  FILE *f = fopen(path, "rb");
  long n;
  if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
    return -1;
  *out = malloc((size_t)n + 1);
  if (*out == NULL || fread(*out, 1, (size_t)n, f) != (size_t)n)
    return -1;
  *len = (size_t)n;
  fclose(f);
  return 0;
}

static int send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0)
      return -1;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

/* Reads until in[] holds one whole answer; prints it and drops it. */
static int answer(int fd) {
  for (;;) {
    char *end = memmem(in, in_len, "\r\n\r\n", 4);
    if (end != NULL) {
      size_t head = (size_t)(end - in) + 4, body = 0;
      for (char *l = strstr(in, "\r\n"); l != NULL && l < end; l = strstr(l + 2, "\r\n"))
        if (strncasecmp(l + 2, "Content-Length:", 15) == 0)
          body = strtoul(l + 17, NULL, 10);
      if (in_len >= head + body) {
        int status = atoi(in + 9);
        printf("%d ", status);
        for (size_t i = 0; i < body; i++)
          putchar(in[head + i] == '\n' || in[head + i] == '\r' ? ' ' : in[head + i]);
        putchar('\n');
        memmove(in, in + head + body, in_len - head - body);
        in_len -= head + body;
        return 0;
      }
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 10000) != 1) {
      fprintf(stderr, "pipe_late: no answer within 10 s\n");
      return -1;
    }
    ssize_t k = recv(fd, in + in_len, sizeof in - 1 - in_len, 0);
    if (k <= 0) {
      fprintf(stderr, "pipe_late: the server closed the connection\n");
      return -1;
    }
    in_len += (size_t)k;
    in[in_len] = '\0';
  }
}

int main(int argc, char **argv) {
  struct sockaddr_in a = {.sin_family = AF_INET};
  char *first, *late;
  size_t first_len, late_len;
  int fd, rcvbuf = 2048;
  long n, m, hold;

  if (argc != 7) {
    fprintf(stderr, "usage: pipe_late PORT HOLD_MS FIRST N LATE M\n");
    return 2;
  }
  a.sin_port = htons((unsigned short)atoi(argv[1]));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  hold = atol(argv[2]);
  n = atol(argv[4]);
  m = atol(argv[6]);
  if (slurp(argv[3], &first, &first_len) != 0 || slurp(argv[5], &late, &late_len) != 0) {
    fprintf(stderr, "pipe_late: cannot read %s or %s\n", argv[3], argv[5]);
    return 2;
  }
  /* Before connect, so that the window offered stays small. */
  if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0 ||
      connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    perror("pipe_late: connect");
    return 1;
  }
  if (send_all(fd, first, first_len) != 0) {
    perror("pipe_late: send");
    return 1;
  }
  nanosleep(&(struct timespec){.tv_sec = hold / 1000, .tv_nsec = hold % 1000 * 1000000L}, NULL);
  for (long i = 0; i < n; i++)
    if (answer(fd) != 0)
      return 1;
  if (send_all(fd, late, late_len) != 0) {
    perror("pipe_late: send");
    return 1;
  }
  for (long i = 0; i < m; i++)
    if (answer(fd) != 0)
      return 1;
  fflush(stdout);
  close(fd);
  free(first);
  free(late);
  return 0;
}
