/* lk-run update [--resources FILE|-] [runc's limit flags] ID: new cgroup
 * limits for a created, running or paused container. The resources are a
 * LinuxResources JSON object, as containerd's shim writes it to stdin; the
 * device filter stays as create made it (devices in the object are ignored). */
#include "cgroup.h"
#include "cmd.h"
#include "err.h"
#include "io.h"
#include "json.h"

#include <stdio.h>
#include <string.h>

#define RESOURCES_MAX_BYTES (16 << 20)

/* runc's flags, each one field of LinuxResources. */
static const struct {
	const char *flag, *section, *field;
	int is_string;
} update_flags[] = {
	{ "--memory", "memory", "limit", 0 },
	{ "--memory-reservation", "memory", "reservation", 0 },
	{ "--memory-swap", "memory", "swap", 0 },
	{ "--pids-limit", "pids", "limit", 0 },
	{ "--cpu-share", "cpu", "shares", 0 },
	{ "--cpu-quota", "cpu", "quota", 0 },
	{ "--cpu-period", "cpu", "period", 0 },
	{ "--cpu-rt-runtime", "cpu", "realtimeRuntime", 0 },
	{ "--cpu-rt-period", "cpu", "realtimePeriod", 0 },
	{ "--cpuset-cpus", "cpu", "cpus", 1 },
	{ "--cpuset-mems", "cpu", "mems", 1 },
	{ "--blkio-weight", "blockIO", "weight", 0 },
};

#define NFLAGS (sizeof update_flags / sizeof update_flags[0])

static int is_integer(const char *s)
{
	s += *s == '-';
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* The flags as a LinuxResources JSON text, grouped by section. */
static char *flags_json(const char *const *values)
{
	static const char *const sections[] = { "memory", "pids", "cpu", "blockIO" };
	char *out = xstrdup("{");

	for (size_t s = 0; s < sizeof sections / sizeof sections[0]; s++) {
		char *fields = xstrdup("");
		for (size_t i = 0; i < NFLAGS; i++) {
			if (!values[i] || strcmp(update_flags[i].section, sections[s]) != 0)
				continue;
			fields = xasprintf("%s%s\"%s\":%s", fields, *fields ? "," : "",
					   update_flags[i].field,
					   update_flags[i].is_string ? json_quote(values[i]) : values[i]);
		}
		if (*fields)
			out = xasprintf("%s%s\"%s\":{%s}", out, out[1] ? "," : "", sections[s], fields);
	}
	return xasprintf("%s}", out);
}

static int parse_args(int argc, char **argv, const char **resources, const char **values,
		      const char **id)
{
	int nflags = 0;

	for (int i = 0; i < argc; i++) {
		int r = cmd_option(argv, argc, &i, "--resources", resources);
		if (!r)
			r = cmd_option(argv, argc, &i, "-r", resources);
		for (size_t f = 0; !r && f < NFLAGS; f++) {
			if ((r = cmd_option(argv, argc, &i, update_flags[f].flag, &values[f])) <= 0)
				continue;
			nflags++;
			if (!update_flags[f].is_string && !is_integer(values[f]))
				return fail("usage", "%s needs an integer, not \"%s\"",
					    update_flags[f].flag, values[f]);
		}
		if (r < 0)
			return -1;
		if (r)
			continue;
		if (argv[i][0] == '-' && argv[i][1])
			return fail("usage", "update: unknown option %s", argv[i]);
		if (*id)
			return fail("usage", "update: unexpected argument %s", argv[i]);
		*id = argv[i];
	}
	if (!*id)
		return fail("usage", "update: missing container id");
	if (*resources && nflags)
		return fail("usage", "update: --resources and limit flags cannot be combined");
	if (!*resources && !nflags)
		return fail("usage", "update: nothing to update (--resources FILE|- or a limit flag)");
	return 0;
}

int cmd_update(const char *root, int argc, char **argv)
{
	static const char *const states[] = { "running", "created", "paused", NULL };
	const char *resources = NULL, *id = NULL, *values[NFLAGS] = { 0 };
	struct cgroup_spec cg = { 0 };
	struct json *doc;
	char *text, *dir;
	size_t len;

	if (parse_args(argc, argv, &resources, values, &id) < 0)
		return 2;
	if (resources) {
		text = strcmp(resources, "-") == 0
			       ? read_whole_fd("update", "stdin", 0, RESOURCES_MAX_BYTES, &len)
			       : read_whole_file("update", resources, RESOURCES_MAX_BYTES, &len);
		if (!text)
			return 1;
	} else {
		text = flags_json(values);
		len = strlen(text);
	}
	if (json_parse(xasprintf("update: %s", !resources ? "flags" : strcmp(resources, "-") == 0 ? "stdin" : resources), text, len, &doc) <
		    0 ||
	    cgroup_resources_parse(doc, "resources", &cg) < 0 ||
	    cmd_container_cgroup(root, id, "update", states, &dir) < 0 || cgroup_update(dir, &cg) < 0)
		return 1;
	return 0;
}
