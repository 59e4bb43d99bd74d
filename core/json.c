/* json.c — the cJSON arena (see json.h). */
#include "core/json.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

struct cg_json_arena {
  char *base;
  size_t size, used;
  size_t spilled; /* allocations since the reset that went to malloc */
};

static _Thread_local cg_json_arena_t *current;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void *arena_malloc(size_t n) {
  cg_json_arena_t *a = current;
  if (a != NULL) {
    size_t need = (n + 15) & ~(size_t)15;
    if (need >= n && need <= a->size - a->used) {
      void *p = a->base + a->used;
      a->used += need;
      return p;
    }
    a->spilled++;
  }
  return malloc(n);
}

/* A pointer from any thread's arena must not reach free(). Only the thread
 * that entered an arena allocates from it, and cJSON values do not move
 * between threads here, so checking this thread's arena is enough. */
static void arena_free(void *p) {
  cg_json_arena_t *a = current;
  if (a != NULL && (char *)p >= a->base && (char *)p < a->base + a->size)
    return;
  free(p);
}

static void install(void) {
  cJSON_Hooks hooks = {.malloc_fn = arena_malloc, .free_fn = arena_free};
  cJSON_InitHooks(&hooks);
}

void cg_json_init(void) { pthread_once(&once, install); }

cg_json_arena_t *cg_json_arena_new(size_t size) {
  cg_json_arena_t *a = calloc(1, sizeof *a);
  if (a == NULL || (a->base = malloc(size)) == NULL) {
    free(a);
    return NULL;
  }
  a->size = size;
  cg_json_init();
  return a;
}

void cg_json_arena_free(cg_json_arena_t *a) {
  if (a == NULL)
    return;
  if (current == a)
    current = NULL;
  free(a->base);
  free(a);
}

void cg_json_arena_enter(cg_json_arena_t *a) { current = a; }

void cg_json_arena_reset(cg_json_arena_t *a) { a->used = a->spilled = 0; }

void cg_json_delete(cJSON *v) {
  cg_json_arena_t *a = current;
  if (v == NULL)
    return;
  if (a != NULL && a->spilled == 0 && (char *)v >= a->base && (char *)v < a->base + a->used)
    return;
  cJSON_Delete(v);
}
