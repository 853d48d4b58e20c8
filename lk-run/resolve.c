#include "resolve.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#define LK_RESOLVE_NO_MAGICLINKS 0x02
#define LK_RESOLVE_IN_ROOT 0x10
#define MAX_SYMLINKS 40
#define MAX_DEPTH (PATH_MAX / 2)

struct open_how_lk {
	uint64_t flags, mode, resolve;
};

struct fd_path fd_path(int fd)
{
	static int have_proc = -1;
	struct fd_path p;

	if (have_proc < 0)
		have_proc = access("/proc/self/fd", X_OK) == 0;
	snprintf(p.path, sizeof p.path, "/proc/self/fd/%d", fd);
	/* A failed fchdir leaves the /proc name, which then fails with ENOENT. */
	if (!have_proc && fchdir(fd) == 0)
		snprintf(p.path, sizeof p.path, ".");
	return p;
}

/* The kernel's resolution: -1 with errno on any failure. */
static int open_in_root_kernel(int root_fd, const char *path)
{
	struct open_how_lk how = { O_PATH | O_CLOEXEC, 0,
				   LK_RESOLVE_IN_ROOT | LK_RESOLVE_NO_MAGICLINKS };

	return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof how);
}

static int create_missing(int dir, const char *name, enum resolve_mode mode, int last)
{
	int fd;

	if (!last || mode == RESOLVE_MKDIR)
		return mkdirat(dir, name, 0755) < 0 && errno != EEXIST ? -1 : 0;
	fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno == EEXIST ? 0 : -1;
	close(fd);
	return 0;
}

struct walk {
	int fds[MAX_DEPTH]; /* fds[0] is the root, fds[depth] the current directory */
	int depth;
	char rest[PATH_MAX]; /* what is left to resolve */
};

static void walk_up_to(struct walk *w, int depth)
{
	while (w->depth > depth)
		close(w->fds[w->depth--]);
}

/* Replaces the symlink just reached by its target followed by the rest; an
 * absolute target starts again from the root. */
static int follow_link(struct walk *w, int link_fd, const char *after)
{
	char target[PATH_MAX], next[PATH_MAX];
	ssize_t len = readlinkat(link_fd, "", target, sizeof target - 1);

	if (len < 0)
		return -1;
	target[len] = '\0';
	if (snprintf(next, sizeof next, "%s/%s", target, after) >= (int)sizeof next) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(w->rest, next, strlen(next) + 1);
	if (target[0] == '/')
		walk_up_to(w, 0);
	return 0;
}

/* One component at a time, never following a symlink in the kernel: each
 * link's text is resolved again from the walk's own root. */
static int walk_in_root(struct walk *w, enum resolve_mode mode)
{
	const char *p = w->rest;
	int links = 0;

	for (;;) {
		char comp[NAME_MAX + 1];
		struct stat st;
		size_t n;
		int fd, last;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n == 0)
			return 0;
		if (n > NAME_MAX) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		p += n;
		while (*p == '/')
			p++;
		last = *p == '\0';
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			walk_up_to(w, w->depth > 0 ? w->depth - 1 : 0);
			continue;
		}
		fd = openat(w->fds[w->depth], comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && mode != RESOLVE_LOOKUP) {
			if (create_missing(w->fds[w->depth], comp, mode, last) < 0)
				return -1;
			fd = openat(w->fds[w->depth], comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0)
			return -1;
		if (fstat(fd, &st) < 0)
			goto fail_fd;
		if (S_ISLNK(st.st_mode)) {
			if (++links > MAX_SYMLINKS) {
				errno = ELOOP;
				goto fail_fd;
			}
			if (follow_link(w, fd, p) < 0)
				goto fail_fd;
			close(fd);
			p = w->rest;
			continue;
		}
		if (!last && !S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			goto fail_fd;
		}
		if (w->depth + 1 >= MAX_DEPTH) {
			errno = ENAMETOOLONG;
			goto fail_fd;
		}
		w->fds[++w->depth] = fd;
		continue;
	fail_fd:
		close(fd);
		return -1;
	}
}

static int open_in_root_walk(int root_fd, const char *path, enum resolve_mode mode)
{
	static struct walk w; /* large; lk-run is single-threaded */
	int fd, saved;

	w.depth = 0;
	if (snprintf(w.rest, sizeof w.rest, "%s", path) >= (int)sizeof w.rest) {
		errno = ENAMETOOLONG;
		return -1;
	}
	w.fds[0] = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
	if (w.fds[0] < 0)
		return -1;
	if (walk_in_root(&w, mode) < 0) {
		saved = errno;
		walk_up_to(&w, 0);
		close(w.fds[0]);
		errno = saved;
		return -1;
	}
	fd = w.fds[w.depth];
	w.fds[w.depth] = -1;
	if (w.depth == 0)
		return fd;
	w.depth--;
	walk_up_to(&w, 0);
	close(w.fds[0]);
	return fd;
}

int root_open(int root_fd, const char *path, enum resolve_mode mode, const char *step)
{
	int fd = open_in_root_kernel(root_fd, path);

	if (fd >= 0)
		return fd;
	/* ENOSYS/E2BIG: no openat2 (before 5.6); EAGAIN/EXDEV: a rename raced it;
	 * ENOENT: there is something to create. */
	if (errno == ENOSYS || errno == E2BIG || errno == EAGAIN || errno == EXDEV ||
	    (errno == ENOENT && mode != RESOLVE_LOOKUP))
		fd = open_in_root_walk(root_fd, path, mode);
	if (fd < 0)
		return fail_errno(step, path);
	return fd;
}

int root_open_parent(int root_fd, const char *path, char name[NAME_MAX + 1], const char *step)
{
	char parent[PATH_MAX];
	size_t len = strlen(path), start;

	while (len > 1 && path[len - 1] == '/')
		len--;
	start = len;
	while (start > 0 && path[start - 1] != '/')
		start--;
	if (len >= sizeof parent || len - start > NAME_MAX) {
		errno = ENAMETOOLONG;
		return fail_errno(step, path);
	}
	memcpy(name, path + start, len - start);
	name[len - start] = '\0';
	if (!name[0] || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return fail(step, "%s: does not name a file", path);
	memcpy(parent, path, start);
	parent[start] = '\0';
	return root_open(root_fd, start ? parent : ".", RESOLVE_MKDIR, step);
}
