#include "rootfs.h"
#include "err.h"
#include "resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define PROC_SUPER_MAGIC 0x9fa0
#define SYSFS_MAGIC 0x62656572

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

/* The filesystem type a proc or sysfs mount must show once mounted: the
 * container's /proc and /sys are what maskedPaths, readonlyPaths and sysctl
 * rely on, so anything else there is fatal. */
static unsigned long expected_magic(const char *type)
{
	if (!type)
		return 0;
	if (strcmp(type, "proc") == 0)
		return PROC_SUPER_MAGIC;
	if (strcmp(type, "sysfs") == 0)
		return SYSFS_MAGIC;
	return 0;
}

static int check_magic(const char *step, int fd, const char *destination, const char *type)
{
	struct statfs st;
	unsigned long magic = expected_magic(type);

	if (!magic)
		return 0;
	if (fstatfs(fd, &st) < 0)
		return fail_errno(step, destination);
	if ((unsigned long)st.f_type != magic)
		return fail(step, "%s: not a %s filesystem after mounting it", destination, type);
	return 0;
}

static int mount_fs(const struct mount_spec *m, const char *target)
{
	const char *type = m->type;

	/* v1 names mean the unified hierarchy on the cgroup2-only systems we boot. */
	if (strcmp(type, "cgroup") == 0)
		type = "cgroup2";
	if (mount(m->source, target, type, m->flags & ~(readonly_later(m) ? MS_RDONLY : 0UL),
		  m->data) == 0)
		return 0;
	/* Without rights over the network namespace sysfs cannot be mounted;
	 * the host's is the next best view (remounted below). */
	if (strcmp(type, "sysfs") == 0 && errno == EPERM &&
	    mount("/sys", target, NULL, MS_BIND | MS_REC, NULL) == 0)
		return 1;
	/* gid=5 (tty) may be unmapped in a user namespace. */
	if (strcmp(type, "devpts") == 0 && errno == EINVAL && m->data &&
	    mount(m->source, target, type, m->flags, without_option(m->data, "gid=")) == 0)
		return 0;
	return fail("mount", "%s (%s) on %s: %s", m->source, type, m->destination, strerror(errno));
}

static int mount_bind(const struct mount_spec *m, const char *target)
{
	if (mount(m->source, target, NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
		return fail("mount", "%s on %s: %s", m->source, m->destination, strerror(errno));
	return 0;
}

/* Propagation, read-only and other flags of a bind, recursive attributes:
 * all applied to the new mount, reached by resolving the destination again. */
static int mount_finish(const struct mount_spec *m, int root_fd, int remount)
{
	int fd AUTO_FD = root_open(root_fd, m->destination, RESOLVE_LOOKUP, "mount");
	unsigned long extra = m->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);

	if (fd < 0 || check_magic("mount", fd, m->destination, m->type) < 0)
		return -1;
	if (remount && extra &&
	    bind_remount("mount", fd_path(fd).path, extra, m->bind ? m->clear : 0) < 0)
		return -1;
	if (m->propagation && mount(NULL, fd_path(fd).path, NULL, m->propagation, NULL) < 0)
		return fail("mount", "%s: propagation: %s", m->destination, strerror(errno));
	if (m->attr_set || m->attr_clear) {
		struct mount_attr_lk attr = { m->attr_set, m->attr_clear, 0, 0 };
		if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
			    sizeof attr) < 0)
			return fail("mount", "%s: recursive options: %s", m->destination,
				    strerror(errno));
	}
	return 0;
}

static int mount_one(int root_fd, const struct mount_spec *m)
{
	struct stat st;
	int r;

	if (m->bind && stat(m->source, &st) < 0)
		return fail_errno("mount", m->source);
	{
		int fd AUTO_FD = root_open(
			root_fd, m->destination,
			m->bind && !S_ISDIR(st.st_mode) ? RESOLVE_MKFILE : RESOLVE_MKDIR, "mount");
		if (fd < 0)
			return -1;
		r = m->bind ? mount_bind(m, fd_path(fd).path) : mount_fs(m, fd_path(fd).path);
	}
	if (r < 0)
		return -1;
	return mount_finish(m, root_fd, m->bind || r == 1);
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
 * (in a user namespace). The node is made in its resolved parent directory,
 * so an image's /dev symlink cannot put it on the host. */
struct device_node {
	const char *path, *host_path;
	mode_t type, mode;
	unsigned major, minor;
	uid_t uid;
	gid_t gid;
};

static int bind_host_node(int dir, const char *name, const struct device_node *d)
{
	int created AUTO_FD = openat(dir, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	int fd AUTO_FD = created < 0 ? -1 : openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return fail_errno("device", d->path);
	if (mount(d->host_path, fd_path(fd).path, NULL, MS_BIND, NULL) < 0)
		return fail("device", "%s: bind %s: %s", d->path, d->host_path, strerror(errno));
	return 0;
}

static int make_device(int root_fd, const struct device_node *d, int replace)
{
	char name[NAME_MAX + 1];
	struct stat st;
	int dir AUTO_FD = root_open_parent(root_fd, d->path, name, "device");

	if (dir < 0)
		return -1;
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!replace)
			return 0;
		if (unlinkat(dir, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
			return fail_errno("device", d->path);
	}
	if (mknodat(dir, name, d->type | d->mode, makedev(d->major, d->minor)) == 0)
		return fchownat(dir, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0
			       ? fail_errno("device", d->path)
			       : 0;
	if (errno == EEXIST && !replace)
		return 0;
	if (errno != EPERM)
		return fail_errno("device", d->path);
	return bind_host_node(dir, name, d);
}

struct default_device {
	const char *name;
	unsigned major, minor;
};

static const struct default_device default_devices[] = {
	{ "null", 1, 3 },   { "zero", 1, 5 },    { "full", 1, 7 },
	{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

static int create_devices(const struct spec *s, int root_fd)
{
	const struct mount_spec *dev = find_mount(s, "/dev");
	char path[32];

	/* A bind-mounted /dev brings its own nodes. */
	for (size_t i = 0;
	     !(dev && dev->bind) && i < sizeof default_devices / sizeof default_devices[0]; i++) {
		const struct default_device *d = &default_devices[i];
		struct device_node node = { path, path, S_IFCHR, 0666, d->major, d->minor, 0, 0 };
		snprintf(path, sizeof path, "/dev/%s", d->name);
		if (make_device(root_fd, &node, 0) < 0)
			return -1;
	}
	for (size_t i = 0; i < s->ndevices; i++) {
		const struct device_spec *d = &s->devices[i];
		struct device_node node = { d->path,  d->path,  d->type, d->mode,
					    d->major, d->minor, d->uid,  d->gid };
		if (make_device(root_fd, &node, 1) < 0)
			return -1;
	}
	return 0;
}

static int create_dev_links(const struct spec *s, int root_fd)
{
	static const char *const links[][2] = {
		{ "fd", "/proc/self/fd" },
		{ "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" },
		{ "stderr", "/proc/self/fd/2" },
	};
	const struct mount_spec *dev = find_mount(s, "/dev");
	int dir AUTO_FD = -1;

	if (dev && dev->bind)
		return 0;
	dir = root_open(root_fd, "/dev", RESOLVE_MKDIR, "symlink");
	if (dir < 0)
		return -1;
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
		if (symlinkat(links[i][1], dir, links[i][0]) < 0 && errno != EEXIST)
			return fail("symlink", "/dev/%s: %s", links[i][0], strerror(errno));
	/* With a private devpts, /dev/ptmx must be its multiplexer. */
	if (find_mount(s, "/dev/pts") && ((unlinkat(dir, "ptmx", 0) < 0 && errno != ENOENT) ||
					  symlinkat("pts/ptmx", dir, "ptmx") < 0))
		return fail("symlink", "/dev/ptmx: %s", strerror(errno));
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
	/* While the root is built nothing propagates to or from the host's
	 * mounts, except from the host into a slave root, and both ways for a
	 * shared one: as runc does, the container's mounts stay peers of the
	 * host's, so a mount made under an rshared bind (LinuxKit's mount image:
	 * /var:/var:rshared,rbind) reaches the host. rootfs_finalize then sets
	 * the root's own propagation. EINVAL: "/" is no mount point (we run
	 * chrooted); the rootfs bind below gets it instead. */
	unsigned long before = s->rootfs_propagation & MS_SHARED  ? MS_SHARED | MS_REC
			       : s->rootfs_propagation & MS_SLAVE ? MS_SLAVE | MS_REC
								  : MS_PRIVATE | MS_REC;
	int root_is_mount = mount(NULL, "/", NULL, before, NULL) == 0;
	int root_fd AUTO_FD = -1;

	if (!root_is_mount && errno != EINVAL)
		return fail_errno("mount", "/ (propagation)");
	/* pivot_root refuses a new root whose parent mount is shared. */
	if ((!root_is_mount || (before & MS_SHARED)) && make_rootfs_parent_private(s->rootfs) < 0)
		return -1;
	/* pivot_root needs the new root to be a mount point. */
	if (mount(s->rootfs, s->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return fail_errno("rootfs", s->rootfs);
	if (!root_is_mount && mount(NULL, s->rootfs, NULL, before, NULL) < 0)
		return fail_errno("mount", "rootfs (propagation)");
	/* Everything below is reached from this fd: the rootfs bind mount. */
	root_fd = open(s->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return fail_errno("rootfs", s->rootfs);
	for (size_t i = 0; i < s->nmounts; i++)
		if (mount_one(root_fd, &s->mounts[i]) < 0)
			return -1;
	return create_devices(s, root_fd) < 0 || create_dev_links(s, root_fd) < 0 ? -1 : 0;
}

int rootfs_pivot_at(const char *rootfs)
{
	int old_root AUTO_FD = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	int new_root AUTO_FD = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);

	if (old_root < 0)
		return fail_errno("pivot", "/");
	if (new_root < 0 || fchdir(new_root) < 0)
		return fail_errno("pivot", rootfs);
	/* Stacks the old root on top of the new one; both are then in ".".
	 * EINVAL: the root is the initramfs, or no mount point (chrooted). */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return errno == EINVAL ? 1 : fail_errno("pivot", rootfs);
	/* Keep the detach below from propagating to the host's mounts. */
	if (fchdir(old_root) < 0 || mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 ||
	    umount2(".", MNT_DETACH) < 0)
		return fail_errno("pivot", rootfs);
	if (chdir("/") < 0)
		return fail_errno("pivot", "/");
	return 0;
}

int rootfs_pivot(const struct spec *s)
{
	int r = rootfs_pivot_at(s->rootfs);

	return r > 0 ? rootfs_move_root(s) : r;
}

static int write_sysctl(const struct key_value *kv)
{
	char path[PATH_MAX];
	int fd AUTO_FD = -1;
	size_t len = strlen(kv->value);

	snprintf(path, sizeof path, "/proc/sys/%s", kv->key);
	for (char *c = path + strlen("/proc/sys/"); *c; c++)
		if (*c == '.')
			*c = '/';
	fd = open(path, O_WRONLY | O_CLOEXEC);
	/* One write: the kernel takes a sysctl value from a single call. */
	if (fd < 0 || write(fd, kv->value, len) != (ssize_t)len)
		return fail_errno("sysctl", path);
	return 0;
}

/* Whether path names something, a dangling symlink included: only what is
 * truly absent may be skipped by readonlyPaths and maskedPaths. */
static int exists(const char *step, const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	return fail_errno(step, path);
}

static int make_readonly(const char *path)
{
	int present = exists("readonlyPaths", path);

	if (present <= 0)
		return present;
	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
		return fail_errno("readonlyPaths", path);
	return bind_remount("readonlyPaths", path, MS_RDONLY, 0);
}

static int mask(const char *path)
{
	struct stat st;
	int present = exists("maskedPaths", path);

	if (present <= 0)
		return present;
	if (stat(path, &st) < 0)
		return fail("maskedPaths", "%s: exists but cannot be masked: %s", path,
			    strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0") < 0)
			return fail_errno("maskedPaths", path);
	} else if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0) {
		return fail_errno("maskedPaths", path);
	}
	return 0;
}

/* After the pivot "/" is the container's root, so plain paths stay inside it.
 * The proc and sysfs mounts are checked once more: a later mount must not
 * have replaced what sysctl and the masks below rely on. */
/* Without a mount namespace: the caller's mounts as they are, the rootfs as
 * the root directory. Sysctl keys are written through the caller's /proc
 * (they act on the namespaces this process is in). */
int rootfs_enter_without_mounts(const struct spec *s)
{
	for (size_t i = 0; i < s->nsysctl; i++)
		if (write_sysctl(&s->sysctl[i]) < 0)
			return -1;
	if (chroot(s->rootfs) < 0 || chdir("/") < 0)
		return fail_errno("rootfs", s->rootfs);
	return 0;
}

int rootfs_finalize(const struct spec *s)
{
	/* The spec's rootfsPropagation, for the container's root (and with r*,
	 * every mount below it). */
	if (mount(NULL, "/", NULL, s->rootfs_propagation, NULL) < 0)
		return fail("linux.rootfsPropagation", "/: %s", strerror(errno));
	for (size_t i = 0; i < s->nmounts; i++) {
		const struct mount_spec *m = &s->mounts[i];
		int fd AUTO_FD = -1;
		if (!expected_magic(m->type))
			continue;
		fd = open(m->destination, O_PATH | O_CLOEXEC);
		if (fd < 0)
			return fail_errno("mount", m->destination);
		if (check_magic("mount", fd, m->destination, m->type) < 0)
			return -1;
	}
	for (size_t i = 0; i < s->nsysctl; i++)
		if (write_sysctl(&s->sysctl[i]) < 0)
			return -1;
	for (size_t i = 0; i < s->nreadonly_paths; i++)
		if (make_readonly(s->readonly_paths[i]) < 0)
			return -1;
	for (size_t i = 0; i < s->nmasked_paths; i++)
		if (mask(s->masked_paths[i]) < 0)
			return -1;
	for (size_t i = 0; i < s->nmounts; i++)
		if (readonly_later(&s->mounts[i]) &&
		    bind_remount("mount", s->mounts[i].destination, MS_RDONLY, 0) < 0)
			return -1;
	if (s->root_readonly)
		return bind_remount("root.readonly", "/", MS_RDONLY, 0);
	return 0;
}
