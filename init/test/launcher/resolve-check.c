/* Checks lk-run's own path walk (resolve.c, used where openat2 is missing or
 * something must be created) against the kernel's openat2(RESOLVE_IN_ROOT):
 *   resolve-check ROOT PATH...   prints "PATH kernel=<result> walk=<result>" per path,
 * a result being the inode reached or the errno name. Built by resolve.test.ts
 * with resolve.c included whole, so its static functions are reachable. */
#include "../../../lk-run/resolve.c"

#include <stdio.h>

static void describe(int fd, char *out, size_t size)
{
	struct stat st;

	if (fd < 0)
		snprintf(out, size, "%s", strerror(errno));
	else if (fstat(fd, &st) < 0)
		snprintf(out, size, "fstat:%s", strerror(errno));
	else
		snprintf(out, size, "%llu", (unsigned long long)st.st_ino);
	if (fd >= 0)
		close(fd);
}

int main(int argc, char **argv)
{
	int root = open(argc > 1 ? argv[1] : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (argc < 3 || root < 0) {
		fputs("usage: resolve-check ROOT PATH...\n", stderr);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		char kernel[64], walk[64];
		describe(open_in_root_kernel(root, argv[i]), kernel, sizeof kernel);
		describe(open_in_root_walk(root, argv[i], RESOLVE_LOOKUP), walk, sizeof walk);
		printf("%s kernel=%s walk=%s\n", argv[i], kernel, walk);
	}
	return 0;
}
