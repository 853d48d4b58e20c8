#include "err.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char lk_err[LK_ERR_MAX];

int fail(const char *step, const char *fmt, ...)
{
	int n = snprintf(lk_err, sizeof lk_err, "%s: ", step);
	va_list ap;

	if (n < 0 || (size_t)n >= sizeof lk_err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(lk_err + n, sizeof lk_err - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

int fail_errno(const char *step, const char *path)
{
	return fail(step, "%s: %s", path, strerror(errno));
}

static void out_of_memory(void)
{
	static const char msg[] = "lk-run: memory: out of memory\n";

	(void)!write(2, msg, sizeof msg - 1);
	_exit(LK_EXIT_SETUP);
}

#ifdef LK_FUZZ
/* The fuzz target parses many configs in one process: every allocation is
 * linked into one list so lk_arena_free can release them all between runs. */
struct block {
	struct block *prev, *next;
	max_align_t data[];
};

static struct block arena = { &arena, &arena };

static void *track(struct block *b)
{
	if (!b)
		out_of_memory();
	b->next = arena.next;
	b->prev = &arena;
	arena.next->prev = b;
	arena.next = b;
	return b->data;
}

static struct block *untrack(void *p)
{
	struct block *b = (struct block *)((char *)p - offsetof(struct block, data));

	b->prev->next = b->next;
	b->next->prev = b->prev;
	return b;
}

void *xmalloc(size_t size)
{
	return track(malloc(sizeof(struct block) + size));
}

void *xcalloc(size_t count, size_t size)
{
	if (size && count > (SIZE_MAX - sizeof(struct block)) / size)
		out_of_memory();
	return track(calloc(1, sizeof(struct block) + count * size));
}

void *xrealloc(void *ptr, size_t size)
{
	return track(realloc(ptr ? untrack(ptr) : NULL, sizeof(struct block) + size));
}

void xfree(void *ptr)
{
	if (ptr)
		free(untrack(ptr));
}

void lk_arena_free(void)
{
	while (arena.next != &arena)
		free(untrack(arena.next->data));
}
#else
void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		out_of_memory();
	return p;
}

void *xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);

	if (!p)
		out_of_memory();
	return p;
}

void *xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (!p)
		out_of_memory();
	return p;
}

void xfree(void *ptr)
{
	free(ptr);
}
#endif

char *xstrdup(const char *s)
{
	size_t len = strlen(s) + 1;

	return memcpy(xmalloc(len), s, len);
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	int n;
	char *s;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		out_of_memory();
	s = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}
