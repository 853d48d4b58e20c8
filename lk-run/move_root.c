/* The MS_MOVE + chroot fallback, for a launcher whose root cannot be pivoted
 * away (an initramfs, or a chroot that is no mount point). The old root stays
 * attached under the container's root, so before the move everything else is
 * detached, and the mounts that hold the rootfs (which cannot go) are made
 * read-only, nosuid, nodev and noexec in this mount namespace: a container
 * that climbs out with chroot finds no host mounts and cannot change the host.
 * When any of that fails, the container is refused. */
#include "err.h"
#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define LOCKED_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME)

/* path is dir or below it. */
static int is_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return 1;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

struct mount_points {
	char **paths;
	size_t count;
};

/* Mount points as this process sees them, parents before children. */
static int read_mount_points(struct mount_points *mp)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4 * PATH_MAX];

	mp->paths = NULL;
	mp->count = 0;
	if (!f)
		return fail("pivot",
			    "cannot detach the host's mounts without /proc/self/mountinfo: %s",
			    strerror(errno));
	while (fgets(line, sizeof line, f)) {
		char point[PATH_MAX];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1)
			continue;
		unescape(point);
		mp->paths = xrealloc(mp->paths, (mp->count + 1) * sizeof *mp->paths);
		mp->paths[mp->count++] = xstrdup(point);
	}
	fclose(f);
	return 0;
}

/* Every mount that neither holds the rootfs nor is part of it, deepest first. */
static int detach_others(const struct mount_points *mp, const char *rootfs)
{
	for (size_t i = mp->count; i-- > 0;) {
		const char *p = mp->paths[i];
		if (is_under(p, rootfs) || is_under(rootfs, p))
			continue;
		/* Never unmount the host's copy through shared propagation. */
		if (mount(NULL, p, NULL, MS_SLAVE | MS_REC, NULL) < 0 && errno != EINVAL &&
		    errno != ENOENT)
			return fail("pivot", "detach %s: %s", p, strerror(errno));
		/* EINVAL: already gone with a parent detached before it. */
		if (umount2(p, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
			return fail("pivot", "detach %s: %s", p, strerror(errno));
	}
	return 0;
}

static int lock_down(const char *dir)
{
	struct statvfs st;
	unsigned long keep = statvfs(dir, &st) == 0 ? st.f_flag & LOCKED_FLAGS : 0;

	if (mount(NULL, dir, NULL,
		  MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | keep,
		  NULL) < 0)
		return fail("pivot", "make %s read-only: %s", dir, strerror(errno));
	return 0;
}

/* The mounts on the way to the rootfs: each directory from "/" to parent is
 * remounted, which reaches the topmost mount there. */
static int lock_down_ancestors(const char *parent)
{
	char dir[PATH_MAX];

	if (lock_down("/") < 0)
		return -1;
	for (const char *p = parent + 1; *p; p++) {
		if (p[1] != '/' && p[1] != '\0')
			continue;
		snprintf(dir, sizeof dir, "%.*s", (int)(p - parent + 1), parent);
		if (lock_down(dir) < 0)
			return -1;
	}
	return 0;
}

/* Leaves the launcher's own chroot (the container is about to leave it
 * anyway): root at the namespace's root, where every mount can be seen and
 * pivot_root works unless that root is the initramfs. rootfs becomes the
 * rootfs's path from there. */
static int leave_chroot(const char *rootfs_in_chroot, char rootfs[PATH_MAX])
{
	int fd AUTO_FD = open(rootfs_in_chroot, O_PATH | O_DIRECTORY | O_CLOEXEC);
	char link[64];
	ssize_t n;

	if (fd < 0)
		return fail_errno("pivot", rootfs_in_chroot);
	/* A root below the working directory: ".." then climbs to the top. */
	if (chdir("/") < 0 || chroot(rootfs_in_chroot) < 0)
		return fail_errno("pivot", rootfs_in_chroot);
	for (int i = 0; i < PATH_MAX / 2; i++)
		if (chdir("..") < 0)
			return fail_errno("pivot", "..");
	if (chroot(".") < 0 || chdir("/") < 0)
		return fail_errno("pivot", "/");
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, rootfs, PATH_MAX - 1);
	if (n < 0)
		return fail("pivot", "cannot detach the host's mounts without /proc: %s",
			    strerror(errno));
	rootfs[n] = '\0';
	return 0;
}

int rootfs_move_root(const struct spec *s)
{
	char rootfs[PATH_MAX], parent[PATH_MAX];
	struct mount_points mp;
	char *slash;
	int r;

	if (leave_chroot(s->rootfs, rootfs) < 0)
		return -1;
	r = rootfs_pivot_at(rootfs);
	if (r <= 0)
		return r;
	/* The rootfs is a mount itself (rootfs_prepare binds it): lock what is
	 * above it, never the rootfs. */
	snprintf(parent, sizeof parent, "%s", rootfs);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	else
		snprintf(parent, sizeof parent, "/");
	if (read_mount_points(&mp) < 0 || detach_others(&mp, rootfs) < 0 ||
	    lock_down_ancestors(parent) < 0)
		return -1;
	if (chdir(rootfs) < 0)
		return fail_errno("pivot", rootfs);
	if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0)
		return fail("pivot", "%s: move onto /: %s", rootfs, strerror(errno));
	if (chroot(".") < 0)
		return fail_errno("chroot", rootfs);
	if (chdir("/") < 0)
		return fail_errno("chroot", "/");
	return 0;
}
