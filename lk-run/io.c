#include "io.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Reads until end of file rather than trusting st_size: a file may change
 * size between fstat and read, and st_size of 0 says nothing for some files. */
char *read_whole_fd(const char *step, const char *name, int fd, size_t max, size_t *len)
{
	struct stat st;
	size_t cap, n = 0;
	char *buf;

	if (fstat(fd, &st) < 0) {
		fail_errno(step, name);
		return NULL;
	}
	cap = st.st_size > 0 && (size_t)st.st_size <= max ? (size_t)st.st_size + 1 : 4096;
	buf = xmalloc(cap);
	for (;;) {
		ssize_t r;

		if (n + 1 == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		if (r == 0) {
			buf[n] = '\0';
			*len = n;
			return buf;
		}
		n += (size_t)r;
		if (n > max) {
			errno = EFBIG;
			break;
		}
	}
	fail_errno(step, name);
	xfree(buf);
	return NULL;
}

char *read_whole_file(const char *step, const char *path, size_t max, size_t *len)
{
	int fd AUTO_FD = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fail_errno(step, path);
		return NULL;
	}
	return read_whole_fd(step, path, fd, max, len);
}

int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

static int unix_socket(const char *step, const char *path, int listening)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd AUTO_FD = -1, r;

	if (strlen(path) >= sizeof addr.sun_path) {
		errno = ENAMETOOLONG;
		return fail_errno(step, path);
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(step, "socket: %s", strerror(errno));
	if (listening)
		r = bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 ? -1 : listen(fd, 1);
	else
		r = connect(fd, (struct sockaddr *)&addr, sizeof addr);
	if (r < 0)
		return fail_errno(step, path);
	r = fd;
	fd = -1;
	return r;
}

int unix_connect(const char *step, const char *path)
{
	return unix_socket(step, path, 0);
}

int unix_listen(const char *step, const char *path)
{
	return unix_socket(step, path, 1);
}
