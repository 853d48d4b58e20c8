/* The OCI lifecycle verbs (create, start, state, kill, delete) and their
 * state directory, one folder per container under the root. */
#ifndef LK_STATE_H
#define LK_STATE_H

#include <sys/types.h>

#define STATE_DEFAULT_ROOT "/run/lk-run"

/* Ids become directory names: letters, digits, '-', '_', '.', '+', not "." or "..". */
int state_check_id(const char *id);
int state_write_pid_file(const char *path, pid_t pid);

/* Each returns the process exit status; failures leave lk_err set. */
int state_create(const char *root, const char *id, const char *bundle, const char *pid_file,
		 int preserve_fds);
int state_start(const char *root, const char *id);
int state_print(const char *root, const char *id);
int state_kill(const char *root, const char *id, const char *signal);
int state_delete(const char *root, const char *id, int force);

/* For the verbs that act on a container's cgroup (update, pause, resume, ps):
 * its cgroup directory (NULL without one) and status name. */
int state_lookup(const char *root, const char *id, char **cgroup_dir, const char **status);

#endif
