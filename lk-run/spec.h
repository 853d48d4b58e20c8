/* The subset of the OCI runtime-spec config that lk-run honours, validated
 * and converted to native values before anything is created. */
#ifndef LK_SPEC_H
#define LK_SPEC_H

#include "devices.h"
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct json;

/* The runtime-spec version of the state lk-run reports (state, hooks). */
#define OCI_VERSION "1.0.2"

struct mount_spec {
	char *destination; /* absolute path inside the container */
	char *source;
	char *type;
	unsigned long flags; /* MS_* set by the options */
	unsigned long clear; /* MS_* explicitly cleared (rw, suid, dev, ...) */
	unsigned long propagation; /* MS_PRIVATE / MS_SHARED / ... with MS_REC, or 0 */
	uint64_t attr_set; /* MOUNT_ATTR_* for recursive options (rro, rnoexec, ...) */
	uint64_t attr_clear;
	int bind; /* bind or rbind */
	char *data; /* options the kernel filesystem parses itself */
};

struct namespace_spec {
	int flag; /* CLONE_NEW* */
	char *path; /* join this namespace, or NULL to create one */
};

struct id_mapping {
	unsigned long container_id, host_id, size;
};

struct rlimit_spec {
	const char *name; /* RLIMIT_NOFILE, ... for messages */
	int resource;
	uint64_t soft, hard;
};

struct device_spec {
	char *path;
	mode_t type; /* S_IFCHR, S_IFBLK or S_IFIFO */
	unsigned major, minor;
	mode_t mode; /* permission bits */
	uid_t uid;
	gid_t gid;
};

struct key_value {
	char *key, *value;
};

/* One hook of config.json's "hooks" (hooks.c runs them). */
struct hook {
	char *path; /* absolute */
	char **args; /* NULL-terminated; {path} when absent */
	char **env; /* NULL-terminated; empty when absent */
	unsigned timeout; /* seconds; 0: none */
};

struct hook_list {
	struct hook *items;
	size_t count;
};

/* In the order the runtime spec runs them. */
enum hook_kind {
	HOOK_PRESTART,
	HOOK_CREATE_RUNTIME,
	HOOK_CREATE_CONTAINER,
	HOOK_START_CONTAINER,
	HOOK_POSTSTART,
	HOOK_POSTSTOP,
	HOOK_KINDS
};

struct capability_sets {
	int present; /* process.capabilities given: otherwise keep ours */
	uint64_t bounding, effective, inheritable, permitted, ambient;
};

/* One cgroup v2 file to write, already formatted as its content. */
struct cgroup_file {
	char *key, *value; /* e.g. "memory.max", "1048576" */
	char *origin; /* the config field it comes from, named in errors */
	char *fallback_key, *fallback_value; /* written where key does not exist */
	int optional; /* skipped where the file does not exist */
};

/* cgroup v2 settings (cgroup.c, cgroup_resources.c). */
struct cgroup_spec {
	char *path; /* relative to the cgroup2 mount; NULL: no cgroup */
	struct cgroup_file *files;
	size_t nfiles;
	int check_before_update; /* memory.checkBeforeUpdate */
	struct device_rules devices; /* the device filter for the cgroup */
};

struct bpf_insn_lk {
	uint16_t code;
	uint8_t jt, jf;
	uint32_t k;
};

struct seccomp_program {
	struct bpf_insn_lk *insns;
	size_t count;
	unsigned flags; /* SECCOMP_FILTER_FLAG_* */
};

struct spec {
	char *id;
	char *bundle; /* absolute */
	char *rootfs; /* absolute */
	int root_readonly;
	char *hostname;
	char *domainname;
	struct key_value *annotations;
	size_t nannotations;

	char **args; /* NULL-terminated */
	char **env; /* NULL-terminated */
	char *cwd;
	uid_t uid;
	gid_t gid;
	gid_t *additional_gids;
	size_t n_additional_gids;
	int umask; /* -1: unchanged */
	struct capability_sets caps;
	struct rlimit_spec *rlimits;
	size_t nrlimits;
	int no_new_privileges;
	int has_oom_score_adj;
	int oom_score_adj;
	int terminal; /* process.terminal: a pty for stdio (console.c) */
	unsigned short console_rows, console_cols; /* process.consoleSize; 0: not given */

	struct mount_spec *mounts;
	size_t nmounts;
	struct namespace_spec *namespaces;
	size_t nnamespaces;
	struct id_mapping *uid_mappings, *gid_mappings;
	size_t nuid_mappings, ngid_mappings;
	struct device_spec *devices;
	size_t ndevices;
	struct key_value *sysctl;
	size_t nsysctl;
	char **masked_paths;
	size_t nmasked_paths;
	char **readonly_paths;
	size_t nreadonly_paths;
	unsigned long rootfs_propagation; /* MS_* | MS_REC */
	char *time_offsets; /* for /proc/self/timens_offsets, or NULL */
	int has_personality;
	unsigned long personality; /* PER_LINUX or PER_LINUX32 */
	struct cgroup_spec cgroup;
	struct seccomp_program *seccomp; /* NULL: no filter */
	struct hook_list hooks[HOOK_KINDS];
};

/* Reads and validates <bundle>/config.json. */
int spec_load(const char *bundle, const char *id, struct spec *out);

/* Validates a config.json already in memory (text[len] must be NUL); origin
 * names it in errors. out must be zeroed with umask -1, as spec_load does.
 * The fuzz target in fuzz/ drives this. */
int spec_parse(const char *text, size_t len, const char *origin, const char *id, struct spec *out);

/* exec --process: replaces the process section of a loaded config with the
 * runtime-spec process object in path. What the file leaves out (capabilities,
 * rlimits, noNewPrivileges) stays as the container's config has it, as runc does. */
int spec_load_process(const char *path, struct spec *s);

/* "network", "uts", ... for a CLONE_NEW* flag. */
const char *spec_namespace_name(int flag);

/* The namespace entry for a CLONE_NEW* flag, or NULL if not listed. */
const struct namespace_spec *spec_namespace(const struct spec *spec, int flag);

#endif
