#include "rootfs.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MAX_SYMLINKS 40

#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

/* Flags of an existing mount that a bind remount must keep: in a user
 * namespace the kernel refuses to clear them ("locked" flags). */
#define LOCKED_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME)

struct mount_attr_lk {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};

/* Resolves path inside root the way the container will see it: symlinks
 * are followed but never lead outside root. Missing tails are kept as is. */
static int resolve_in_root(const char *root, const char *path, char out[PATH_MAX])
{
	char rest[PATH_MAX], cur[PATH_MAX] = "", probe[PATH_MAX], link[PATH_MAX];
	const char *p;
	int links = 0, missing = 0;

	if (snprintf(rest, sizeof rest, "%s", path) >= (int)sizeof rest)
		goto too_long;
	p = rest;
	while (*p) {
		char comp[NAME_MAX + 1];
		size_t n;
		struct stat st;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n == 0)
			break;
		if (n > NAME_MAX)
			goto too_long;
		memcpy(comp, p, n);
		comp[n] = '\0';
		p += n;
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			char *slash = strrchr(cur, '/');
			if (slash)
				*slash = '\0';
			continue;
		}
		if (strlen(cur) + 1 + n >= sizeof cur)
			goto too_long;
		strcat(cur, "/");
		strcat(cur, comp);
		if (missing)
			continue;
		if (snprintf(probe, sizeof probe, "%s%s", root, cur) >= (int)sizeof probe)
			goto too_long;
		if (lstat(probe, &st) < 0) {
			if (errno != ENOENT)
				return fail_errno("resolve", probe);
			missing = 1;
			continue;
		}
		if (!S_ISLNK(st.st_mode))
			continue;
		if (++links > MAX_SYMLINKS) {
			errno = ELOOP;
			return fail_errno("resolve", probe);
		}
		ssize_t len = readlink(probe, link, sizeof link - 1);
		if (len < 0)
			return fail_errno("resolve", probe);
		link[len] = '\0';
		/* Drop the link itself; continue with its target followed by the rest. */
		*strrchr(cur, '/') = '\0';
		if (link[0] == '/')
			cur[0] = '\0';
		char next[PATH_MAX];
		if (snprintf(next, sizeof next, "%s/%s", link, p) >= (int)sizeof next)
			goto too_long;
		memcpy(rest, next, strlen(next) + 1);
		p = rest;
	}
	if (snprintf(out, PATH_MAX, "%s%s", root, cur[0] ? cur : "") >= PATH_MAX)
		goto too_long;
	return 0;
too_long:
	errno = ENAMETOOLONG;
	return fail_errno("resolve", path);
}

static int is_dir(const char *path)
{
	struct stat st;
	int saved = errno;
	int dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);

	errno = saved;
	return dir;
}

static int mkdir_all(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof buf) {
		errno = ENAMETOOLONG;
		return fail_errno("mkdir", path);
	}
	memcpy(buf, path, len + 1);
	for (char *s = buf + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char saved = *s;
		*s = '\0';
		/* An existing directory is fine even where we may not create one. */
		if (mkdir(buf, mode) < 0 && errno != EEXIST && !is_dir(buf))
			return fail_errno("mkdir", buf);
		*s = saved;
		if (!saved)
			break;
	}
	return 0;
}

static int parent_dir(const char *path, char out[PATH_MAX])
{
	char *slash;

	snprintf(out, PATH_MAX, "%s", path);
	slash = strrchr(out, '/');
	if (slash && slash != out)
		*slash = '\0';
	return 0;
}

/* Creates an empty file to bind a non-directory onto. */
static int ensure_file(const char *path)
{
	char dir[PATH_MAX];
	int fd;

	parent_dir(path, dir);
	if (mkdir_all(dir, 0755) < 0)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 && errno != EEXIST && errno != EISDIR)
		return fail_errno("mkdir", path);
	if (fd >= 0)
		close(fd);
	return 0;
}

static unsigned long current_locked_flags(const char *path)
{
	struct statvfs st;

	if (statvfs(path, &st) < 0)
		return 0;
	/* ST_* values equal the MS_* values for these bits. */
	return st.f_flag & LOCKED_FLAGS;
}

static int bind_remount(const char *step, const char *target, unsigned long flags,
			unsigned long clear)
{
	unsigned long keep = current_locked_flags(target) & ~clear;

	if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | keep | flags, NULL) < 0)
		return fail_errno(step, target);
	return 0;
}

/* data without the comma-separated options that start with prefix. */
static char *without_option(const char *data, const char *prefix)
{
	char *out = xmalloc(strlen(data) + 1), *o = out;

	for (const char *p = data; *p;) {
		size_t n = strcspn(p, ",");
		if (strncmp(p, prefix, strlen(prefix)) != 0) {
			if (o != out)
				*o++ = ',';
			memcpy(o, p, n);
			o += n;
		}
		p += n + (p[n] == ',');
	}
	*o = '\0';
	return out;
}

/* A read-only tmpfs (/dev of a read-only container, say) still needs the
 * directories, nodes and links created below it: it is mounted read-write
 * and made read-only at the end, as runc does. */
static int readonly_later(const struct mount_spec *m)
{
	return !m->bind && (m->flags & MS_RDONLY) && strcmp(m->type, "tmpfs") == 0;
}

static int mount_one(const struct spec *s, const struct mount_spec *m)
{
	char target[PATH_MAX];
	struct stat st;
	unsigned long extra;

	if (resolve_in_root(s->rootfs, m->destination, target) < 0)
		return -1;
	if (m->bind) {
		if (stat(m->source, &st) < 0)
			return fail_errno("mount", m->source);
		if (S_ISDIR(st.st_mode) ? mkdir_all(target, 0755) : ensure_file(target))
			return -1;
		if (mount(m->source, target, NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
			return fail("mount", "%s on %s: %s", m->source, m->destination,
				    strerror(errno));
		extra = m->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
		if (extra && bind_remount("mount", target, extra, m->clear) < 0)
			return -1;
	} else {
		const char *type = m->type;
		if (mkdir_all(target, 0755) < 0)
			return -1;
		/* v1 names mean the unified hierarchy on the cgroup2-only systems we boot. */
		if (strcmp(type, "cgroup") == 0)
			type = "cgroup2";
		if (mount(m->source, target, type,
			  m->flags & ~(readonly_later(m) ? MS_RDONLY : 0UL), m->data) < 0) {
			/* Without rights over the network namespace sysfs cannot be
			 * mounted; the host's is the next best view. */
			if (strcmp(type, "sysfs") == 0 && errno == EPERM &&
			    mount("/sys", target, NULL, MS_BIND | MS_REC, NULL) == 0)
				return bind_remount("mount", target, m->flags, 0);
			/* gid=5 (tty) may be unmapped in a user namespace. */
			if (strcmp(type, "devpts") == 0 && errno == EINVAL && m->data &&
			    mount(m->source, target, type, m->flags,
				  without_option(m->data, "gid=")) == 0)
				goto mounted;
			return fail("mount", "%s (%s) on %s: %s", m->source, type, m->destination,
				    strerror(errno));
		}
	}
mounted:
	if (m->propagation && mount(NULL, target, NULL, m->propagation, NULL) < 0)
		return fail("mount", "%s: propagation: %s", m->destination, strerror(errno));
	if (m->attr_set || m->attr_clear) {
		struct mount_attr_lk attr = { m->attr_set, m->attr_clear, 0, 0 };
		if (syscall(SYS_mount_setattr, AT_FDCWD, target, AT_RECURSIVE, &attr, sizeof attr) <
		    0)
			return fail("mount", "%s: recursive options: %s", m->destination,
				    strerror(errno));
	}
	return 0;
}

static const struct mount_spec *find_mount(const struct spec *s, const char *destination)
{
	const struct mount_spec *found = NULL;

	for (size_t i = 0; i < s->nmounts; i++)
		if (strcmp(s->mounts[i].destination, destination) == 0)
			found = &s->mounts[i];
	return found;
}

/* A device node, or a bind of the host's node where mknod is not allowed
 * (in a user namespace). */
static int make_device(const char *target, const char *host_path, mode_t type, mode_t mode,
		       unsigned major, unsigned minor, uid_t uid, gid_t gid, int replace)
{
	struct stat st;

	if (lstat(target, &st) == 0) {
		if (!replace)
			return 0;
		if (unlink(target) < 0)
			return fail_errno("device", target);
	}
	if (mknod(target, type | mode, makedev(major, minor)) == 0) {
		if (chown(target, uid, gid) < 0)
			return fail_errno("device", target);
		return 0;
	}
	if (errno == EEXIST && !replace)
		return 0;
	if (errno != EPERM)
		return fail_errno("device", target);
	if (ensure_file(target) < 0)
		return -1;
	if (mount(host_path, target, NULL, MS_BIND, NULL) < 0)
		return fail("device", "%s: bind %s: %s", target, host_path, strerror(errno));
	return 0;
}

struct default_device {
	const char *name;
	unsigned major, minor;
};

static const struct default_device default_devices[] = {
	{ "null", 1, 3 },   { "zero", 1, 5 },    { "full", 1, 7 },
	{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

static int create_devices(const struct spec *s)
{
	const struct mount_spec *dev = find_mount(s, "/dev");
	char target[PATH_MAX], host[PATH_MAX];

	/* A bind-mounted /dev brings its own nodes. */
	if (!(dev && dev->bind)) {
		if (resolve_in_root(s->rootfs, "/dev", target) < 0 || mkdir_all(target, 0755) < 0)
			return -1;
		for (size_t i = 0; i < sizeof default_devices / sizeof default_devices[0]; i++) {
			const struct default_device *d = &default_devices[i];
			snprintf(target, sizeof target, "%s/dev/%s", s->rootfs, d->name);
			snprintf(host, sizeof host, "/dev/%s", d->name);
			if (make_device(target, host, S_IFCHR, 0666, d->major, d->minor, 0, 0, 0) <
			    0)
				return -1;
		}
	}
	for (size_t i = 0; i < s->ndevices; i++) {
		const struct device_spec *d = &s->devices[i];
		char dir[PATH_MAX];
		if (resolve_in_root(s->rootfs, d->path, target) < 0)
			return -1;
		parent_dir(target, dir);
		if (mkdir_all(dir, 0755) < 0)
			return -1;
		if (make_device(target, d->path, d->type, d->mode, d->major, d->minor, d->uid,
				d->gid, 1) < 0)
			return -1;
	}
	return 0;
}

static int create_dev_links(const struct spec *s)
{
	static const char *const links[][2] = {
		{ "fd", "/proc/self/fd" },
		{ "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" },
		{ "stderr", "/proc/self/fd/2" },
	};
	const struct mount_spec *dev = find_mount(s, "/dev");
	char path[PATH_MAX];

	if (dev && dev->bind)
		return 0;
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
		snprintf(path, sizeof path, "%s/dev/%s", s->rootfs, links[i][0]);
		if (symlink(links[i][1], path) < 0 && errno != EEXIST)
			return fail_errno("symlink", path);
	}
	/* With a private devpts, /dev/ptmx must be its multiplexer. */
	if (find_mount(s, "/dev/pts")) {
		snprintf(path, sizeof path, "%s/dev/ptmx", s->rootfs);
		if (unlink(path) < 0 && errno != ENOENT)
			return fail_errno("symlink", path);
		if (symlink("pts/ptmx", path) < 0)
			return fail_errno("symlink", path);
	}
	return 0;
}

/* pivot_root refuses a new root whose parent mount is shared: make the
 * mount holding the rootfs private (the nearest ancestor that is a mount
 * point is the only one that accepts the change). */
static int make_rootfs_parent_private(const char *rootfs)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof dir, "%s", rootfs);
	for (;;) {
		char *slash = strrchr(dir, '/');
		if (!slash)
			return 0;
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (mount(NULL, dir, NULL, MS_PRIVATE, NULL) == 0)
			return 0;
		if (errno != EINVAL)
			return fail_errno("mount", dir);
		if (strcmp(dir, "/") == 0)
			return 0;
	}
}

int rootfs_prepare(const struct spec *s)
{
	/* EINVAL: "/" is no mount point (we run chrooted); then the rootfs
	 * bind below gets the propagation instead. */
	int root_is_mount = mount(NULL, "/", NULL, s->rootfs_propagation, NULL) == 0;

	if (!root_is_mount && errno != EINVAL)
		return fail_errno("mount", "/ (propagation)");
	if ((s->rootfs_propagation & MS_SHARED) && make_rootfs_parent_private(s->rootfs) < 0)
		return -1;
	/* pivot_root needs the new root to be a mount point. */
	if (mount(s->rootfs, s->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return fail_errno("rootfs", s->rootfs);
	if (!root_is_mount && mount(NULL, s->rootfs, NULL, s->rootfs_propagation, NULL) < 0)
		return fail_errno("mount", "rootfs (propagation)");
	for (size_t i = 0; i < s->nmounts; i++)
		if (mount_one(s, &s->mounts[i]) < 0)
			return -1;
	if (create_devices(s) < 0 || create_dev_links(s) < 0)
		return -1;
	return 0;
}

static int move_root(const struct spec *s)
{
	if (chdir(s->rootfs) < 0)
		return fail_errno("pivot", s->rootfs);
	if (mount(s->rootfs, "/", NULL, MS_MOVE, NULL) < 0)
		return fail("pivot", "%s: move onto /: %s", s->rootfs, strerror(errno));
	if (chroot(".") < 0)
		return fail_errno("chroot", s->rootfs);
	if (chdir("/") < 0)
		return fail_errno("chroot", "/");
	return 0;
}

int rootfs_pivot(const struct spec *s)
{
	int old_root, new_root;

	old_root = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (old_root < 0)
		return fail_errno("pivot", "/");
	new_root = open(s->rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (new_root < 0) {
		close(old_root);
		return fail_errno("pivot", s->rootfs);
	}
	if (fchdir(new_root) < 0)
		goto fail_pivot;
	/* Stacks the old root on top of the new one; both are then in ".". */
	if (syscall(SYS_pivot_root, ".", ".") < 0) {
		close(old_root);
		close(new_root);
		/* EINVAL: the current root is rootfs (initramfs), which cannot move. */
		if (errno == EINVAL)
			return move_root(s);
		return fail_errno("pivot", s->rootfs);
	}
	if (fchdir(old_root) < 0)
		goto fail_pivot;
	/* Keep the detach below from propagating to the host's mounts. */
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		goto fail_pivot;
	if (umount2(".", MNT_DETACH) < 0)
		goto fail_pivot;
	close(old_root);
	close(new_root);
	if (chdir("/") < 0)
		return fail_errno("pivot", "/");
	return 0;
fail_pivot:
	fail_errno("pivot", s->rootfs);
	close(old_root);
	close(new_root);
	return -1;
}

static int write_sysctl(const struct key_value *kv)
{
	char path[PATH_MAX];
	int fd;
	size_t len = strlen(kv->value);

	snprintf(path, sizeof path, "/proc/sys/%s", kv->key);
	for (char *c = path + strlen("/proc/sys/"); *c; c++)
		if (*c == '.')
			*c = '/';
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fail_errno("sysctl", path);
	if (write(fd, kv->value, len) != (ssize_t)len) {
		fail_errno("sysctl", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int make_readonly(const char *path)
{
	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
		if (errno == ENOENT)
			return 0;
		return fail_errno("readonlyPaths", path);
	}
	return bind_remount("readonlyPaths", path, MS_RDONLY, 0);
}

static int mask(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return fail_errno("maskedPaths", path);
	}
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0") < 0)
			return fail_errno("maskedPaths", path);
	} else if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0) {
		return fail_errno("maskedPaths", path);
	}
	return 0;
}

int rootfs_finalize(const struct spec *s)
{
	for (size_t i = 0; i < s->nsysctl; i++)
		if (write_sysctl(&s->sysctl[i]) < 0)
			return -1;
	for (size_t i = 0; i < s->nreadonly_paths; i++)
		if (make_readonly(s->readonly_paths[i]) < 0)
			return -1;
	for (size_t i = 0; i < s->nmasked_paths; i++)
		if (mask(s->masked_paths[i]) < 0)
			return -1;
	for (size_t i = 0; i < s->nmounts; i++) {
		char target[PATH_MAX];
		if (!readonly_later(&s->mounts[i]))
			continue;
		if (resolve_in_root("", s->mounts[i].destination, target) < 0 ||
		    bind_remount("mount", target[0] ? target : "/", MS_RDONLY, 0) < 0)
			return -1;
	}
	if (s->root_readonly)
		return bind_remount("root.readonly", "/", MS_RDONLY, 0);
	return 0;
}
