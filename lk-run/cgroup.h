/* cgroupsPath and resources, mapped onto cgroup v2 files. */
#ifndef LK_CGROUP_H
#define LK_CGROUP_H

#include <sys/types.h>

#include <stddef.h>

#include "spec.h"

struct json;

#define CGROUP_ROOT "/sys/fs/cgroup"

/* Where a container's cgroup is, and what lk-run made for it. */
struct cgroup_handle {
	char *dir; /* the container's cgroup directory, or NULL */
	char *created; /* the topmost directory lk-run created, or NULL */
};

/* A LinuxResources object as cgroup v2 files; prefix names its fields in
 * errors ("linux.resources", or "resources" for update). */
int cgroup_resources_parse(const struct json *resources, const char *prefix,
			   struct cgroup_spec *out);

/* Translates linux.cgroupsPath and linux.resources into cgroup_spec. */
int cgroup_spec_parse(const struct json *linux_obj, const char *id, struct cgroup_spec *out);

/* Creates the cgroup (and missing parents), enables the controllers the
 * limits need, writes the limits and moves pid into it. Without cgroup v2
 * a cgroup without limits is skipped. On failure nothing created remains. */
int cgroup_enter(const struct cgroup_spec *cg, pid_t pid, struct cgroup_handle *out);

/* Writes new limits into a container's existing cgroup (update). Each
 * controller is checked before anything is written. */
int cgroup_update(const char *dir, const struct cgroup_spec *cg);

/* pause/resume through cgroup.freeze; returns once cgroup.events agrees. */
int cgroup_freeze(const char *dir, int frozen);
int cgroup_is_frozen(const char *dir);

/* The pids in dir's cgroup and every cgroup below it. */
int cgroup_pids(const char *dir, pid_t **pids, size_t *count);

/* Removes the directories cgroup_enter created, once they are empty. */
void cgroup_remove(const struct cgroup_handle *h);

#endif
