/* One error idiom for all of lk-run: a failing step records "step: detail"
 * in a single buffer and returns -1; main prints "lk-run: <buffer>". */
#ifndef LK_ERR_H
#define LK_ERR_H

#include <errno.h>
#include <stddef.h>
#include <unistd.h>

#define LK_ERR_MAX 1024

extern char lk_err[LK_ERR_MAX];

/* Records "step: <formatted detail>"; returns -1. */
int fail(const char *step, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records "step: path: strerror(errno)"; returns -1. */
int fail_errno(const char *step, const char *path);

/* Allocation that cannot fail: the launcher is short-lived, so running out of
 * memory is reported and the process exits. */
void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
void xfree(void *ptr);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#ifdef LK_FUZZ
/* Frees everything allocated since the last call (fuzz builds only). */
void lk_arena_free(void);
#endif

/* `int fd AUTO_FD = open(...)`: closed when it goes out of scope, so an early
 * return never leaks it (errno is kept for the caller). */
static inline void close_fd(int *fd)
{
	int saved = errno;

	if (*fd >= 0)
		close(*fd);
	errno = saved;
}
#define AUTO_FD __attribute__((cleanup(close_fd)))

/* Exit status used when the launcher itself fails (as docker run does). */
#define LK_EXIT_SETUP 125

#endif
