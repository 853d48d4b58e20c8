/* Test helper: the --console-socket end, as containerd's shim is. Listens on
 * argv[1], receives one fd by SCM_RIGHTS, prints "winsize ROWS COLS" (from
 * the fd) and "tty" when it is a terminal, then copies what the container
 * writes to it to stdout until the other side closes.
 * With argv[2] "hold" the listen queue is kept full (a connection of its own)
 * until stdin closes: a caller's connect blocks meanwhile. */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char name[256], cbuf[CMSG_SPACE(sizeof(int))], buf[4096];
	struct iovec iov = { name, sizeof name - 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf
	};
	struct cmsghdr *cmsg;
	struct winsize ws;
	int srv, conn, fd;
	ssize_t n;

	int hold = argc == 3 && strcmp(argv[2], "hold") == 0;

	if ((argc != 2 && !hold) || strlen(argv[1]) >= sizeof addr.sun_path)
		return 2;
	strcpy(addr.sun_path, argv[1]);
	srv = socket(AF_UNIX, SOCK_STREAM, 0);
	if (srv < 0 || bind(srv, (struct sockaddr *)&addr, sizeof addr) < 0 ||
	    listen(srv, hold ? 0 : 1) < 0)
		return perror("listen"), 1;
	if (hold) {
		int own = socket(AF_UNIX, SOCK_STREAM, 0);
		if (own < 0 || connect(own, (struct sockaddr *)&addr, sizeof addr) < 0)
			return perror("fill the queue"), 1;
	}
	printf("listening\n");
	fflush(stdout);
	if (hold) {
		while (read(0, buf, sizeof buf) > 0)
			;
		close(accept(srv, NULL, NULL));
	}
	conn = accept(srv, NULL, NULL);
	if (conn < 0 || (n = recvmsg(conn, &msg, 0)) < 0)
		return perror("recvmsg"), 1;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS)
		return fprintf(stderr, "no fd received\n"), 1;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
	if (isatty(fd))
		printf("tty\n");
	if (ioctl(fd, TIOCGWINSZ, &ws) == 0)
		printf("winsize %u %u\n", ws.ws_row, ws.ws_col);
	fflush(stdout);
	while ((n = read(fd, buf, sizeof buf)) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	return 0;
}
