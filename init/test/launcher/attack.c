/* Attacks the lk-run tests make from inside a container, as a static binary:
 *   attack socket FAMILY   socket(FAMILY, SOCK_STREAM, 0) with a 64-bit family; prints errno=N
 *   attack x32             getpid through the x32 syscall numbers; prints its result
 *   attack escape FILE DIR the classic chroot escape (needs CAP_SYS_CHROOT), then reports
 *                          whether FILE can be read and DIR/pwned created out there */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long r;

	if (argc == 3 && strcmp(argv[1], "socket") == 0) {
		r = syscall(SYS_socket, strtoull(argv[2], NULL, 0), 1 /* SOCK_STREAM */, 0);
		printf("errno=%d\n", r < 0 ? errno : 0);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "x32") == 0) {
		r = syscall(0x40000000L | SYS_getpid);
		printf("x32=%ld errno=%d\n", r, r < 0 ? errno : 0);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "escape") == 0) {
		char path[4096];
		int fd;
		/* A root below the working directory: ".." is then never the root. */
		mkdir("/escape-x", 0755);
		if (chroot("/escape-x") < 0) {
			perror("chroot");
			return 1;
		}
		for (int i = 0; i < 256; i++)
			(void)!chdir("..");
		(void)!chroot(".");
		puts(access(argv[2], R_OK) == 0 ? "sees-host-mount" : "no-host-mount");
		snprintf(path, sizeof path, "%s/pwned", argv[3]);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		puts(fd >= 0 ? "wrote" : "write-refused");
		return 0;
	}
	fputs("usage: attack socket FAMILY | x32 | escape FILE DIR\n", stderr);
	return 2;
}
