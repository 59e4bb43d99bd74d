/* error.c — messages, API names and HTTP statuses of the CG_E… codes. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>

struct entry {
  const char *name;
  int status;
  const char *msg;
};

static const struct entry table[] = {
#define CG__XX(s, name, status, msg) [CG_##s - CG__ERRNO_BASE - 1] = {name, status, msg},
    CG_ERRNO_MAP(CG__XX)
#undef CG__XX
};

static const struct entry *lookup(int err) {
  if (err <= CG__ERRNO_BASE || err >= CG__ERRNO_END)
    return NULL;
  return &table[err - CG__ERRNO_BASE - 1];
}

const char *cg_strerror(int err) {
  const struct entry *e = lookup(err);
  if (err == 0)
    return "success";
  return e ? e->msg : "unknown error";
}

const char *cg_err_name(int err) {
  const struct entry *e = lookup(err);
  if (err == 0)
    return "ok";
  return e ? e->name : "internal_error";
}

int cg_err_status(int err) {
  const struct entry *e = lookup(err);
  if (err == 0)
    return 200;
  return e ? e->status : 500;
}

int cg_why_set(cg_why_t *why, int err, const char *fmt, ...) {
  if (why != NULL) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why->text, sizeof why->text, fmt, ap);
    va_end(ap);
  }
  return err;
}
