/* Paths inside a container's root, opened so that no symlink, "..", or
 * missing component can lead outside it: openat2(RESOLVE_IN_ROOT) where the
 * kernel has it, a component-by-component walk with O_NOFOLLOW otherwise and
 * whenever something must be created. Every result is an O_PATH descriptor;
 * mounts go through its /proc/self/fd/N name, never through a path string. */
#ifndef LK_RESOLVE_H
#define LK_RESOLVE_H

#include <limits.h>

enum resolve_mode {
	RESOLVE_LOOKUP, /* the path must exist */
	RESOLVE_MKDIR, /* missing components become directories */
	RESOLVE_MKFILE, /* missing parents become directories, a missing last one an empty file */
};

/* An O_PATH fd for path resolved as if root_fd were "/"; -1 with lk_err
 * "step: path: reason" (errno kept). */
int root_open(int root_fd, const char *path, enum resolve_mode mode, const char *step);

/* The directory holding path's last component (created as needed) and that
 * component's name, which must not be "." or "..". */
int root_open_parent(int root_fd, const char *path, char name[NAME_MAX + 1], const char *step);

/* A name that mount(2) and friends follow to exactly fd: "/proc/self/fd/<fd>",
 * or, where the launcher sees no /proc (run chrooted), "." after fchdir(fd)
 * for a directory. */
struct fd_path {
	char path[32];
};
struct fd_path fd_path(int fd);

#endif
