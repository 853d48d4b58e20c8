#include "cgroup.h"
#include "config_json.h"
#include "err.h"
#include "io.h"
#include "json.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#define CGROUP2_SUPER_MAGIC 0x63677270

static int valid_path(const char *path)
{
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, "/");
		if ((n == 2 && p[0] == '.' && p[1] == '.') || (n == 1 && p[0] == '.'))
			return 0;
		p += n;
		while (*p == '/')
			p++;
	}
	return 1;
}

int cgroup_spec_parse(const struct json *linux_obj, const char *id, struct cgroup_spec *out)
{
	const struct json *resources = json_get(linux_obj, "resources");
	char *path = NULL;

	memset(out, 0, sizeof *out);
	if (cj_string(json_get(linux_obj, "cgroupsPath"), "linux.cgroupsPath", &path) < 0)
		return -1;
	if (resources && cgroup_resources_parse(resources, "linux.resources", out) < 0)
		return -1;
	if (device_rules_parse(linux_obj, &out->devices) < 0)
		return -1;
	while (path && *path == '/')
		path++;
	/* systemd-style "slice:prefix:name" paths are not for us. */
	if (path && strchr(path, ':'))
		return config_error("linux.cgroupsPath", "\"%s\" is a systemd path", path);
	if (path && !valid_path(path))
		return config_error("linux.cgroupsPath", "\"%s\" leaves the cgroup tree", path);
	if (path && *path)
		out->path = xstrdup(path);
	else if (out->nfiles || json_get(resources, "devices"))
		out->path = xasprintf("lk-run/%s", id);
	return 0;
}

/* Writes value to dir/name in one write (a cgroup file takes its value from a
 * single call); 0 or the errno. */
static int put(const char *dir, const char *name, const char *value)
{
	char path[PATH_MAX];
	size_t len = strlen(value);
	int fd AUTO_FD = -1;

	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
		return ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (write(fd, value, len) != (ssize_t)len)
		return errno ? errno : EIO;
	return 0;
}

static int write_file(const char *dir, const char *name, const char *value)
{
	int e = put(dir, name, value);

	if (e == ENOENT || e == ENAMETOOLONG)
		return fail("cgroup", "%s/%s: %s", dir, name, strerror(e));
	if (e)
		return fail("cgroup", "%s/%s: write \"%s\": %s", dir, name, value, strerror(e));
	return 0;
}

/* One resource file, named by the config field it came from when refused. */
static int write_resource(const char *dir, const struct cgroup_file *f)
{
	const char *name = f->key, *value = f->value;
	int e = put(dir, name, value);

	if (e == ENOENT && f->fallback_key) {
		name = f->fallback_key;
		value = f->fallback_value;
		e = put(dir, name, value);
	}
	if (e == ENOENT && f->optional)
		return 0;
	if (e == ENOENT)
		return fail("cgroup", "%s: %s/%s: %s", f->origin, dir, name, strerror(e));
	if (e)
		return fail("cgroup", "%s: %s/%s: write \"%s\": %s", f->origin, dir, name, value,
			    strerror(e));
	return 0;
}

/* Up to size-1 bytes of a small file (cgroup.controllers, cgroup.freeze). */
static int read_small(const char *path, char *buf, size_t size)
{
	int fd AUTO_FD = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* The controller a file belongs to ("memory" of "memory.max"), or NULL for
 * the core cgroup.* files every cgroup has. */
static char *controller_of(const char *key)
{
	size_t n = strcspn(key, ".");

	if (n == 6 && strncmp(key, "cgroup", 6) == 0)
		return NULL;
	return xasprintf("%.*s", (int)n, key);
}

static int has_word(const char *list, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += len)
		if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\n' || !p[len]))
			return 1;
	return 0;
}

/* What the kernel has when the file is never written: safe to leave out
 * where the controller is missing. */
static int is_kernel_default(const struct cgroup_file *f)
{
	static const char *const defaults[][2] = {
		{ "memory.max", "max" },  { "memory.low", "0" },       { "memory.swap.max", "max" },
		{ "memory.high", "max" }, { "memory.min", "0" },       { "pids.max", "max" },
		{ "cpu.weight", "100" },  { "cpu.max", "max 100000" }, { "cpu.max.burst", "0" },
		{ "cpu.idle", "0" },      { "io.bfq.weight", "100" },
	};

	for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
		if (strcmp(f->key, defaults[i][0]) == 0 && strcmp(f->value, defaults[i][1]) == 0)
			return 1;
	return 0;
}

/* Checks every file's controller against the hierarchy's before anything is
 * created or written. Sets skip[i] for defaults a missing controller makes
 * moot, and *controllers to "+memory +cpu ..." for cgroup.subtree_control. */
static int plan(const struct cgroup_spec *cg, char *skip, char **controllers)
{
	char available[1024] = "";

	*controllers = xstrdup("");
	if (cg->nfiles &&
	    read_small(CGROUP_ROOT "/cgroup.controllers", available, sizeof available) < 0)
		return fail_errno("cgroup", CGROUP_ROOT "/cgroup.controllers");
	available[strcspn(available, "\n")] = '\0';
	for (size_t i = 0; i < cg->nfiles; i++) {
		char *name = controller_of(cg->files[i].key);

		skip[i] = 0;
		if (!name)
			continue;
		if (!has_word(available, name)) {
			if (is_kernel_default(&cg->files[i])) {
				skip[i] = 1;
				continue;
			}
			return fail("cgroup", "%s: the %s controller is not available (%s offers: %s)",
				    cg->files[i].origin, name, CGROUP_ROOT,
				    *available ? available : "none");
		}
		if (!has_word(*controllers, xasprintf("+%s", name)))
			*controllers = xasprintf("%s%s+%s", *controllers, **controllers ? " " : "", name);
	}
	return 0;
}

static int is_cgroup2(void)
{
	struct statfs st;

	return statfs(CGROUP_ROOT, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

/* mkdir -p of path below the cgroup root, enabling controllers on the way
 * down (in every ancestor, never in the leaf, which holds processes). */
static int make_tree(const char *path, const char *controllers, struct cgroup_handle *h)
{
	char dir[PATH_MAX];
	const char *p = path;

	snprintf(dir, sizeof dir, "%s", CGROUP_ROOT);
	while (*p) {
		size_t n = strcspn(p, "/");
		if (*controllers && write_file(dir, "cgroup.subtree_control", controllers) < 0)
			return -1;
		if (strlen(dir) + 1 + n >= sizeof dir) {
			errno = ENAMETOOLONG;
			return fail_errno("cgroup", path);
		}
		strcat(dir, "/");
		strncat(dir, p, n);
		if (mkdir(dir, 0755) == 0) {
			if (!h->created)
				h->created = xstrdup(dir);
		} else if (errno != EEXIST) {
			return fail_errno("cgroup", dir);
		}
		p += n;
		while (*p == '/')
			p++;
	}
	h->dir = xstrdup(dir);
	return 0;
}

static int write_resources(const char *dir, const struct cgroup_spec *cg, const char *skip)
{
	for (size_t i = 0; i < cg->nfiles; i++)
		if (!skip[i] && write_resource(dir, &cg->files[i]) < 0)
			return -1;
	return 0;
}

/* Before the process enters: it never runs without the filter. */
static int attach_device_filter(const struct cgroup_spec *cg, const char *dir)
{
	int fd AUTO_FD = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return fail_errno("cgroup", dir);
	return device_filter_attach(&cg->devices, fd);
}

int cgroup_enter(const struct cgroup_spec *cg, pid_t pid, struct cgroup_handle *h)
{
	char pid_text[16], *controllers, *skip = xcalloc(cg->nfiles + 1, 1);

	h->dir = h->created = NULL;
	if (!cg->path)
		return 0;
	if (!is_cgroup2()) {
		if (!cg->nfiles)
			return 0;
		return fail("cgroup", "%s: resources need cgroup v2 mounted there", CGROUP_ROOT);
	}
	if (plan(cg, skip, &controllers) < 0)
		return -1;
	if (make_tree(cg->path, controllers, h) < 0 || attach_device_filter(cg, h->dir) < 0 ||
	    write_resources(h->dir, cg, skip) < 0)
		goto undo;
	snprintf(pid_text, sizeof pid_text, "%d", (int)pid);
	if (write_file(h->dir, "cgroup.procs", pid_text) < 0)
		goto undo;
	return 0;
undo:
	cgroup_remove(h);
	return -1;
}

/* checkBeforeUpdate: a new memory.max below what the cgroup uses now would
 * set the OOM killer on it; refuse instead, as cgroup v1 did. */
static int check_memory_usage(const char *dir, const struct cgroup_spec *cg)
{
	char text[64], *path = xasprintf("%s/memory.current", dir);
	unsigned long long usage;

	for (size_t i = 0; cg->check_before_update && i < cg->nfiles; i++) {
		const struct cgroup_file *f = &cg->files[i];
		if (strcmp(f->key, "memory.max") != 0 || strcmp(f->value, "max") == 0)
			continue;
		if (read_small(path, text, sizeof text) < 0)
			return fail_errno("update", path);
		usage = strtoull(text, NULL, 10);
		if (strtoull(f->value, NULL, 10) < usage)
			return fail("update", "%s: %s is below the current usage %llu (checkBeforeUpdate)",
				    f->origin, f->value, usage);
	}
	return 0;
}

int cgroup_update(const char *dir, const struct cgroup_spec *cg)
{
	size_t root_len = strlen(CGROUP_ROOT);
	struct cgroup_handle h = { NULL, NULL };
	char *controllers, *skip = xcalloc(cg->nfiles + 1, 1);

	if (strncmp(dir, CGROUP_ROOT "/", root_len + 1) != 0)
		return fail("update", "%s is not below %s", dir, CGROUP_ROOT);
	if (plan(cg, skip, &controllers) < 0 || check_memory_usage(dir, cg) < 0)
		return -1;
	/* The ancestors may lack a controller create did not need. */
	if (make_tree(dir + root_len + 1, controllers, &h) < 0)
		return -1;
	if (h.created) {
		cgroup_remove(&h);
		return fail("update", "%s: the container's cgroup is gone", dir);
	}
	return write_resources(dir, cg, skip);
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int cgroup_is_frozen(const char *dir)
{
	char text[8] = "";

	return dir && read_small(xasprintf("%s/cgroup.freeze", dir), text, sizeof text) == 0 &&
	       text[0] == '1';
}

/* cgroup.freeze, then cgroup.events until "frozen" agrees: the kernel
 * freezes asynchronously, and a caller expects the tasks stopped. */
int cgroup_freeze(const char *dir, int frozen)
{
	char *events = xasprintf("%s/cgroup.events", dir);
	char want[16], text[256];
	int fd AUTO_FD = -1;

	if (write_file(dir, "cgroup.freeze", frozen ? "1" : "0") < 0)
		return -1;
	fd = open(events, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail_errno("cgroup", events);
	snprintf(want, sizeof want, "frozen %d\n", frozen);
	for (int waited = 0; waited < 10000; waited += 100) {
		struct pollfd p = { fd, POLLPRI, 0 };
		ssize_t n = pread(fd, text, sizeof text - 1, 0);

		if (n < 0)
			return fail_errno("cgroup", events);
		text[n] = '\0';
		if (strstr(text, want))
			return 0;
		/* The file signals a change with POLLPRI; poll's timeout is a backstop. */
		poll(&p, 1, 100);
	}
	return fail("cgroup", "%s: still not \"frozen %d\" after 10 s", events, frozen);
}

struct pid_list {
	pid_t *items;
	size_t count, cap;
};

/* cgroup.procs of dir and of every cgroup below it. */
static int collect_pids(const char *dir, struct pid_list *out, int depth)
{
	char *path = xasprintf("%s/cgroup.procs", dir), *text, *p;
	DIR *d;
	struct dirent *e;
	size_t len;

	if (depth > 64)
		return fail("ps", "%s: cgroups nested too deep", dir);
	if (!(text = read_whole_file("ps", path, 64 << 20, &len)))
		return -1;
	for (p = text; *p;) {
		char *end;
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (out->count == out->cap) {
			out->cap = out->cap ? out->cap * 2 : 16;
			out->items = xrealloc(out->items, out->cap * sizeof *out->items);
		}
		out->items[out->count++] = (pid_t)pid;
		p = end + strspn(end, "\n");
	}
	if (!(d = opendir(dir)))
		return fail_errno("ps", dir);
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (collect_pids(xasprintf("%s/%s", dir, e->d_name), out, depth + 1) < 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

int cgroup_pids(const char *dir, pid_t **pids, size_t *count)
{
	struct pid_list list = { NULL, 0, 0 };

	if (collect_pids(dir, &list, 0) < 0)
		return -1;
	*pids = list.items;
	*count = list.count;
	return 0;
}

void cgroup_remove(const struct cgroup_handle *h)
{
	char dir[PATH_MAX];
	char saved[LK_ERR_MAX];

	if (!h->dir || !h->created)
		return;
	/* Cleanup must not overwrite the error being reported. */
	memcpy(saved, lk_err, sizeof saved);
	snprintf(dir, sizeof dir, "%s", h->dir);
	/* Exited processes leave a populated cgroup for a moment. Processes that
	 * still run keep it: it may be shared with another container, so they
	 * are not ours to kill. */
	for (int i = 0; i < 20 && rmdir(dir) < 0 && errno == EBUSY; i++)
		pause_ms(5);
	while (strcmp(dir, h->created) != 0 && strlen(dir) > strlen(h->created)) {
		*strrchr(dir, '/') = '\0';
		rmdir(dir);
	}
	memcpy(lk_err, saved, sizeof saved);
}
