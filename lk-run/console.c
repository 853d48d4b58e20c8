#include "console.h"
#include "err.h"
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int console_connect(const char *path)
{
	return unix_connect("console-socket", path);
}

/* The master's fd in an SCM_RIGHTS message, the slave's name as its data. */
static int send_master(int sock_fd, int master, const char *name)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { (void *)name, strlen(name) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;

	memset(&control, 0, sizeof control);
	msg.msg_control = control.buf;
	msg.msg_controllen = sizeof control.buf;
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &master, sizeof(int));
	while (sendmsg(sock_fd, &msg, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return fail("console-socket", "send the pty master: %s", strerror(errno));
	return 0;
}

/* /dev/console becomes a bind mount of the slave. The target is opened
 * without following a link and the mount goes onto that fd. */
static int bind_dev_console(int slave)
{
	char source[32], target[32];
	struct stat st;
	int fd AUTO_FD = -1;

	if (lstat("/dev/console", &st) < 0) {
		int made AUTO_FD = open("/dev/console",
					O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (made < 0)
			return fail_errno("console", "/dev/console");
	}
	fd = open("/dev/console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return fail_errno("console", "/dev/console");
	if (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode))
		return fail("console", "/dev/console: not a file or device");
	snprintf(source, sizeof source, "/proc/self/fd/%d", slave);
	snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
	if (mount(source, target, NULL, MS_BIND, NULL) < 0)
		return fail("console", "bind the pty onto /dev/console: %s", strerror(errno));
	return 0;
}

static int open_pty(const struct spec *s, int *slave, char *name, size_t name_size)
{
	int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	unsigned number;
	int unlock = 0;

	if (master < 0)
		master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return fail_errno("console", "/dev/ptmx");
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &number) < 0) {
		fail("console", "unlock the pty: %s", strerror(errno));
		close(master);
		return -1;
	}
	snprintf(name, name_size, "/dev/pts/%u", number);
	/* The peer through the master, not a path lookup that could be raced. */
	*slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (*slave < 0)
		*slave = open(name, O_RDWR | O_NOCTTY);
	if (*slave < 0) {
		fail_errno("console", name);
		close(master);
		return -1;
	}
	if (s->console_rows || s->console_cols) {
		struct winsize size = { .ws_row = s->console_rows, .ws_col = s->console_cols };
		if (ioctl(master, TIOCSWINSZ, &size) < 0) {
			fail("console", "consoleSize: %s", strerror(errno));
			close(*slave);
			close(master);
			return -1;
		}
	}
	return master;
}

int console_setup(const struct spec *s, int sock_fd, int bind_console)
{
	char name[32];
	int slave AUTO_FD = -1, master AUTO_FD = -1, sock AUTO_FD = sock_fd;

	master = open_pty(s, &slave, name, sizeof name);
	if (master < 0)
		return -1;
	/* The process's own terminal, whatever user it becomes. */
	if (fchown(slave, s->uid, (gid_t)-1) < 0)
		return fail_errno("console", name);
	if (bind_console && bind_dev_console(slave) < 0)
		return -1;
	if (send_master(sock, master, name) < 0)
		return -1;
	if (setsid() < 0 && errno != EPERM)
		return fail("console", "setsid: %s", strerror(errno));
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return fail("console", "controlling terminal: %s", strerror(errno));
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			return fail("console", "stdio: %s", strerror(errno));
	if (slave < 3)
		slave = -1;
	return 0;
}
