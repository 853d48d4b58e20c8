/* Attacks the lk-run tests make from inside a container, as a static binary:
 *   attack socket FAMILY   socket(FAMILY, SOCK_STREAM, 0) with a 64-bit family; prints errno=N
 *   attack x32             getpid through the x32 syscall numbers; prints its result */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	fputs("usage: attack socket FAMILY | x32\n", stderr);
	return 2;
}
