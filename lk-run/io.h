/* Whole-file reads and writes shared by the config and the state files. */
#ifndef LK_IO_H
#define LK_IO_H

#include <stddef.h>

/* Reads all of path (at most max bytes, else EFBIG) into a NUL-terminated
 * buffer; sets *len. NULL with lk_err "step: path: reason" on failure. */
char *read_whole_file(const char *step, const char *path, size_t max, size_t *len);

/* Marks every descriptor from first up close-on-exec (close_range, or a
 * walk of /proc/self/fd before Linux 5.11). */
int cloexec_fds_from(unsigned first);

/* Writes all len bytes, retrying short writes and EINTR; -1 with errno. */
int write_all(int fd, const char *buf, size_t len);

#endif
