/* The OCI lifecycle verbs (create, start, state, kill, delete) and their
 * state directory, one folder per container under the root. */
#ifndef LK_STATE_H
#define LK_STATE_H

#include <sys/types.h>

#define STATE_DEFAULT_ROOT "/run/lk-run"

/* Ids become directory names: letters, digits, '-', '_', '.', '+', not "." or "..". */
int state_check_id(const char *id);
int state_write_pid_file(const char *path, pid_t pid);

/* What `create` is asked for on its command line. */
struct create_request {
	const char *bundle;
	const char *pid_file; /* or NULL */
	const char *console_socket; /* process.terminal: where the pty master goes */
	int preserve_fds;
	int no_new_keyring;
};

/* Each returns the process exit status; failures leave lk_err set. Refusals
 * use runc's words, which containerd's shim matches ("does not exist",
 * "container not running"). */
int state_create(const char *root, const char *id, const struct create_request *req);
int state_start(const char *root, const char *id);
int state_print(const char *root, const char *id);
/* all: every process in the container's cgroup (kill --all). */
int state_kill(const char *root, const char *id, const char *signal, int all);
/* Kills what still runs with force (or while created), waits for it, then
 * removes the cgroup lk-run made and the state directory. */
int state_delete(const char *root, const char *id, int force);

/* A container that exec can enter: created or running. */
struct state_container {
	pid_t pid; /* its init, on the host */
	char *bundle;
	char *cgroup_dir; /* or NULL */
};
int state_find(const char *root, const char *id, struct state_container *out);

/* For the verbs that act on a container's cgroup (update, pause, resume, ps):
 * its cgroup directory (NULL without one) and status name. */
int state_lookup(const char *root, const char *id, char **cgroup_dir, const char **status);

#endif
