/*
 * initramfs -> tmpfs: the kernel's rootfs cannot be pivot_root'ed away,
 * so containers could not pivot_root either. We move every file onto a
 * tmpfs (copy, then delete the original to keep peak memory low), move
 * that tmpfs over / and chroot into it, like switch_root(8). A verified
 * root (an overlay that already holds the node's tree) only deletes them.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lk.h"

/* Hard links already copied: (dev, ino) -> destination path. */
struct link_seen {
	dev_t dev;
	ino_t ino;
	char *dest;
};

struct mover {
	dev_t root_dev;
	int drop; /* delete the old root's files instead of moving them */
	struct link_seen *links;
	size_t nlinks;
};

static const char *find_link(struct mover *m, const struct stat *st)
{
	for (size_t i = 0; i < m->nlinks; i++)
		if (m->links[i].dev == st->st_dev && m->links[i].ino == st->st_ino)
			return m->links[i].dest;
	return NULL;
}

static void remember_link(struct mover *m, const struct stat *st, const char *dest)
{
	struct link_seen *grown = realloc(m->links, (m->nlinks + 1) * sizeof(*grown));
	char *copy = strdup(dest);
	if (!grown || !copy) {
		free(copy);
		if (grown)
			m->links = grown;
		return; /* only costs a duplicate copy later */
	}
	m->links = grown;
	m->links[m->nlinks].dev = st->st_dev;
	m->links[m->nlinks].ino = st->st_ino;
	m->links[m->nlinks].dest = copy;
	m->nlinks++;
}

/* Owner, mode (after chown, which clears setuid bits) and times. */
static int copy_metadata(const char *dst, const struct stat *st)
{
	struct timespec times[2] = { st->st_atim, st->st_mtim };
	if (lchown(dst, st->st_uid, st->st_gid) < 0)
		return lk_fail("lchown", dst);
	if (!S_ISLNK(st->st_mode) && chmod(dst, st->st_mode & 07777) < 0)
		return lk_fail("chmod", dst);
	if (utimensat(AT_FDCWD, dst, times, AT_SYMLINK_NOFOLLOW) < 0)
		return lk_fail("utimensat", dst);
	return 0;
}

static int copy_data(const char *src, const char *dst, mode_t mode)
{
	static char buf[1 << 16];
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return lk_fail("open", src);
	int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 0777);
	if (out < 0) {
		close(in);
		return lk_fail("create", dst);
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			lk_fail("read", src);
			goto error;
		}
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(out, buf + done, (size_t)(n - done));
			if (w < 0) {
				if (errno == EINTR)
					continue;
				lk_fail("write", dst);
				goto error;
			}
			done += w;
		}
	}
	close(in);
	if (close(out) < 0)
		return lk_fail("close", dst);
	return 0;
error:;
	int saved = errno;
	close(in);
	close(out);
	errno = saved;
	return -1;
}

static int move_entry(struct mover *m, const char *src, const char *dst);

static int move_dir_contents(struct mover *m, const char *src, const char *dst)
{
	DIR *dir = opendir(src);
	if (!dir)
		return lk_fail("opendir", src);
	struct dirent *e;
	char s[PATH_MAX], d[PATH_MAX];
	int rc = 0;
	while ((e = readdir(dir)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (snprintf(s, sizeof(s), "%s/%s", strcmp(src, "/") ? src : "", e->d_name) >=
			    (int)sizeof(s) ||
		    snprintf(d, sizeof(d), "%s/%s", dst, e->d_name) >= (int)sizeof(d)) {
			errno = ENAMETOOLONG;
			rc = lk_fail("path", e->d_name);
			break;
		}
		if ((rc = move_entry(m, s, d)) < 0)
			break;
	}
	closedir(dir);
	return rc;
}

static int move_entry(struct mover *m, const char *src, const char *dst)
{
	struct stat st;
	if (lstat(src, &st) < 0)
		return lk_fail("lstat", src);
	if (st.st_dev != m->root_dev)
		return 0; /* a mount point: not part of the initramfs */

	if (m->drop) {
		if (S_ISDIR(st.st_mode) && move_dir_contents(m, src, dst) < 0)
			return -1;
		S_ISDIR(st.st_mode) ? rmdir(src) : unlink(src); /* best effort: frees rootfs memory */
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		if (mkdir(dst, 0700) < 0 && errno != EEXIST)
			return lk_fail("mkdir", dst);
		if (move_dir_contents(m, src, dst) < 0)
			return -1;
		if (copy_metadata(dst, &st) < 0)
			return -1;
		rmdir(src); /* best effort: frees rootfs memory */
		return 0;
	}

	/* The last name of a hard-linked file has st_nlink 1 here: the names moved before it were
	 * unlinked from the rootfs. Its inode is still the remembered one, so look it up too. */
	const char *linked = st.st_nlink > 1 || m->nlinks > 0 ? find_link(m, &st) : NULL;
	if (linked) {
		if (link(linked, dst) < 0)
			return lk_fail("link", dst);
	} else if (S_ISREG(st.st_mode)) {
		if (copy_data(src, dst, st.st_mode) < 0 || copy_metadata(dst, &st) < 0)
			return -1;
	} else if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlink(src, target, sizeof(target) - 1);
		if (n < 0)
			return lk_fail("readlink", src);
		target[n] = '\0';
		if (symlink(target, dst) < 0)
			return lk_fail("symlink", dst);
		if (copy_metadata(dst, &st) < 0)
			return -1;
	} else {
		if (mknod(dst, st.st_mode, st.st_rdev) < 0)
			return lk_fail("mknod", dst);
		if (copy_metadata(dst, &st) < 0)
			return -1;
	}
	if (st.st_nlink > 1 && !linked)
		remember_link(m, &st, dst);
	unlink(src); /* best effort: frees rootfs memory */
	return 0;
}

int lk_switch_root(const char *newroot, int drop_old)
{
	struct mover m = { .drop = drop_old };
	struct stat root;
	int rc = -1;
	if (stat("/", &root) < 0) {
		lk_fail("stat", "/");
		goto out;
	}
	m.root_dev = root.st_dev;
	/* newroot is a separate mount, so move_entry skips it by device. */
	if (move_dir_contents(&m, "/", newroot) < 0)
		goto out;
	if (!drop_old && copy_metadata(newroot, &root) < 0)
		goto out;
	if (chdir(newroot) < 0) {
		lk_fail("chdir", newroot);
		goto out;
	}
	if (mount(newroot, "/", NULL, MS_MOVE, NULL) < 0) {
		lk_fail("move mount", newroot);
		goto out;
	}
	if (chroot(".") < 0) {
		lk_fail("chroot", newroot);
		goto out;
	}
	if (chdir("/") < 0) {
		lk_fail("chdir", "/");
		goto out;
	}
	rc = 0;
out:;
	int saved = errno;
	for (size_t i = 0; i < m.nlinks; i++)
		free(m.links[i].dest);
	free(m.links);
	errno = saved;
	return rc;
}
