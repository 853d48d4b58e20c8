/* exec: another process in a created or running container. It enters every
 * namespace of the container's init that differs from the caller's, its
 * cgroup and its root, and runs with the user, capabilities, rlimits,
 * noNewPrivileges, env and cwd of the process it is given (runtime-spec
 * process.json, or the config's process with new args) under the
 * container's seccomp filter. */
#ifndef LK_EXEC_H
#define LK_EXEC_H

#include <stdint.h>
#include <sys/types.h>

struct exec_request {
	const char *process_file; /* --process, or NULL for the plain form */
	char **args; /* plain form: the program and its arguments */
	char **env; /* --env NAME=VALUE additions (plain form), NULL-terminated */
	const char *cwd; /* --cwd, or NULL */
	const char *pid_file; /* or NULL */
	const char *console_socket; /* process.terminal: where the pty master goes */
	int detach; /* return once the process runs, else wait and pass on its status */
	int tty; /* --tty: process.terminal for the plain form */
	/* runc's overrides, for either form: --user UID[:GID], --additional-gids
	 * (added to the process's), --cap (added to its bounding, effective and
	 * permitted sets, and to ambient where it is inheritable),
	 * --no-new-privs. */
	int has_user;
	uid_t uid;
	gid_t gid; /* the process's own unless given after the uid */
	int has_gid;
	const gid_t *additional_gids;
	size_t n_additional_gids;
	uint64_t add_caps;
	int no_new_privs;
};

/* Returns the exit status: the process's (128+signal when killed) unless
 * detached, 0 when detached, 1 or 125 when lk-run fails (lk_err set), 126
 * or 127 when the program cannot be executed or found. */
int exec_run(const char *root, const char *id, const struct exec_request *req);

#endif
