/* The cgroup v2 device filter: linux.resources.devices plus the spec's default
 * allow list (and linux.devices), compiled to a BPF_PROG_TYPE_CGROUP_DEVICE
 * program attached to the container's cgroup, as runc and crun do. */
#ifndef LK_DEVICES_H
#define LK_DEVICES_H

#include <stddef.h>
#include <stdint.h>

struct json;

struct device_rule {
	int allow;
	char type; /* 'a', 'b' or 'c' */
	int64_t major, minor; /* -1: any */
	unsigned access; /* DEV_ACCESS_* bits */
};

struct device_rules {
	struct device_rule *items;
	size_t count;
};

/* resources.devices, then the default allow list, then an allow rule for
 * every linux.devices entry; the last matching rule decides, default deny. */
int device_rules_parse(const struct json *linux_obj, struct device_rules *out);

/* Loads the filter and attaches it to the cgroup directory fd. */
int device_filter_attach(const struct device_rules *rules, int cgroup_fd);

#endif
