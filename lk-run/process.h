/* The container process: limits, identity, privileges and exec. */
#ifndef LK_PROCESS_H
#define LK_PROCESS_H

#include "json.h"
#include "spec.h"

/* linux.personality: domain LINUX or LINUX32 (the spec defines no flags yet). */
int process_parse_personality(const struct json *obj, struct spec *s);

/* Before entering namespaces, while the host's /proc is still ours. */
int process_set_oom_score_adj(const struct spec *s);

/* While still fully privileged: rlimits, noNewPrivileges, and a seccomp
 * filter that needs CAP_SYS_ADMIN to install (no NNP). */
int process_prepare(const struct spec *s);

/* Bounding set, uid/gid/groups, then the capability sets. */
int process_become_user(const struct spec *s);

/* umask, cwd, a late seccomp filter (with NNP), then execve. Returns only
 * on failure, with *exit_code 127 (not found) or 126 (cannot execute). */
int process_exec(const struct spec *s, int *exit_code);

#endif
