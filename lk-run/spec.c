#include "spec.h"
#include "caps.h"
#include "cgroup.h"
#include "config_json.h"
#include "err.h"
#include "hooks.h"
#include "io.h"
#include "json.h"
#include "mount_options.h"
#include "namespaces.h"
#include "process.h"
#include "seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define CONFIG_MAX_BYTES (16 << 20)

static int want_absolute(const char *path, const char *where)
{
	if (path[0] != '/')
		return config_error(where, "\"%s\" is not an absolute path", path);
	return 0;
}

/* Features lk-run leaves out; the spec asks for an error rather than silence
 * (config.md, Extensibility). An empty or null value asks for nothing. */
static int refuse(const struct json *v, const char *where, const char *why)
{
	if (!v || v->type == JSON_NULL || (v->type == JSON_STRING && !*v->u.string.chars))
		return 0;
	return config_error(where, "not supported: %s", why);
}

#define NO_LSM "lk-run applies no AppArmor or SELinux label (the node kernels have neither)"

/* ---- process ---------------------------------------------------------- */

static int parse_user(const struct json *user, struct spec *s)
{
	const struct json *gids = json_get(user, "additionalGids");
	uint32_t v;
	int64_t umask;
	int r;

	if (cj_type(user, JSON_OBJECT, "process.user") < 0)
		return -1;
	if ((r = cj_uint32(json_get(user, "uid"), "process.user.uid", &v)) < 0)
		return -1;
	if (r)
		s->uid = v;
	if ((r = cj_uint32(json_get(user, "gid"), "process.user.gid", &v)) < 0)
		return -1;
	if (r)
		s->gid = v;
	if ((r = cj_int64(json_get(user, "umask"), "process.user.umask", 0, 0777, &umask)) < 0)
		return -1;
	if (r)
		s->umask = (int)umask;
	if (cj_type(gids, JSON_ARRAY, "process.user.additionalGids") <= 0)
		return gids ? -1 : 0;
	s->n_additional_gids = gids->u.array.count;
	s->additional_gids = xcalloc(gids->u.array.count, sizeof(gid_t));
	for (size_t i = 0; i < gids->u.array.count; i++) {
		if (cj_uint32(gids->u.array.items[i], "process.user.additionalGids", &v) < 0)
			return -1;
		s->additional_gids[i] = v;
	}
	return 0;
}

static int parse_cap_set(const struct json *caps, const char *key, uint64_t *out)
{
	const struct json *list = json_get(caps, key);
	char *where = xasprintf("process.capabilities.%s", key);

	*out = 0;
	if (cj_type(list, JSON_ARRAY, where) <= 0)
		return list ? -1 : 0;
	for (size_t i = 0; i < list->u.array.count; i++) {
		const struct json *item = list->u.array.items[i];
		int cap;
		if (cj_type(item, JSON_STRING, where) < 0)
			return -1;
		if (strcasecmp(item->u.string.chars, "ALL") == 0) {
			*out = ~0ULL;
			continue;
		}
		cap = cap_from_name(item->u.string.chars);
		if (cap < 0)
			return config_error(where, "unknown capability \"%s\"",
					    item->u.string.chars);
		*out |= 1ULL << cap;
	}
	return 0;
}

static int parse_capabilities(const struct json *caps, struct spec *s)
{
	int r = cj_type(caps, JSON_OBJECT, "process.capabilities");

	if (r <= 0)
		return r;
	s->caps.present = 1;
	if (parse_cap_set(caps, "bounding", &s->caps.bounding) < 0 ||
	    parse_cap_set(caps, "effective", &s->caps.effective) < 0 ||
	    parse_cap_set(caps, "inheritable", &s->caps.inheritable) < 0 ||
	    parse_cap_set(caps, "permitted", &s->caps.permitted) < 0 ||
	    parse_cap_set(caps, "ambient", &s->caps.ambient) < 0)
		return -1;
	return 0;
}

struct rlimit_name {
	const char *name;
	int resource;
};

static const struct rlimit_name rlimit_names[] = {
	{ "RLIMIT_AS", RLIMIT_AS },
	{ "RLIMIT_CORE", RLIMIT_CORE },
	{ "RLIMIT_CPU", RLIMIT_CPU },
	{ "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_FSIZE", RLIMIT_FSIZE },
	{ "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
	{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "RLIMIT_NICE", RLIMIT_NICE },
	{ "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },
	{ "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
	{ "RLIMIT_RTTIME", RLIMIT_RTTIME },
	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
	{ "RLIMIT_STACK", RLIMIT_STACK },
};

static int parse_rlimits(const struct json *list, struct spec *s)
{
	if (cj_type(list, JSON_ARRAY, "process.rlimits") <= 0)
		return list ? -1 : 0;
	s->rlimits = xcalloc(list->u.array.count, sizeof *s->rlimits);
	for (size_t i = 0; i < list->u.array.count; i++) {
		const struct json *item = list->u.array.items[i];
		struct rlimit_spec *rl = &s->rlimits[s->nrlimits++];
		char *where = xasprintf("process.rlimits[%zu]", i);
		char *type = NULL;
		size_t k;

		if (cj_type(item, JSON_OBJECT, where) < 0 ||
		    cj_string(json_get(item, "type"), where, &type) < 0 ||
		    cj_uint64(json_get(item, "soft"), where, &rl->soft) < 0 ||
		    cj_uint64(json_get(item, "hard"), where, &rl->hard) < 0)
			return -1;
		if (!type)
			return config_error(where, "missing type");
		for (k = 0; k < sizeof rlimit_names / sizeof rlimit_names[0]; k++)
			if (strcmp(type, rlimit_names[k].name) == 0)
				break;
		if (k == sizeof rlimit_names / sizeof rlimit_names[0])
			return config_error(where, "unknown rlimit \"%s\"", type);
		rl->resource = rlimit_names[k].resource;
		rl->name = rlimit_names[k].name;
		if (rl->soft > rl->hard)
			return config_error(where, "soft limit above hard limit");
	}
	return 0;
}

static int parse_terminal(const struct json *process, struct spec *s)
{
	const struct json *size = json_get(process, "consoleSize");
	uint32_t rows = 0, cols = 0;

	if (cj_bool(json_get(process, "terminal"), "process.terminal", &s->terminal) < 0)
		return -1;
	if (cj_type(size, JSON_OBJECT, "process.consoleSize") <= 0)
		return size ? -1 : 0;
	if (cj_uint32(json_get(size, "height"), "process.consoleSize.height", &rows) < 0 ||
	    cj_uint32(json_get(size, "width"), "process.consoleSize.width", &cols) < 0)
		return -1;
	if (rows > 0xffff || cols > 0xffff)
		return config_error("process.consoleSize", "larger than 65535");
	s->console_rows = (unsigned short)rows;
	s->console_cols = (unsigned short)cols;
	return 0;
}

static int parse_process(const struct json *process, struct spec *s)
{
	const struct json *args = json_get(process, "args");
	int64_t oom;
	int r;

	if (cj_type(process, JSON_OBJECT, "process") <= 0)
		return process ? -1 : config_error("process", "missing");
	if (cj_strings(args, "process.args", &s->args, NULL) < 0)
		return -1;
	if (!s->args || !s->args[0])
		return config_error("process.args", "must name a program");
	if (cj_strings(json_get(process, "env"), "process.env", &s->env, NULL) < 0)
		return -1;
	if (!s->env)
		s->env = xcalloc(1, sizeof(char *));
	for (size_t i = 0; s->env[i]; i++)
		if (!strchr(s->env[i], '='))
			return config_error("process.env", "\"%s\" is not NAME=VALUE", s->env[i]);
	if (cj_string(json_get(process, "cwd"), "process.cwd", &s->cwd) < 0)
		return -1;
	if (!s->cwd)
		s->cwd = "/";
	if (want_absolute(s->cwd, "process.cwd") < 0)
		return -1;
	if (json_get(process, "user") && parse_user(json_get(process, "user"), s) < 0)
		return -1;
	if (refuse(json_get(process, "apparmorProfile"), "process.apparmorProfile", NO_LSM) < 0 ||
	    refuse(json_get(process, "selinuxLabel"), "process.selinuxLabel", NO_LSM) < 0)
		return -1;
	if (parse_capabilities(json_get(process, "capabilities"), s) < 0)
		return -1;
	if (parse_rlimits(json_get(process, "rlimits"), s) < 0)
		return -1;
	if (cj_bool(json_get(process, "noNewPrivileges"), "process.noNewPrivileges",
		    &s->no_new_privileges) < 0)
		return -1;
	r = cj_int64(json_get(process, "oomScoreAdj"), "process.oomScoreAdj", -1000, 1000, &oom);
	if (r < 0)
		return -1;
	s->has_oom_score_adj = r;
	s->oom_score_adj = r ? (int)oom : 0;
	return parse_terminal(process, s);
}

/* ---- root, mounts, hostname ------------------------------------------ */

static int parse_root(const struct json *root, struct spec *s)
{
	char *path = NULL;

	if (cj_type(root, JSON_OBJECT, "root") <= 0)
		return root ? -1 : config_error("root", "missing");
	if (cj_string(json_get(root, "path"), "root.path", &path) < 0)
		return -1;
	if (!path || !*path)
		return config_error("root.path", "missing");
	if (cj_bool(json_get(root, "readonly"), "root.readonly", &s->root_readonly) < 0)
		return -1;
	s->rootfs = path[0] == '/' ? xstrdup(path) : xasprintf("%s/%s", s->bundle, path);
	return 0;
}

static int parse_mounts(const struct json *list, struct spec *s)
{
	if (cj_type(list, JSON_ARRAY, "mounts") <= 0)
		return list ? -1 : 0;
	s->mounts = xcalloc(list->u.array.count, sizeof *s->mounts);
	for (size_t i = 0; i < list->u.array.count; i++) {
		const struct json *item = list->u.array.items[i];
		struct mount_spec *m = &s->mounts[s->nmounts++];
		char *where = xasprintf("mounts[%zu]", i);
		char **options = NULL;
		size_t noptions = 0;

		if (cj_type(item, JSON_OBJECT, where) < 0 ||
		    cj_string(json_get(item, "destination"), where, &m->destination) < 0 ||
		    cj_string(json_get(item, "source"), where, &m->source) < 0 ||
		    cj_string(json_get(item, "type"), where, &m->type) < 0 ||
		    cj_strings(json_get(item, "options"), where, &options, &noptions) < 0)
			return -1;
		if (!m->destination)
			return config_error(where, "missing destination");
		if (want_absolute(m->destination, where) < 0)
			return -1;
		if (mount_options_parse(options, noptions, m, where) < 0)
			return -1;
		if (m->type && strcmp(m->type, "bind") == 0)
			m->bind = 1;
		if (m->bind && !m->source)
			return config_error(where, "bind mount without a source");
		if (!m->bind && !m->type)
			return config_error(where, "missing type");
		if (!m->source)
			m->source = m->type;
		/* Relative bind sources are relative to the bundle. */
		if (m->bind && m->source[0] != '/')
			m->source = xasprintf("%s/%s", s->bundle, m->source);
	}
	return 0;
}

/* ---- linux ------------------------------------------------------------ */

struct namespace_name {
	const char *name;
	int flag;
};

static const struct namespace_name namespace_names[] = {
	{ "pid", CLONE_NEWPID },       { "network", CLONE_NEWNET }, { "mount", CLONE_NEWNS },
	{ "ipc", CLONE_NEWIPC },       { "uts", CLONE_NEWUTS },     { "user", CLONE_NEWUSER },
	{ "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
};

static int parse_namespaces(const struct json *list, struct spec *s)
{
	if (cj_type(list, JSON_ARRAY, "linux.namespaces") <= 0)
		return list ? -1 : 0;
	s->namespaces = xcalloc(list->u.array.count, sizeof *s->namespaces);
	for (size_t i = 0; i < list->u.array.count; i++) {
		const struct json *item = list->u.array.items[i];
		struct namespace_spec *ns = &s->namespaces[s->nnamespaces];
		char *where = xasprintf("linux.namespaces[%zu]", i);
		char *type = NULL;
		size_t k;

		if (cj_type(item, JSON_OBJECT, where) < 0 ||
		    cj_string(json_get(item, "type"), where, &type) < 0 ||
		    cj_string(json_get(item, "path"), where, &ns->path) < 0)
			return -1;
		if (!type)
			return config_error(where, "missing type");
		for (k = 0; k < sizeof namespace_names / sizeof namespace_names[0]; k++)
			if (strcmp(type, namespace_names[k].name) == 0)
				break;
		if (k == sizeof namespace_names / sizeof namespace_names[0])
			return config_error(where, "unknown namespace type \"%s\"", type);
		if (spec_namespace(s, namespace_names[k].flag))
			return config_error(where, "namespace \"%s\" listed twice", type);
		if (ns->path && !*ns->path)
			ns->path = NULL;
		if (ns->path && want_absolute(ns->path, where) < 0)
			return -1;
		ns->flag = namespace_names[k].flag;
		s->nnamespaces++;
	}
	return 0;
}

const char *spec_namespace_name(int flag)
{
	for (size_t k = 0; k < sizeof namespace_names / sizeof namespace_names[0]; k++)
		if (namespace_names[k].flag == flag)
			return namespace_names[k].name;
	return "?";
}

const struct namespace_spec *spec_namespace(const struct spec *spec, int flag)
{
	for (size_t i = 0; i < spec->nnamespaces; i++)
		if (spec->namespaces[i].flag == flag)
			return &spec->namespaces[i];
	return NULL;
}

static int parse_devices(const struct json *list, struct spec *s)
{
	if (cj_type(list, JSON_ARRAY, "linux.devices") <= 0)
		return list ? -1 : 0;
	s->devices = xcalloc(list->u.array.count, sizeof *s->devices);
	for (size_t i = 0; i < list->u.array.count; i++) {
		const struct json *item = list->u.array.items[i];
		struct device_spec *d = &s->devices[s->ndevices++];
		char *where = xasprintf("linux.devices[%zu]", i);
		char *type = NULL;
		uint32_t major = 0, minor = 0, mode = 0666, uid = 0, gid = 0;
		int has_major, has_minor;

		if (cj_type(item, JSON_OBJECT, where) < 0 ||
		    cj_string(json_get(item, "path"), where, &d->path) < 0 ||
		    cj_string(json_get(item, "type"), where, &type) < 0 ||
		    (has_major = cj_uint32(json_get(item, "major"), where, &major)) < 0 ||
		    (has_minor = cj_uint32(json_get(item, "minor"), where, &minor)) < 0 ||
		    cj_uint32(json_get(item, "fileMode"), where, &mode) < 0 ||
		    cj_uint32(json_get(item, "uid"), where, &uid) < 0 ||
		    cj_uint32(json_get(item, "gid"), where, &gid) < 0)
			return -1;
		if (!d->path || !type)
			return config_error(where, "path and type are required");
		if (want_absolute(d->path, where) < 0)
			return -1;
		if (strcmp(type, "c") == 0 || strcmp(type, "u") == 0)
			d->type = S_IFCHR;
		else if (strcmp(type, "b") == 0)
			d->type = S_IFBLK;
		else if (strcmp(type, "p") == 0)
			d->type = S_IFIFO;
		else
			return config_error(where, "unknown device type \"%s\"", type);
		if (d->type != S_IFIFO && (!has_major || !has_minor))
			return config_error(where, "major and minor are required");
		if (mode & ~07777u)
			return config_error(where, "fileMode %o has more than permission bits",
					    mode);
		d->major = major;
		d->minor = minor;
		d->mode = mode;
		d->uid = uid;
		d->gid = gid;
	}
	return 0;
}

/* The namespace a sysctl key belongs to, or 0 when it is global: writing a
 * global key would change the host (kernel.core_pattern, say), so only keys
 * of a namespace the container has are accepted, as runc does. */
static int sysctl_namespace(const char *key)
{
	static const char *const ipc_keys[] = {
		"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
		"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
	};

	for (size_t i = 0; i < sizeof ipc_keys / sizeof ipc_keys[0]; i++)
		if (strcmp(key, ipc_keys[i]) == 0)
			return CLONE_NEWIPC;
	if (strncmp(key, "fs.mqueue.", 10) == 0)
		return CLONE_NEWIPC;
	if (strcmp(key, "kernel.hostname") == 0 || strcmp(key, "kernel.domainname") == 0)
		return CLONE_NEWUTS;
	if (strncmp(key, "net.", 4) == 0)
		return CLONE_NEWNET;
	return 0;
}

static int check_sysctl_key(const char *key, const struct spec *s, const char *where)
{
	int ns;

	/* Dotted names only: "/" and ".." would walk /proc/sys elsewhere. */
	for (const char *c = key; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || *c == '.'))
			return config_error(where, "invalid key");
	if (!*key || key[0] == '.' || strstr(key, "..") || key[strlen(key) - 1] == '.')
		return config_error(where, "invalid key");
	ns = sysctl_namespace(key);
	if (!ns)
		return config_error(where, "not a namespaced sysctl; it would change the host");
	if (!spec_namespace(s, ns))
		return config_error(where, "needs the container's own %s namespace",
				    ns == CLONE_NEWNET   ? "network"
				    : ns == CLONE_NEWUTS ? "uts"
							 : "ipc");
	return 0;
}

static int parse_sysctl(const struct json *obj, struct spec *s)
{
	if (cj_type(obj, JSON_OBJECT, "linux.sysctl") <= 0)
		return obj ? -1 : 0;
	s->sysctl = xcalloc(obj->u.object.count, sizeof *s->sysctl);
	for (size_t i = 0; i < obj->u.object.count; i++) {
		char *key = obj->u.object.keys[i];
		char *where = xasprintf("linux.sysctl.%s", key);
		if (check_sysctl_key(key, s, where) < 0)
			return -1;
		if (cj_string(obj->u.object.values[i], where, &s->sysctl[i].value) < 0)
			return -1;
		s->sysctl[i].key = key;
		s->nsysctl++;
	}
	return 0;
}

static int parse_paths(const struct json *list, const char *where, char ***out, size_t *count)
{
	if (cj_strings(list, where, out, count) < 0)
		return -1;
	for (size_t i = 0; i < *count; i++)
		if (want_absolute((*out)[i], where) < 0)
			return -1;
	return 0;
}

static int parse_linux(const struct json *linux_obj, const char *id, struct spec *s)
{
	char *propagation = NULL;
	const struct json *seccomp;

	if (cj_type(linux_obj, JSON_OBJECT, "linux") < 0)
		return -1;
	if (parse_namespaces(json_get(linux_obj, "namespaces"), s) < 0 ||
	    ns_parse_id_mappings(json_get(linux_obj, "uidMappings"), "linux.uidMappings",
				 &s->uid_mappings, &s->nuid_mappings) < 0 ||
	    ns_parse_id_mappings(json_get(linux_obj, "gidMappings"), "linux.gidMappings",
				 &s->gid_mappings, &s->ngid_mappings) < 0 ||
	    parse_devices(json_get(linux_obj, "devices"), s) < 0 ||
	    parse_sysctl(json_get(linux_obj, "sysctl"), s) < 0 ||
	    parse_paths(json_get(linux_obj, "maskedPaths"), "linux.maskedPaths", &s->masked_paths,
			&s->nmasked_paths) < 0 ||
	    parse_paths(json_get(linux_obj, "readonlyPaths"), "linux.readonlyPaths",
			&s->readonly_paths, &s->nreadonly_paths) < 0 ||
	    cj_string(json_get(linux_obj, "rootfsPropagation"), "linux.rootfsPropagation",
		      &propagation) < 0 ||
	    ns_parse_time_offsets(json_get(linux_obj, "timeOffsets"), s) < 0 ||
	    process_parse_personality(json_get(linux_obj, "personality"), s) < 0)
		return -1;
	s->rootfs_propagation = MS_PRIVATE | MS_REC;
	if (propagation && *propagation) {
		s->rootfs_propagation = mount_propagation_flags(propagation);
		if (!s->rootfs_propagation)
			return config_error("linux.rootfsPropagation", "unknown value \"%s\"",
					    propagation);
	}
	if (refuse(json_get(linux_obj, "mountLabel"), "linux.mountLabel", NO_LSM) < 0 ||
	    refuse(json_get(linux_obj, "intelRdt"), "linux.intelRdt", "no Intel RDT (resctrl)") < 0)
		return -1;
	if (cgroup_spec_parse(linux_obj, id, &s->cgroup) < 0)
		return -1;
	seccomp = json_get(linux_obj, "seccomp");
	if (seccomp && seccomp->type != JSON_NULL && seccomp_compile(seccomp, &s->seccomp) < 0)
		return -1;
	return 0;
}

static int check_consistency(struct spec *s, int propagation_given)
{
	const struct namespace_spec *user = spec_namespace(s, CLONE_NEWUSER);

	/* A uts namespace joined by path gets the names too (the spec allows it);
	 * without one they would be the host's. */
	if (!spec_namespace(s, CLONE_NEWUTS) && ((s->hostname && *s->hostname) ||
						   (s->domainname && *s->domainname)))
		return config_error(s->hostname && *s->hostname ? "hostname" : "domainname",
				    "needs a uts namespace");
	if (user && !user->path && (!s->nuid_mappings || !s->ngid_mappings))
		return config_error("linux.uidMappings",
				    "a new user namespace needs uidMappings and gidMappings");
	if (!spec_namespace(s, CLONE_NEWNS))
		return ns_check_without_mount(s, propagation_given);
	return 0;
}

static int parse_annotations(const struct json *obj, struct spec *s)
{
	if (cj_type(obj, JSON_OBJECT, "annotations") <= 0)
		return obj ? -1 : 0;
	s->annotations = xcalloc(obj->u.object.count, sizeof *s->annotations);
	for (size_t i = 0; i < obj->u.object.count; i++) {
		char *where = xasprintf("annotations.%s", obj->u.object.keys[i]);
		if (cj_string(obj->u.object.values[i], where, &s->annotations[i].value) < 0)
			return -1;
		s->annotations[i].key = obj->u.object.keys[i];
		s->nannotations++;
	}
	return 0;
}

int spec_load(const char *bundle, const char *id, struct spec *out)
{
	char resolved[PATH_MAX];
	char *path, *text;
	size_t len;

	memset(out, 0, sizeof *out);
	out->umask = -1;
	if (!realpath(bundle, resolved))
		return fail_errno("bundle", bundle);
	out->bundle = xstrdup(resolved);
	path = xasprintf("%s/config.json", out->bundle);
	text = read_whole_file("config", path, CONFIG_MAX_BYTES, &len);
	if (!text)
		return -1;
	return spec_parse(text, len, path, id, out);
}

int spec_parse(const char *text, size_t len, const char *origin, const char *id, struct spec *out)
{
	struct json *doc;

	if (json_parse(xasprintf("config: %s", origin), text, len, &doc) < 0)
		return -1;
	if (cj_type(doc, JSON_OBJECT, "config.json") < 0)
		return -1;
	out->id = xstrdup(id);
	if (cj_string(json_get(doc, "hostname"), "hostname", &out->hostname) < 0 ||
	    cj_string(json_get(doc, "domainname"), "domainname", &out->domainname) < 0)
		return -1;
	if (parse_annotations(json_get(doc, "annotations"), out) < 0 ||
	    parse_root(json_get(doc, "root"), out) < 0 ||
	    parse_process(json_get(doc, "process"), out) < 0 ||
	    parse_mounts(json_get(doc, "mounts"), out) < 0 ||
	    parse_linux(json_get(doc, "linux"), id, out) < 0 ||
	    hooks_parse(json_get(doc, "hooks"), "hooks", out->hooks) < 0)
		return -1;
	return check_consistency(out, json_get(json_get(doc, "linux"), "rootfsPropagation") != NULL);
}

int spec_load_process(const char *path, struct spec *s)
{
	struct json *doc;
	size_t len;
	char *text = read_whole_file("process", path, CONFIG_MAX_BYTES, &len);

	if (!text || json_parse(xasprintf("process: %s", path), text, len, &doc) < 0)
		return -1;
	s->args = s->env = NULL;
	s->cwd = NULL;
	s->uid = s->gid = 0;
	s->n_additional_gids = 0;
	s->umask = -1;
	s->terminal = 0;
	s->console_rows = s->console_cols = 0;
	if (json_get(doc, "rlimits"))
		s->nrlimits = 0;
	return parse_process(doc, s);
}
