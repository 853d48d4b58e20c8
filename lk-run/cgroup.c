#include "cgroup.h"
#include "config_json.h"
#include "err.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#define CGROUP2_SUPER_MAGIC 0x63677270

struct file_list {
	struct key_value *items;
	size_t count, cap;
};

static void add_file(struct file_list *files, const char *name, char *value)
{
	if (files->count == files->cap) {
		files->cap = files->cap ? files->cap * 2 : 8;
		files->items = xrealloc(files->items, files->cap * sizeof *files->items);
	}
	files->items[files->count++] = (struct key_value){ xstrdup(name), value };
}

/* Memory sizes: bytes, -1 for no limit, 0 (as runc reads it) for unset. */
static int memory_value(const struct json *v, const char *where, int *present, int64_t *out)
{
	int r = cj_int64(v, where, -1, INT64_MAX, out);

	*present = r > 0 && *out != 0;
	return r < 0 ? -1 : 0;
}

static char *limit_text(int64_t value)
{
	return value < 0 ? xstrdup("max") : xasprintf("%" PRId64, value);
}

static int parse_memory(const struct json *mem, struct file_list *files)
{
	int has_limit, has_low, has_swap;
	int64_t limit = -1, low = 0, swap = 0;

	if (cj_type(mem, JSON_OBJECT, "linux.resources.memory") <= 0)
		return mem ? -1 : 0;
	if (memory_value(json_get(mem, "limit"), "linux.resources.memory.limit", &has_limit,
			 &limit) < 0 ||
	    memory_value(json_get(mem, "reservation"), "linux.resources.memory.reservation",
			 &has_low, &low) < 0 ||
	    memory_value(json_get(mem, "swap"), "linux.resources.memory.swap", &has_swap, &swap) <
		    0)
		return -1;
	if (has_limit)
		add_file(files, "memory.max", limit_text(limit));
	if (has_low)
		add_file(files, "memory.low", limit_text(low));
	if (has_swap) {
		/* The spec's swap is memory+swap; v2 limits swap alone. */
		if (swap < 0)
			add_file(files, "memory.swap.max", xstrdup("max"));
		else if (!has_limit || limit < 0)
			return config_error("linux.resources.memory.swap", "needs a memory limit");
		else if (swap < limit)
			return config_error("linux.resources.memory.swap",
					    "must be at least the memory limit");
		else
			add_file(files, "memory.swap.max", xasprintf("%" PRId64, swap - limit));
	}
	return 0;
}

static int parse_cpu(const struct json *cpu, struct file_list *files)
{
	uint64_t shares = 0, period = 100000;
	int64_t quota = -1, idle = 0;
	char *cpus = NULL, *mems = NULL;
	int has_shares, has_period, has_quota, has_idle;

	if (cj_type(cpu, JSON_OBJECT, "linux.resources.cpu") <= 0)
		return cpu ? -1 : 0;
	if ((has_shares = cj_uint64(json_get(cpu, "shares"), "linux.resources.cpu.shares",
				    &shares)) < 0 ||
	    (has_period = cj_uint64(json_get(cpu, "period"), "linux.resources.cpu.period",
				    &period)) < 0 ||
	    (has_quota = cj_int64(json_get(cpu, "quota"), "linux.resources.cpu.quota", -1,
				  INT64_MAX, &quota)) < 0 ||
	    (has_idle = cj_int64(json_get(cpu, "idle"), "linux.resources.cpu.idle", 0, 1, &idle)) <
		    0 ||
	    cj_string(json_get(cpu, "cpus"), "linux.resources.cpu.cpus", &cpus) < 0 ||
	    cj_string(json_get(cpu, "mems"), "linux.resources.cpu.mems", &mems) < 0)
		return -1;
	/* cpuset first: it is the one most likely to be refused. */
	if (cpus && *cpus)
		add_file(files, "cpuset.cpus", xstrdup(cpus));
	if (mems && *mems)
		add_file(files, "cpuset.mems", xstrdup(mems));
	if (has_shares && shares) {
		/* v1 shares [2, 262144] onto v2 weight [1, 10000], as runc maps them. */
		if (shares < 2 || shares > 262144)
			return config_error("linux.resources.cpu.shares", "must be in [2, 262144]");
		add_file(files, "cpu.weight",
			 xasprintf("%" PRIu64, 1 + ((shares - 2) * 9999) / 262142));
	}
	if (has_quota || has_period) {
		if (period == 0)
			return config_error("linux.resources.cpu.period", "must be positive");
		add_file(files, "cpu.max",
			 quota > 0 ? xasprintf("%" PRId64 " %" PRIu64, quota, period)
				   : xasprintf("max %" PRIu64, period));
	}
	if (has_idle)
		add_file(files, "cpu.idle", xasprintf("%" PRId64, idle));
	return 0;
}

static int parse_pids(const struct json *pids, struct file_list *files)
{
	int64_t limit = 0;
	int r;

	if (cj_type(pids, JSON_OBJECT, "linux.resources.pids") <= 0)
		return pids ? -1 : 0;
	r = cj_int64(json_get(pids, "limit"), "linux.resources.pids.limit", INT64_MIN, INT64_MAX,
		     &limit);
	if (r < 0)
		return -1;
	/* 0 is unset, a negative value means no limit. */
	if (r && limit != 0)
		add_file(files, "pids.max",
			 limit > 0 ? xasprintf("%" PRId64, limit) : xstrdup("max"));
	return 0;
}

static int parse_unified(const struct json *unified, struct file_list *files)
{
	if (cj_type(unified, JSON_OBJECT, "linux.resources.unified") <= 0)
		return unified ? -1 : 0;
	for (size_t i = 0; i < unified->u.object.count; i++) {
		const char *key = unified->u.object.keys[i];
		char *where = xasprintf("linux.resources.unified.%s", key), *value = NULL;
		if (!*key || strchr(key, '/') || key[0] == '.' || !strchr(key, '.'))
			return config_error(where, "not a cgroup file name");
		if (cj_string(unified->u.object.values[i], where, &value) < 0)
			return -1;
		add_file(files, key, xstrdup(value));
	}
	return 0;
}

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
	struct file_list files = { 0 };
	char *path = NULL;

	memset(out, 0, sizeof *out);
	if (cj_string(json_get(linux_obj, "cgroupsPath"), "linux.cgroupsPath", &path) < 0)
		return -1;
	if (cj_type(resources, JSON_OBJECT, "linux.resources") < 0)
		return -1;
	if (parse_cpu(json_get(resources, "cpu"), &files) < 0 ||
	    parse_memory(json_get(resources, "memory"), &files) < 0 ||
	    parse_pids(json_get(resources, "pids"), &files) < 0 ||
	    parse_unified(json_get(resources, "unified"), &files) < 0 ||
	    device_rules_parse(linux_obj, &out->devices) < 0)
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
	else if (files.count || json_get(resources, "devices"))
		out->path = xasprintf("lk-run/%s", id);
	out->files = files.items;
	out->nfiles = files.count;
	return 0;
}

static int write_file(const char *dir, const char *name, const char *value)
{
	char path[PATH_MAX];
	size_t len = strlen(value);
	int fd AUTO_FD = -1;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fail_errno("cgroup", path);
	/* One write: a cgroup file takes its value from a single call. */
	if (write(fd, value, len) != (ssize_t)len)
		return fail("cgroup", "%s: write \"%s\": %s", path, value, strerror(errno));
	return 0;
}

static int is_cgroup2(void)
{
	struct statfs st;

	return statfs(CGROUP_ROOT, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

/* Controllers the files need, as "+memory +cpu ..." for subtree_control. */
static char *controllers_for(const struct cgroup_spec *cg)
{
	static const char *const names[] = { "cpuset", "cpu", "memory", "pids", "io", "hugetlb" };
	char *list = xstrdup("");

	for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
		size_t len = strlen(names[n]);
		for (size_t i = 0; i < cg->nfiles; i++) {
			if (strncmp(cg->files[i].key, names[n], len) == 0 &&
			    cg->files[i].key[len] == '.') {
				list = xasprintf("%s%s+%s", list, *list ? " " : "", names[n]);
				break;
			}
		}
	}
	return list;
}

/* mkdir -p below the cgroup root, enabling controllers on the way down. */
static int make_tree(const struct cgroup_spec *cg, struct cgroup_handle *h)
{
	char *controllers = controllers_for(cg);
	char dir[PATH_MAX];
	const char *p = cg->path;

	snprintf(dir, sizeof dir, "%s", CGROUP_ROOT);
	while (*p) {
		size_t n = strcspn(p, "/");
		if (*controllers && write_file(dir, "cgroup.subtree_control", controllers) < 0)
			return -1;
		if (strlen(dir) + 1 + n >= sizeof dir) {
			errno = ENAMETOOLONG;
			return fail_errno("cgroup", cg->path);
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
	char pid_text[16];

	h->dir = h->created = NULL;
	if (!cg->path)
		return 0;
	if (!is_cgroup2()) {
		if (!cg->nfiles)
			return 0;
		return fail("cgroup", "%s: resources need cgroup v2 mounted there", CGROUP_ROOT);
	}
	if (make_tree(cg, h) < 0 || attach_device_filter(cg, h->dir) < 0)
		goto undo;
	for (size_t i = 0; i < cg->nfiles; i++)
		if (write_file(h->dir, cg->files[i].key, cg->files[i].value) < 0)
			goto undo;
	snprintf(pid_text, sizeof pid_text, "%d", (int)pid);
	if (write_file(h->dir, "cgroup.procs", pid_text) < 0)
		goto undo;
	return 0;
undo:
	cgroup_remove(h);
	return -1;
}

static void pause_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	nanosleep(&ts, NULL);
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
