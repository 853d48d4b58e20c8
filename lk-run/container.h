/* Starting the container process: the parent clones a child that builds the
 * container and execs the process; the parent waits, forwards signals and
 * reports the exit status. */
#ifndef LK_CONTAINER_H
#define LK_CONTAINER_H

#include <sys/types.h>

#include "cgroup.h"
#include "spec.h"

struct spawned {
	pid_t pid;
	int status_fd; /* create mode: the child's channel, kept open */
	struct cgroup_handle cgroup;
};

struct spawn_options {
	int start_fd; /* create: listening socket to wait on before exec, or -1 */
	int pdeath_kill; /* the container dies with the launcher (run) */
	int preserve_fds; /* fds 3 .. 3+n-1 stay open in the container */
	int console_fd; /* process.terminal: connected --console-socket, or -1 */
	int no_new_keyring; /* keep the caller's session keyring (--no-new-keyring) */
};

/* Builds the container in a child. Without a start_fd the child execs the
 * process at once; with it (create), the child reports ready and waits for
 * a connection on that socket before exec.
 * Returns 0 once the child has exec'd (or is ready); on failure nothing is
 * left behind and *exit_code says how to exit. */
int container_spawn(const struct spec *s, const struct spawn_options *opts, struct spawned *out,
		    int *exit_code);

/* Waits for the spawned child, forwarding the usual termination signals;
 * returns its exit status or 128+signal. */
int container_wait(pid_t pid);

/* Signals blocked by lk-run so they can be forwarded. */
void container_block_signals(void);

/* The child -> parent status channel, shared with exec.c: the child reports
 * lk_err and its exit code; the parent reads 0 (exec'd: end of file),
 * 1 (ready, create only) or -1 (error, lk_err and *exit_code set). */
void container_report_error(int fd, int exit_code);
int container_read_status(int fd, int *exit_code);

/* Marks fds from 3 + preserve on close-on-exec. */
int container_close_inherited_fds(int preserve);

#endif
