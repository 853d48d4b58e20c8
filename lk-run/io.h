/* Whole-file reads and writes shared by the config and the state files. */
#ifndef LK_IO_H
#define LK_IO_H

#include <stddef.h>

/* Reads all of path (at most max bytes, else EFBIG) into a NUL-terminated
 * buffer; sets *len. NULL with lk_err "step: path: reason" on failure. */
char *read_whole_file(const char *step, const char *path, size_t max, size_t *len);

/* The same for an open descriptor (stdin: a pipe or a socket); name is for errors. */
char *read_whole_fd(const char *step, const char *name, int fd, size_t max, size_t *len);

/* Writes all len bytes, retrying short writes and EINTR; -1 with errno. */
int write_all(int fd, const char *buf, size_t len);

/* A SOCK_STREAM unix socket connected to, or listening on, path (close on
 * exec); -1 with lk_err "step: path: reason". */
int unix_connect(const char *step, const char *path);
int unix_listen(const char *step, const char *path);

#endif
