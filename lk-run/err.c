#include "err.h"

#include <errno.h>
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
