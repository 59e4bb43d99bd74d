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

struct load {
  cg_config_t *c;
  FILE *f;
  int line; /* counted by reader(): Debian's inih passes no line number */
  uint32_t seen; /* directives already given, one bit each */
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
};
_Static_assert(sizeof directives / sizeof *directives <= 32, "one bit each in load.seen");

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

static int scope_key(struct load *l, cg_scope_t *s, const char *key, const char *v, int line) {
  int b;
  if (!strcmp(key, "types")) {
    if (set_list(v, s->types[0], sizeof s->types[0], &s->ntypes, &s->all_types) != 0)
      return fail(l, line, "scope %s: bad types list", s->name);
    for (int i = 0; i < s->ntypes; i++)
      if (strlen(s->types[i]) != 21)
        return fail(l, line, "scope %s: type code \"%s\" is not 21 characters", s->name,
                    s->types[i]);
    return 1;
  }
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
  for (size_t i = 0; i < sizeof directives / sizeof *directives; i++) {
    unsigned long long u;
    char *field;
    if (strcmp(directives[i].section, section) || strcmp(directives[i].key, key))
      continue;
    /* inih hands an indented line on as the same key again: for a single
     * value that is a mistake (or a second assignment), never a list. */
    if (l->seen & (1u << i))
      return fail(l, line, "%s is given twice (or continued on an indented line)", key);
    l->seen |= 1u << i;
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
  if (l.err == 0 && c->max_readers < 8)
    l.err = cg_why_set(why, CG_ECONFIG, "%s: [store] max_readers must be at least 8", path);
  if (l.err == 0 && c->map_size < (1u << 20))
    l.err = cg_why_set(why, CG_ECONFIG, "%s: [store] map_size must be at least 1M", path);
  if (l.err != 0) {
    free(c);
    return l.err;
  }
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
