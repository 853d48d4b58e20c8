#include "namespaces.h"
#include "config_json.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef NS_GET_NSTYPE
#define NS_GET_NSTYPE _IO(0xb7, 0x3)
#endif

int ns_parse_id_mappings(const struct json *list, const char *where, struct id_mapping **out,
			     size_t *count)
{
	if (cj_type(list, JSON_ARRAY, where) <= 0)
		return list ? -1 : 0;
	*out = xcalloc(list->u.array.count, sizeof **out);
	for (size_t i = 0; i < list->u.array.count; i++) {
		const struct json *item = list->u.array.items[i];
		uint32_t c = 0, h = 0, n = 0;
		if (cj_type(item, JSON_OBJECT, where) < 0 ||
		    cj_uint32(json_get(item, "containerID"), where, &c) < 0 ||
		    cj_uint32(json_get(item, "hostID"), where, &h) < 0 ||
		    cj_uint32(json_get(item, "size"), where, &n) < 0)
			return -1;
		if (n == 0)
			return config_error(where, "mapping %zu has size 0", i);
		(*out)[i] = (struct id_mapping){ c, h, n };
	}
	*count = list->u.array.count;
	return 0;
}

int ns_parse_time_offsets(const struct json *obj, struct spec *s)
{
	const struct namespace_spec *time = spec_namespace(s, CLONE_NEWTIME);
	char *text = xstrdup("");

	if (cj_type(obj, JSON_OBJECT, "linux.timeOffsets") <= 0)
		return obj ? -1 : 0;
	if (!time || time->path)
		return config_error("linux.timeOffsets", "needs a new time namespace");
	for (size_t i = 0; i < obj->u.object.count; i++) {
		const char *clock = obj->u.object.keys[i];
		const struct json *v = obj->u.object.values[i];
		char *where = xasprintf("linux.timeOffsets.%s", clock);
		int64_t secs = 0;
		uint32_t nanosecs = 0;

		/* The only clocks a time namespace offsets (time_namespaces(7)). */
		if (strcmp(clock, "monotonic") != 0 && strcmp(clock, "boottime") != 0)
			return config_error(where, "unknown clock (monotonic or boottime)");
		if (cj_type(v, JSON_OBJECT, where) < 0 ||
		    cj_int64(json_get(v, "secs"), where, INT64_MIN, INT64_MAX, &secs) < 0 ||
		    cj_uint32(json_get(v, "nanosecs"), where, &nanosecs) < 0)
			return -1;
		if (nanosecs >= 1000000000)
			return config_error(where, "nanosecs must be below one second");
		text = xasprintf("%s%s %lld %u\n", text, clock, (long long)secs, nanosecs);
	}
	s->time_offsets = text;
	return 0;
}

/* Without a mount namespace the container shares the caller's: whatever lk-run
 * mounted would change the caller's view and outlive the container. */
int ns_check_without_mount(const struct spec *s, int propagation_given)
{
	const char *field = s->nmounts		  ? "mounts"
			    : s->ndevices	  ? "linux.devices"
			    : s->nmasked_paths	  ? "linux.maskedPaths"
			    : s->nreadonly_paths  ? "linux.readonlyPaths"
			    : s->root_readonly	  ? "root.readonly"
			    : propagation_given ? "linux.rootfsPropagation"
						  : NULL;

	if (field)
		return config_error(field, "needs a mount namespace (it would change the caller's)");
	return 0;
}

/* A new time namespace takes its offsets before any process is in it. */
static int write_time_offsets(const struct spec *s)
{
	const char *path = "/proc/self/timens_offsets";
	int fd AUTO_FD = -1;

	if (!s->time_offsets || !*s->time_offsets)
		return 0;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, s->time_offsets, strlen(s->time_offsets)) < 0)
		return fail("linux.timeOffsets", "%s: %s", path, strerror(errno));
	return 0;
}

int ns_check_paths(const struct spec *s)
{
	for (size_t i = 0; i < s->nnamespaces; i++) {
		const struct namespace_spec *ns = &s->namespaces[i];
		char *where = xasprintf("linux.namespaces[%zu].path", i);
		int fd AUTO_FD = -1, type;

		if (!ns->path)
			continue;
		fd = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return fail("config", "%s: %s: %s", where, ns->path, strerror(errno));
		type = ioctl(fd, NS_GET_NSTYPE);
		if (type < 0)
			return fail("config", "%s: %s is not a namespace", where, ns->path);
		if (type != ns->flag)
			return fail("config", "%s: %s is a %s namespace, not %s", where, ns->path,
				    spec_namespace_name(type), spec_namespace_name(ns->flag));
	}
	return 0;
}

int ns_clone_flags(const struct spec *s)
{
	int flags = 0;

	for (size_t i = 0; i < s->nnamespaces; i++) {
		const struct namespace_spec *ns = &s->namespaces[i];
		if (!ns->path && (ns->flag == CLONE_NEWUSER || ns->flag == CLONE_NEWPID))
			flags |= ns->flag;
	}
	return flags;
}

static int join(const char *path, int flag)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return fail_errno("namespace", path);
	if (setns(fd, flag) < 0) {
		fail_errno("namespace", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int ns_join_pid(const struct spec *s, int *saved)
{
	const struct namespace_spec *pid = spec_namespace(s, CLONE_NEWPID);

	*saved = -1;
	if (!pid || !pid->path)
		return 0;
	/* Hooks forked later must still start in the runtime's pid namespace. */
	*saved = open("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
	if (*saved < 0)
		return fail_errno("namespace", "/proc/self/ns/pid_for_children");
	return join(pid->path, CLONE_NEWPID);
}

int ns_restore_pid(int saved)
{
	if (saved < 0)
		return 0;
	if (setns(saved, CLONE_NEWPID) < 0)
		return fail("namespace", "back to the runtime's pid namespace: %s", strerror(errno));
	return 0;
}

static int write_map(pid_t pid, const char *file, const struct id_mapping *maps, size_t n)
{
	char path[64], buf[4096];
	size_t len = 0;
	int fd;

	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + len, sizeof buf - len, "%lu %lu %lu\n", maps[i].container_id,
				 maps[i].host_id, maps[i].size);
		if (w < 0 || (size_t)w >= sizeof buf - len)
			return fail("namespace", "%s: too many mappings", file);
		len += (size_t)w;
	}
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fail_errno("namespace", path);
	if (write(fd, buf, len) != (ssize_t)len) {
		fail_errno("namespace", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int ns_write_id_maps(const struct spec *s, pid_t pid)
{
	if (!(ns_clone_flags(s) & CLONE_NEWUSER))
		return 0;
	if (write_map(pid, "uid_map", s->uid_mappings, s->nuid_mappings) < 0 ||
	    write_map(pid, "gid_map", s->gid_mappings, s->ngid_mappings) < 0)
		return -1;
	return 0;
}

int ns_enter(const struct spec *s)
{
	int fds[16];
	size_t n = s->nnamespaces < 16 ? s->nnamespaces : 16;
	int unshare_flags = 0;

	/* Open all first: joining the mount namespace changes what paths mean. */
	for (size_t i = 0; i < n; i++) {
		const struct namespace_spec *ns = &s->namespaces[i];
		fds[i] = -1;
		if (!ns->path || ns->flag == CLONE_NEWPID)
			continue;
		fds[i] = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			fail_errno("namespace", ns->path);
			goto fail;
		}
	}
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			const struct namespace_spec *ns = &s->namespaces[i];
			int user_first = ns->flag == CLONE_NEWUSER;
			if (fds[i] < 0 || user_first != (pass == 0))
				continue;
			if (setns(fds[i], ns->flag) < 0) {
				fail_errno("namespace", ns->path);
				goto fail;
			}
			close(fds[i]);
			fds[i] = -1;
		}
	}
	/* Inside a user namespace our host ids are unmapped: become its root so
	 * that what we create is owned by a mapped id. */
	if (spec_namespace(s, CLONE_NEWUSER) && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		return fail("namespace", "become root of the user namespace: %s", strerror(errno));
	for (size_t i = 0; i < n; i++)
		if (!s->namespaces[i].path && s->namespaces[i].flag != CLONE_NEWUSER &&
		    s->namespaces[i].flag != CLONE_NEWPID)
			unshare_flags |= s->namespaces[i].flag;
	if (unshare_flags && unshare(unshare_flags) < 0)
		return fail("namespace", "unshare: %s", strerror(errno));
	/* We enter a new time namespace at exec; the hooks we fork, at once. */
	return unshare_flags & CLONE_NEWTIME ? write_time_offsets(s) : 0;
fail:
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return -1;
}
