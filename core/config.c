/* config.c — reading certgw.conf with inih into an immutable cg_config_t.
 *
 * Keys are declared in one table (section, key, setter, field offset), the
 * way nginx declares its directives; scope sections ([scope NAME]) are
 * handled apart because their name is part of the section.
 */
#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/view.h"

struct load {
  cg_config_t *c;
  FILE *f;
  int line; /* counted by reader(): Debian's inih passes no line number */
  uint64_t seen; /* directives already given, one bit each */
  uint32_t tier_seen[CG_TIERS_MAX]; /* single-value keys of each tier already given */
  char dir[4096];
  cg_why_t *why;
  int err;
  int err_line; /* the line of err, to tell which came first with inih's */
};

static int set_string(struct load *l, void *field, const char *v, size_t size) {
  (void)l;
  if (strlen(v) >= size)
    return -1;
  memcpy(field, v, strlen(v) + 1);
  return 0;
}

static int set_path(struct load *l, void *field, const char *v, size_t size) {
  int n;
  if (v[0] == '\0')
    return -1;
  n = v[0] == '/' ? snprintf(field, size, "%s", v) : snprintf(field, size, "%s/%s", l->dir, v);
  return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int parse_uint(const char *v, unsigned long long max, unsigned long long *out) {
  char *end;
  unsigned long long x;
  if (!isdigit((unsigned char)v[0]))
    return -1;
  errno = 0;
  x = strtoull(v, &end, 10);
  if (errno || *end || x > max)
    return -1;
  *out = x;
  return 0;
}

int cg_config_size(const char *s, uint64_t *out) {
  char *end;
  unsigned long long x;
  unsigned shift = 0;

  if (!isdigit((unsigned char)s[0]))
    return CG_ECONFIG;
  errno = 0;
  x = strtoull(s, &end, 10);
  if (errno)
    return CG_ECONFIG;
  switch (*end) {
  case '\0': break;
  case 'K': case 'k': shift = 10; end++; break;
  case 'M': case 'm': shift = 20; end++; break;
  case 'G': case 'g': shift = 30; end++; break;
  case 'T': case 't': shift = 40; end++; break;
  default: return CG_ECONFIG;
  }
  if (*end != '\0' || x > (UINT64_MAX >> shift))
    return CG_ECONFIG;
  *out = (uint64_t)x << shift;
  return 0;
}

static int parse_bool(const char *v) {
  if (!strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "1"))
    return 1;
  if (!strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "0"))
    return 0;
  return -1;
}

#define FIELD(f) offsetof(cg_config_t, f), sizeof(((cg_config_t *)0)->f)

enum kind { K_STRING, K_PATH, K_UINT, K_SIZE, K_BOOL };

static const struct {
  const char *section, *key;
  enum kind kind;
  size_t offset, size;
  unsigned long long max;
} directives[] = {
    {"server", "listen", K_STRING, FIELD(listen), 0},
    {"server", "workers", K_UINT, FIELD(workers), 1024},
    {"server", "header_timeout", K_UINT, FIELD(header_timeout_ms), 3600000},
    {"server", "body_timeout", K_UINT, FIELD(body_timeout_ms), 3600000},
    {"server", "idle_timeout", K_UINT, FIELD(idle_timeout_ms), 3600000},
    {"server", "write_timeout", K_UINT, FIELD(write_timeout_ms), 3600000},
    {"server", "drain_delay", K_UINT, FIELD(drain_delay_ms), 3600000},
    {"server", "drain_timeout", K_UINT, FIELD(drain_timeout_ms), 3600000},
    {"server", "max_header_bytes", K_UINT, FIELD(max_header_bytes), 1u << 20},
    {"server", "max_headers", K_UINT, FIELD(max_headers), 1000},
    {"server", "max_body_bytes", K_UINT, FIELD(max_body_bytes), 64u << 20},
    {"server", "max_connections", K_UINT, FIELD(max_connections), 1000000},
    {"server", "send_buffer", K_SIZE, FIELD(send_buffer), 0},
    {"server", "proxy_protocol", K_BOOL, FIELD(proxy_protocol), 1},
    {"server", "access_log", K_PATH, FIELD(access_log), 0},
    {"server", "access_log_sample", K_UINT, FIELD(access_log_sample), 1000000},
    {"server", "trusted_proxies", K_STRING, FIELD(trusted_proxies), 0},
    {"store", "path", K_PATH, FIELD(store_path), 0},
    {"store", "map_size", K_SIZE, FIELD(map_size), 0},
    {"store", "max_readers", K_UINT, FIELD(max_readers), 1u << 20},
    {"seal", "trust_dir", K_PATH, FIELD(trust_dir), 0},
    {"seal", "verifier_threads", K_UINT, FIELD(verifier_threads), 256},
    {"seal", "recheck", K_BOOL, FIELD(recheck), 1},
    {"token", "keyring", K_PATH, FIELD(keyring), 0},
    {"token", "max_ttl", K_UINT, FIELD(token_max_ttl), 86400},
    {"token", "skew", K_UINT, FIELD(token_skew), 3600},
    {"upstream", "purpose", K_STRING, FIELD(up_purpose), 0},
    {"upstream", "deadline", K_UINT, FIELD(up_deadline_ms), 600000},
    {"upstream", "negative_ttl", K_UINT, FIELD(up_negative_ttl_ms), 86400000},
    {"upstream", "refresh", K_UINT, FIELD(up_refresh_s), 365u * 86400},
    {"upstream", "retry_budget", K_UINT, FIELD(up_retry_budget), 100},
    {"upstream", "breaker_failures", K_UINT, FIELD(up_breaker_failures), 1000},
    {"upstream", "breaker_open", K_UINT, FIELD(up_breaker_open_ms), 3600000},
    {"upstream", "eject", K_UINT, FIELD(up_eject_ms), 3600000},
    {"upstream", "feed_interval", K_UINT, FIELD(up_feed_interval_ms), 3600000},
    {"upstream", "pool", K_UINT, FIELD(up_pool), 1024},
};
_Static_assert(sizeof directives / sizeof *directives <= 64, "one bit each in load.seen");

__attribute__((format(printf, 3, 4))) static int fail(struct load *l, int line,
                                                       const char *fmt, ...) {
  if (l->err == 0) {
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    l->err = cg_why_set(l->why, CG_ECONFIG, "%s:%d: %s", l->c->path, line, msg);
    l->err_line = line;
  }
  return 0; /* inih: stop at the first error */
}

/* Appends a comma list to fixed slots of width bytes; "*" alone sets *all.
 * Lists append because inih hands each continuation line of a long value
 * (an indented line; Debian's inih reads at most 200 bytes a line) to the
 * handler as the same key again. */
static int set_list(const char *v, char *slots, size_t width, int *n, int *all) {
  const char *p = v;
  if (all != NULL && strcmp(v, "*") == 0) {
    *all = 1;
    return *n == 0 ? 0 : -1;
  }
  if (all != NULL && *all)
    return -1;
  while (*p) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    while (len && isspace((unsigned char)*p))
      p++, len--;
    while (len && isspace((unsigned char)p[len - 1]))
      len--;
    if (len == 0 && e && e[1] == '\0') /* a trailing comma before a continuation */
      break;
    /* "*" means all only alone; as one name among others it is a mistake. */
    if (len == 0 || len >= width || *n == CG_SCOPE_LIST_MAX || (len == 1 && *p == '*'))
      return -1;
    memcpy(slots + (size_t)*n * width, p, len);
    slots[(size_t)*n * width + len] = '\0';
    (*n)++;
    if (!e)
      break;
    p = e + 1;
  }
  return 0;
}

/* A list of 21-character certificate type codes (or "*") for what (a scope
 * or upstream tier) called name. Returns 1, or 0 after fail(). */
static int set_types(struct load *l, int line, const char *what, const char *name, const char *v,
                     char (*types)[22], int *ntypes, int *all) {
  if (set_list(v, types[0], sizeof types[0], ntypes, all) != 0)
    return fail(l, line, "%s %s: bad types list", what, name);
  for (int i = 0; i < *ntypes; i++)
    if (strlen(types[i]) != 21)
      return fail(l, line, "%s %s: type code \"%s\" is not 21 characters", what, name,
                  types[i]);
  return 1;
}

static int scope_key(struct load *l, cg_scope_t *s, const char *key, const char *v, int line) {
  int b;
  if (!strcmp(key, "types"))
    return set_types(l, line, "scope", s->name, v, s->types, &s->ntypes, &s->all_types);
  if (!strcmp(key, "fields")) {
    if (set_list(v, s->fields[0], sizeof s->fields[0], &s->nfields, &s->all_fields) != 0)
      return fail(l, line, "scope %s: bad fields list", s->name);
    return 1;
  }
  if (!strcmp(key, "mask")) {
    if (set_list(v, s->mask[0], sizeof s->mask[0], &s->nmask, NULL) != 0)
      return fail(l, line, "scope %s: bad mask list", s->name);
    return 1;
  }
  if (!strcmp(key, "rate") || !strcmp(key, "burst")) {
    char *end;
    unsigned long x = strtoul(v, &end, 10);
    if (!isdigit((unsigned char)v[0]) || *end || x > 1000000)
      return fail(l, line, "%s: \"%s\" is not a number from 0 to 1000000", key, v);
    *(!strcmp(key, "rate") ? &s->rate : &s->burst) = (unsigned)x;
    return 1;
  }
  int *flag = !strcmp(key, "scan")     ? &s->can_scan
              : !strcmp(key, "fetch")  ? &s->can_fetch
              : !strcmp(key, "list")   ? &s->can_list
              : !strcmp(key, "verify") ? &s->can_verify
              : !strcmp(key, "diagnostics") ? &s->diagnostics
              : !strcmp(key, "single_use") ? &s->single_use
                                       : NULL;
  if (flag == NULL)
    return fail(l, line, "unknown key \"%s\" in scope %s", key, s->name);
  if ((b = parse_bool(v)) < 0)
    return fail(l, line, "%s: \"%s\" is not yes or no", key, v);
  *flag = b;
  return 1;
}

/* "http://host:port" or "https://host:port" (a bare IPv6 address in []). */
static int parse_url(const char *v, size_t len, struct cg_tier_addr *a) {
  char tmp[256], *host, *colon, *end;
  unsigned long port;
  if (len >= sizeof tmp)
    return -1;
  memcpy(tmp, v, len);
  tmp[len] = '\0';
  if (strncmp(tmp, "http://", 7) == 0)
    a->tls = 0, host = tmp + 7;
  else if (strncmp(tmp, "https://", 8) == 0)
    a->tls = 1, host = tmp + 8;
  else
    return -1;
  if ((end = strchr(host, '/')) != NULL) {
    if (end[1] != '\0') /* a base path is not part of the protocol */
      return -1;
    *end = '\0';
  }
  colon = strrchr(host, ':');
  if (host[0] == '[') {
    char *rb = strchr(host, ']');
    if (rb == NULL || (rb[1] != '\0' && rb[1] != ':'))
      return -1;
    colon = rb[1] == ':' ? rb + 1 : NULL;
  }
  if (colon != NULL) {
    port = strtoul(colon + 1, &end, 10);
    if (!isdigit((unsigned char)colon[1]) || *end || port == 0 || port > 65535)
      return -1;
    *colon = '\0';
  } else {
    port = a->tls ? 443 : 80;
  }
  int bracketed = host[0] == '[';
  if (bracketed) { /* the brackets are URL syntax, not part of the address */
    host++;
    host[strlen(host) - 1] = '\0';
  }
  if (host[0] == '\0' || strlen(host) >= sizeof a->host)
    return -1;
  /* A name or an address: no spaces, and an IPv6 address only in brackets. */
  for (const char *q = host; *q; q++)
    if (!(isalnum((unsigned char)*q) || *q == '.' || *q == '-' || *q == '_' ||
          (*q == ':' && bracketed)))
      return -1;
  snprintf(a->host, sizeof a->host, "%s", host);
  a->port = (unsigned)port;
  return 0;
}

static int tier_key(struct load *l, cg_tier_t *t, const char *key, const char *v, int line) {
  static const char *const single[] = {"access_id", "token", "server_name", "ca_file",
                                       "connect_timeout", "timeout", "feed"};
  uint32_t *seen = &l->tier_seen[t - l->c->tiers];
  for (unsigned i = 0; i < sizeof single / sizeof *single; i++)
    if (!strcmp(key, single[i])) {
      if (*seen & (1u << i))
        return fail(l, line, "upstream %s: %s is given twice (or continued on an indented line)",
                    t->name, key);
      *seen |= 1u << i;
    }
  if (!strcmp(key, "url")) {
    const char *p = v;
    while (*p) {
      const char *e = strchr(p, ',');
      size_t len = e ? (size_t)(e - p) : strlen(p);
      while (len && isspace((unsigned char)*p))
        p++, len--;
      while (len && isspace((unsigned char)p[len - 1]))
        len--;
      if (len == 0 && !(e && e[1] == '\0')) /* a trailing comma before a continuation is fine */
        return fail(l, line, "upstream %s: an empty entry in the url list", t->name);
      if (len > 0) {
        if (t->naddrs == CG_TIER_ADDRS_MAX)
          return fail(l, line, "upstream %s: more than %d addresses", t->name, CG_TIER_ADDRS_MAX);
        if (parse_url(p, len, &t->addrs[t->naddrs]) != 0)
          return fail(l, line, "upstream %s: \"%.*s\" is not http://HOST:PORT or https://HOST:PORT",
                      t->name, (int)len, p);
        t->naddrs++;
      }
      if (!e)
        break;
      p = e + 1;
    }
    return 1;
  }
  if (!strcmp(key, "types"))
    return set_types(l, line, "upstream", t->name, v, t->types, &t->ntypes, &t->all_types);
  if (!strcmp(key, "areas")) {
    if (set_list(v, t->areas[0], sizeof t->areas[0], &t->nareas, &t->all_areas) != 0)
      return fail(l, line, "upstream %s: bad areas list", t->name);
    for (int i = 0; i < t->nareas; i++)
      for (const char *q = t->areas[i]; *q; q++)
        if (!isdigit((unsigned char)*q))
          return fail(l, line, "upstream %s: area \"%s\" is not digits", t->name, t->areas[i]);
    return 1;
  }
  if (!strcmp(key, "access_id") || !strcmp(key, "token") || !strcmp(key, "server_name")) {
    char *f = !strcmp(key, "access_id") ? t->access_id : !strcmp(key, "token") ? t->token : t->server_name;
    size_t size = !strcmp(key, "access_id") ? sizeof t->access_id
                  : !strcmp(key, "token")   ? sizeof t->token
                                            : sizeof t->server_name;
    /* They go into header lines: no control characters. */
    for (const char *q = v; *q; q++)
      if ((unsigned char)*q < 0x20 || *q == 0x7f)
        return fail(l, line, "upstream %s: %s has a control character", t->name, key);
    if (set_string(l, f, v, size) != 0)
      return fail(l, line, "upstream %s: %s too long", t->name, key);
    return 1;
  }
  if (!strcmp(key, "ca_file")) {
    if (set_path(l, t->ca_file, v, sizeof t->ca_file) != 0)
      return fail(l, line, "upstream %s: bad path \"%s\"", t->name, v);
    return 1;
  }
  if (!strcmp(key, "connect_timeout") || !strcmp(key, "timeout")) {
    unsigned long long u;
    if (parse_uint(v, 600000, &u) != 0 || u == 0)
      return fail(l, line, "%s: \"%s\" is not a number from 1 to 600000", key, v);
    *(!strcmp(key, "timeout") ? &t->timeout_ms : &t->connect_timeout_ms) = (unsigned)u;
    return 1;
  }
  if (!strcmp(key, "feed")) {
    int b = parse_bool(v);
    if (b < 0)
      return fail(l, line, "feed: \"%s\" is not yes or no", v);
    t->feed = b;
    return 1;
  }
  return fail(l, line, "unknown key \"%s\" in [upstream %s]", key, t->name);
}

int cg_config_tier_covers(const cg_tier_t *t, const char *type_code, const char *issuer) {
  int ok = t->all_types || t->ntypes == 0;
  for (int i = 0; !ok && i < t->ntypes; i++)
    ok = memcmp(t->types[i], type_code, 21) == 0;
  if (!ok)
    return 0;
  if (t->all_areas || t->nareas == 0)
    return 1;
  /* GB 32100: positions 3-8 are the registering authority's area code. */
  for (int i = 0; i < t->nareas; i++)
    if (strncmp(issuer + 2, t->areas[i], strlen(t->areas[i])) == 0)
      return 1;
  return 0;
}

static char *reader(char *buf, int size, void *user) {
  struct load *l = user;
  char *r = fgets(buf, size, l->f);
  size_t n;
  if (r == NULL)
    return NULL;
  l->line++;
  n = strlen(buf);
  /* inih would read the rest of an overlong line as a line of its own. */
  if (n == (size_t)size - 1 && buf[n - 1] != '\n' && !feof(l->f)) {
    fail(l, l->line, "line longer than %d bytes: continue a list on an indented line",
         size - 2);
    return NULL;
  }
  return r;
}

static int handler(void *user, const char *section, const char *key, const char *v) {
  struct load *l = user;
  cg_config_t *c = l->c;
  int line = l->line;

  if (l->err)
    return 0;
  if (key == NULL) /* a new section with no keys yet: checked on its first key */
    return 1;
  if (strncmp(section, "scope ", 6) == 0) {
    const char *name = section + 6;
    cg_scope_t *s = NULL;
    if (name[0] == '\0' || strlen(name) >= CG_SCOPE_NAME_MAX)
      return fail(l, line, "bad scope name \"%s\"", name);
    for (int i = 0; i < c->nscopes; i++)
      if (!strcmp(c->scopes[i].name, name))
        s = &c->scopes[i];
    if (s == NULL) {
      if (c->nscopes == CG_SCOPES_MAX)
        return fail(l, line, "more than %d scopes", CG_SCOPES_MAX);
      s = &c->scopes[c->nscopes++];
      memcpy(s->name, name, strlen(name) + 1);
    }
    return scope_key(l, s, key, v, line);
  }
  if (strncmp(section, "upstream ", 9) == 0) {
    const char *name = section + 9;
    cg_tier_t *t = NULL;
    if (name[0] == '\0' || strlen(name) >= CG_SCOPE_NAME_MAX || strspn(name,
        "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(name))
      return fail(l, line, "bad upstream name \"%s\" (a-z, 0-9, _ and -)", name);
    for (int i = 0; i < c->ntiers; i++)
      if (!strcmp(c->tiers[i].name, name))
        t = &c->tiers[i];
    if (t == NULL) {
      if (c->ntiers == CG_TIERS_MAX)
        return fail(l, line, "more than %d upstream tiers", CG_TIERS_MAX);
      t = &c->tiers[c->ntiers++];
      memcpy(t->name, name, strlen(name) + 1);
      t->connect_timeout_ms = 500;
      t->timeout_ms = 1500;
      t->feed = 1;
    }
    return tier_key(l, t, key, v, line);
  }
  for (size_t i = 0; i < sizeof directives / sizeof *directives; i++) {
    unsigned long long u;
    char *field;
    if (strcmp(directives[i].section, section) || strcmp(directives[i].key, key))
      continue;
    /* inih hands an indented line on as the same key again: for a single
     * value that is a mistake (or a second assignment), never a list. */
    if (l->seen & (1ull << i))
      return fail(l, line, "%s is given twice (or continued on an indented line)", key);
    l->seen |= 1ull << i;
    field = (char *)c + directives[i].offset;
    switch (directives[i].kind) {
    case K_STRING:
      if (set_string(l, field, v, directives[i].size) != 0)
        return fail(l, line, "%s: value too long", key);
      break;
    case K_PATH:
      if (set_path(l, field, v, directives[i].size) != 0)
        return fail(l, line, "%s: bad path \"%s\"", key, v);
      break;
    case K_UINT:
      if (parse_uint(v, directives[i].max, &u) != 0)
        return fail(l, line, "%s: \"%s\" is not a number in range", key, v);
      if (directives[i].size == sizeof(int))
        *(int *)field = (int)u;
      else
        *(unsigned *)field = (unsigned)u;
      break;
    case K_BOOL: {
      int b = parse_bool(v);
      if (b < 0)
        return fail(l, line, "%s: \"%s\" is not yes or no", key, v);
      *(unsigned *)field = (unsigned)b;
      break;
    }
    case K_SIZE:
      if (cg_config_size(v, (uint64_t *)field) != 0)
        return fail(l, line, "%s: \"%s\" is not a size (e.g. 64G)", key, v);
      break;
    }
    return 1;
  }
  return fail(l, line, "unknown key \"%s\" in [%s]", key, section);
}

int cg_config_load(cg_config_t **out, const char *path, cg_why_t *why) {
  struct load l = {.why = why};
  cg_config_t *c;
  const char *slash;
  FILE *f;
  int rc;

  *out = NULL;
  if ((c = calloc(1, sizeof *c)) == NULL)
    return CG_ENOMEM;
  l.c = c;
  snprintf(c->path, sizeof c->path, "%s", path);
  slash = strrchr(path, '/');
  if (slash == NULL)
    snprintf(l.dir, sizeof l.dir, ".");
  else if (slash == path)
    snprintf(l.dir, sizeof l.dir, "/");
  else
    snprintf(l.dir, sizeof l.dir, "%.*s", (int)(slash - path), path);

  /* Defaults, documented in conf/certgw.conf. */
  snprintf(c->listen, sizeof c->listen, "127.0.0.1:8080");
  c->map_size = 64ULL << 30;
  c->max_readers = 1024;
  c->token_max_ttl = 300;
  c->token_skew = 30;
  c->header_timeout_ms = 10000;
  c->body_timeout_ms = 10000;
  c->idle_timeout_ms = 75000;
  c->write_timeout_ms = 30000;
  c->drain_delay_ms = 5000;
  c->drain_timeout_ms = 30000;
  c->max_header_bytes = 16384;
  c->max_headers = 64;
  c->max_body_bytes = 65536;
  c->max_connections = 20000;
  c->access_log_sample = 1;
  c->recheck = 1;
  snprintf(c->up_purpose, sizeof c->up_purpose, "certificate verification");
  c->up_deadline_ms = 3000;
  c->up_negative_ttl_ms = 30000;
  c->up_refresh_s = 86400;
  c->up_retry_budget = 20;
  c->up_breaker_failures = 5;
  c->up_breaker_open_ms = 5000;
  c->up_eject_ms = 10000;
  c->up_feed_interval_ms = 5000;
  c->up_pool = 8;

  if ((f = fopen(path, "r")) == NULL) {
    free(c);
    return cg_why_set(why, CG_EIO, "%s: %s", path, strerror(errno));
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(f);
    free(c);
    return cg_why_set(why, CG_EIO, "%s: not a regular file", path);
  }
  l.f = f;
  rc = ini_parse_stream(reader, &l, handler, &l);
  fclose(f);
  /* inih goes on after a line it cannot parse, so a handler error may come
   * from a later line (a broken [section] makes the next key "unknown"). */
  if (rc != 0 && (l.err == 0 || (rc > 0 && rc < l.err_line)))
    l.err = cg_why_set(why, CG_ECONFIG, "%s:%d: not a valid line", path, rc);
  if (l.err == 0 && c->store_path[0] == '\0')
    l.err = cg_why_set(why, CG_ECONFIG, "%s: [store] path is required", path);
  if (l.err == 0 && (c->listen[0] == '\0' || strrchr(c->listen, ':') == NULL))
    l.err = cg_why_set(why, CG_ECONFIG, "%s: [server] listen must be HOST:PORT", path);
  if (l.err == 0 && (c->header_timeout_ms == 0 || c->body_timeout_ms == 0 ||
                     c->idle_timeout_ms == 0 || c->write_timeout_ms == 0))
    l.err = cg_why_set(why, CG_ECONFIG, "%s: [server] timeouts must be at least 1 ms", path);
  if (l.err == 0 && (c->max_header_bytes < 256 || c->max_headers < 4 || c->access_log_sample == 0))
    l.err = cg_why_set(why, CG_ECONFIG,
                       "%s: [server] max_header_bytes >= 256, max_headers >= 4 and "
                       "access_log_sample >= 1",
                       path);
  if (l.err == 0 && c->send_buffer != 0 &&
      (c->send_buffer < 4096 || c->send_buffer > (64u << 20)))
    l.err = cg_why_set(why, CG_ECONFIG,
                       "%s: [server] send_buffer must be 0 (the kernel's) or 4K to 64M", path);
  if (l.err == 0 && c->max_readers < 8)
    l.err = cg_why_set(why, CG_ECONFIG, "%s: [store] max_readers must be at least 8", path);
  if (l.err == 0 && c->map_size < (1u << 20))
    l.err = cg_why_set(why, CG_ECONFIG, "%s: [store] map_size must be at least 1M", path);
  for (int i = 0; l.err == 0 && i < c->ntiers; i++) {
    const cg_tier_t *t = &c->tiers[i];
    if (t->naddrs == 0)
      l.err = cg_why_set(why, CG_ECONFIG, "%s: [upstream %s] needs a url", path, t->name);
    else if (t->connect_timeout_ms > t->timeout_ms)
      l.err = cg_why_set(why, CG_ECONFIG, "%s: [upstream %s] connect_timeout exceeds timeout",
                         path, t->name);
    for (int j = 0; l.err == 0 && j < t->naddrs; j++)
      if (t->addrs[j].tls && t->ca_file[0] == '\0')
        l.err = cg_why_set(why, CG_ECONFIG, "%s: [upstream %s] https needs ca_file", path,
                           t->name);
  }
  if (l.err == 0 && (c->up_deadline_ms == 0 || c->up_breaker_failures == 0))
    l.err = cg_why_set(why, CG_ECONFIG,
                       "%s: [upstream] deadline and breaker_failures must be at least 1", path);
  if (l.err != 0) {
    free(c);
    return l.err;
  }
  for (int i = 0; i < c->nscopes; i++)
    cg_view_scope_prepare(&c->scopes[i]);
  *out = c;
  return 0;
}

void cg_config_free(cg_config_t *c) { free(c); }

const cg_scope_t *cg_config_scope(const cg_config_t *c, const char *name) {
  for (int i = 0; i < c->nscopes; i++)
    if (!strcmp(c->scopes[i].name, name))
      return &c->scopes[i];
  return NULL;
}
