/* json.h — cJSON's memory: a per-thread arena for short-lived documents.
 *
 * cJSON allocates every node and string with malloc; parsing a certificate
 * costs some ninety allocations and as many frees. A thread that parses many
 * documents one after another (the import parsers) enters an arena: cJSON's
 * allocations then come from one block and cost a pointer bump, and the
 * whole document is dropped at once with cg_json_arena_reset. Threads that
 * never enter an arena, and allocations that do not fit, use malloc as
 * before. cJSON's hooks are process-wide, so cg_json_init installs them once
 * for everyone.
 */
#ifndef CG_JSON_H
#define CG_JSON_H

#include <stddef.h>

typedef struct cg_json_arena cg_json_arena_t;

/* Installs the hooks (idempotent, thread-safe). Call before any cJSON use
 * that may overlap an arena's. */
void cg_json_init(void);

/* A block of size bytes. Returns NULL when out of memory. */
cg_json_arena_t *cg_json_arena_new(size_t size);
void cg_json_arena_free(cg_json_arena_t *a);

/* From now on cJSON allocations of this thread come from a (NULL: malloc). */
void cg_json_arena_enter(cg_json_arena_t *a);

/* Forgets everything allocated from a: every cJSON value made from it must
 * be out of use. Values that spilled to malloc must have been deleted with
 * cJSON_Delete, which is safe to call on arena values too. */
void cg_json_arena_reset(cg_json_arena_t *a);

/* cJSON_Delete(v), unless all of this thread's arena allocations since its
 * last reset fit in it and v is one of them: the reset drops it then, and
 * the walk over every node and string is saved. */
struct cJSON;
void cg_json_delete(struct cJSON *v);

#endif
