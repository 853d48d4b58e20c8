#include "container.h"
#include "cgroup.h"
#include "console.h"
#include "err.h"
#include "hooks.h"
#include "io.h"
#include "namespaces.h"
#include "process.h"
#include "rootfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Child -> parent messages on the status pipe. End of file without a
 * message means the process was exec'd. */
#define MSG_ERROR 'E' /* then one byte exit code, then the error text */
#define MSG_READY 'R' /* create: set up, waiting for start */
#define MSG_HOOKS 'H' /* namespaces and mounts are ready: run the runtime's hooks */
#define MSG_HOOKS_DONE 'h' /* parent -> child: they succeeded */

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#define KEYCTL_JOIN_SESSION_KEYRING 1 /* linux/keyctl.h, not in musl's headers */
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static const int forwarded_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

static sigset_t saved_mask;

static void forwarded_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
		sigaddset(set, forwarded_signals[i]);
	sigaddset(set, SIGCHLD);
}

void container_block_signals(void)
{
	sigset_t set;

	forwarded_set(&set);
	sigprocmask(SIG_BLOCK, &set, &saved_mask);
}

void container_report_error(int fd, int exit_code)
{
	char head[2] = { MSG_ERROR, (char)exit_code };

	/* Best effort: the reader treats a short message as a failure too. */
	if (write_all(fd, head, sizeof head) == 0)
		(void)write_all(fd, lk_err, strlen(lk_err));
}

/* Blocks until the create caller's `start` connects; that connection then
 * carries any exec error back to it. */
static int wait_for_start(int start_fd, int *status_fd)
{
	char ready = MSG_READY;
	int conn;

	(void)write_all(*status_fd, &ready, 1);
	do
		conn = accept4(start_fd, NULL, NULL, SOCK_CLOEXEC);
	while (conn < 0 && errno == EINTR);
	if (conn < 0)
		return fail("start", "accept: %s", strerror(errno));
	close(start_fd);
	close(*status_fd);
	*status_fd = conn;
	return 0;
}

/* Descriptors the launcher inherited (from the init, say) must not leak
 * into the container. */
int container_close_inherited_fds(int preserve)
{
	unsigned first = 3 + (unsigned)preserve;
	DIR *dir;
	struct dirent *entry;

	if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
	/* Kernels before 5.11: walk the table while the host's /proc is visible. */
	dir = opendir("/proc/self/fd");
	if (!dir)
		return fail_errno("fds", "/proc/self/fd");
	while ((entry = readdir(dir))) {
		int fd = atoi(entry->d_name);
		if (fd >= (int)first && fd != dirfd(dir))
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	closedir(dir);
	return 0;
}

/* The parent holds the go pipe's write end until the container has exec'd or
 * failed, so a hang-up means it died, possibly before PR_SET_PDEATHSIG took. */
static int set_pdeath_kill(int go_fd)
{
	struct pollfd parent = { .fd = go_fd, .events = POLLIN };

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return fail("process", "pdeathsig: %s", strerror(errno));
	if (poll(&parent, 1, 0) > 0 && (parent.revents & POLLHUP))
		return fail("process", "the launcher exited during setup");
	return 0;
}

/* A session keyring of its own, as runc gives each container: keys a
 * process adds are not shared with the caller's session. Kernels without
 * keys (ENOSYS) go on without. */
static int join_new_keyring(void)
{
	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0 && errno != ENOSYS)
		return fail("keyring", "new session keyring: %s", strerror(errno));
	return 0;
}

/* Child, before pivot_root: prestart and createRuntime run in the launcher
 * (the runtime namespace) while we wait, then createContainer here, in the
 * container's namespaces with the runtime's paths still visible. */
static int create_hooks(const struct spec *s, int go_fd, int status_fd, pid_t host_pid)
{
	char msg = MSG_HOOKS, reply = 0;

	if (hooks_any(s->hooks, HOOK_PRESTART, HOOK_CREATE_RUNTIME) &&
	    (write_all(status_fd, &msg, 1) < 0 || read(go_fd, &reply, 1) != 1 ||
	     reply != MSG_HOOKS_DONE))
		return fail("hooks", "the launcher gave up");
	if (!s->hooks[HOOK_CREATE_CONTAINER].count)
		return 0;
	return hooks_run(s->hooks, HOOK_CREATE_CONTAINER, hooks_spec_state(s, "creating", host_pid));
}

/* The root filesystem, with the create hooks before the pivot. Without a
 * mount namespace the caller's mounts stay as they are (spec.c refuses
 * anything that would mount) and the rootfs becomes the root by chroot. */
static int build_root(const struct spec *s, int go_fd, int status_fd, pid_t host_pid)
{
	if (!spec_namespace(s, CLONE_NEWNS))
		return create_hooks(s, go_fd, status_fd, host_pid) < 0
			       ? -1
			       : rootfs_enter_without_mounts(s);
	if (rootfs_prepare(s) < 0 || create_hooks(s, go_fd, status_fd, host_pid) < 0 ||
	    rootfs_pivot(s) < 0)
		return -1;
	return rootfs_finalize(s);
}

static int build_container(const struct spec *s, const struct spawn_options *opts, int go_fd,
			   int *status_fd, pid_t host_pid, int *exit_code)
{
	int start_fd = opts->start_fd, pdeath_kill = opts->pdeath_kill;

	*exit_code = LK_EXIT_SETUP;
	if (container_close_inherited_fds(opts->preserve_fds) < 0)
		return -1;
	/* Not dumpable until exec: a process joining this pid namespace must not
	 * reach the launcher's memory or /proc/<pid>/exe. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return fail("process", "dumpable: %s", strerror(errno));
	if (pdeath_kill && set_pdeath_kill(go_fd) < 0)
		return -1;
	if (!opts->no_new_keyring && join_new_keyring() < 0)
		return -1;
	if (process_set_oom_score_adj(s) < 0 || ns_enter(s) < 0)
		return -1;
	if (s->hostname && *s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
		return fail_errno("hostname", s->hostname);
	if (s->domainname && *s->domainname &&
	    setdomainname(s->domainname, strlen(s->domainname)) < 0)
		return fail_errno("domainname", s->domainname);
	umask(0);
	if (build_root(s, go_fd, *status_fd, host_pid) < 0)
		return -1;
	/* /dev/console only in a mount namespace of the container's own. */
	if (opts->console_fd >= 0 &&
	    console_setup(s, opts->console_fd, spec_namespace(s, CLONE_NEWNS) != NULL) < 0)
		return -1;
	if (process_prepare(s) < 0 || process_become_user(s) < 0)
		return -1;
	/* Again: the uid change resets it. The container must not outlive a
	 * killed launcher. */
	if (pdeath_kill && set_pdeath_kill(go_fd) < 0)
		return -1;
	if (start_fd >= 0 && wait_for_start(start_fd, status_fd) < 0)
		return -1;
	/* As runc: in the container, as its user, just before the exec. */
	if (s->hooks[HOOK_START_CONTAINER].count &&
	    hooks_run(s->hooks, HOOK_START_CONTAINER, hooks_spec_state(s, "created", host_pid)) < 0)
		return -1;
	return process_exec(s, exit_code);
}

static __attribute__((noreturn)) void
child_main(const struct spec *s, const struct spawn_options *opts, int go_fd, int status_fd)
{
	pid_t host_pid;
	int exit_code;

	sigprocmask(SIG_SETMASK, &saved_mask, NULL);
	/* "Go" is our pid as the runtime sees it (for the hooks' state). The
	 * parent closes its end without it when it gives up. */
	if (read(go_fd, &host_pid, sizeof host_pid) != sizeof host_pid)
		_exit(LK_EXIT_SETUP);
	build_container(s, opts, go_fd, &status_fd, host_pid, &exit_code);
	container_report_error(status_fd, exit_code);
	_exit(exit_code);
}

/* Reads the child's verdict: 0 exec'd, 1 ready, 2 hooks to run, -1 error
 * (lk_err set). */
int container_read_status(int fd, int *exit_code)
{
	char buf[2 + LK_ERR_MAX];
	size_t len = 0;

	for (;;) {
		ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail("spawn", "status pipe: %s", strerror(errno));
		if (r == 0)
			break;
		len += (size_t)r;
		if (buf[0] == MSG_READY)
			return 1;
		if (buf[0] == MSG_HOOKS)
			return 2;
		if (len == sizeof buf - 1)
			break;
	}
	if (len == 0)
		return 0;
	if (buf[0] != MSG_ERROR || len < 2)
		return fail("spawn", "the container process failed before reporting");
	buf[len] = '\0';
	*exit_code = (unsigned char)buf[1];
	snprintf(lk_err, sizeof lk_err, "%s", buf + 2);
	return -1;
}

static void reap(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static int check_rootfs(const struct spec *s)
{
	struct stat st;

	if (stat(s->rootfs, &st) < 0)
		return fail_errno("rootfs", s->rootfs);
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return fail_errno("rootfs", s->rootfs);
	}
	return 0;
}

/* Parent: the runtime-namespace create hooks, while the child waits before
 * its pivot; then lets it go on. */
static int runtime_hooks(const struct spec *s, pid_t pid, int go_fd)
{
	char *state = hooks_spec_state(s, "creating", pid);
	char done = MSG_HOOKS_DONE;

	if (hooks_run(s->hooks, HOOK_PRESTART, state) < 0 ||
	    hooks_run(s->hooks, HOOK_CREATE_RUNTIME, state) < 0)
		return -1;
	return write_all(go_fd, &done, 1) < 0 ? fail("spawn", "go pipe: %s", strerror(errno)) : 0;
}

/* Child and parent talk until it has exec'd (0), is ready (1) or failed. */
static int converse(const struct spec *s, pid_t pid, int go_fd, int status_fd, int *exit_code,
		    int *hooks_began)
{
	int verdict;

	(void)write_all(go_fd, (const char *)&pid, sizeof pid);
	verdict = container_read_status(status_fd, exit_code);
	if (verdict != 2)
		return verdict;
	*hooks_began = 1;
	if (runtime_hooks(s, pid, go_fd) < 0)
		return -1;
	verdict = container_read_status(status_fd, exit_code);
	return verdict == 2 ? fail("spawn", "unexpected message from the container") : verdict;
}

int container_spawn(const struct spec *s, const struct spawn_options *opts, struct spawned *out,
		    int *exit_code)
{
	int go[2], status[2], verdict, hooks_began = 0;
	int runtime_pid_ns AUTO_FD = -1;
	pid_t pid;

	*exit_code = LK_EXIT_SETUP;
	memset(out, 0, sizeof *out);
	if (check_rootfs(s) < 0 || ns_check_paths(s) < 0 || ns_join_pid(s, &runtime_pid_ns) < 0)
		return -1;
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(status, O_CLOEXEC) < 0)
		return fail("spawn", "pipe: %s", strerror(errno));
	/* A raw clone behaves like fork but can create the user and pid
	 * namespaces together, the pid one owned by the user one. */
	pid = (pid_t)syscall(SYS_clone, SIGCHLD | ns_clone_flags(s), NULL, NULL, NULL, NULL);
	if (pid < 0) {
		fail("spawn", "clone: %s", strerror(errno));
		close(go[0]);
		close(go[1]);
		close(status[0]);
		close(status[1]);
		return -1;
	}
	if (pid == 0) {
		close(go[1]);
		close(status[0]);
		child_main(s, opts, go[0], status[1]);
	}
	close(go[0]);
	close(status[1]);
	if (ns_restore_pid(runtime_pid_ns) < 0 || ns_write_id_maps(s, pid) < 0 ||
	    cgroup_enter(&s->cgroup, pid, &out->cgroup) < 0) {
		close(go[1]);
		close(status[0]);
		kill(pid, SIGKILL);
		reap(pid);
		return -1;
	}
	verdict = converse(s, pid, go[1], status[0], exit_code, &hooks_began);
	close(go[1]);
	if (verdict < 0) {
		close(status[0]);
		kill(pid, SIGKILL);
		reap(pid);
		cgroup_remove(&out->cgroup);
		/* The lifecycle goes on at "delete" once the hooks began. */
		if (hooks_began)
			hooks_run_spec_logged(s, HOOK_POSTSTOP, "stopped", 0);
		return -1;
	}
	if (verdict == 0) {
		close(status[0]);
		status[0] = -1;
		/* run: the process was exec'd, which is what start does. */
		hooks_run_spec_logged(s, HOOK_POSTSTART, "running", pid);
	}
	out->pid = pid;
	out->status_fd = status[0];
	return 0;
}

int container_wait(pid_t pid)
{
	sigset_t set;
	siginfo_t info;

	forwarded_set(&set);
	for (;;) {
		int status, sig = sigwaitinfo(&set, &info);
		pid_t done;

		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			kill(pid, sig);
			continue;
		}
		while ((done = waitpid(-1, &status, WNOHANG)) > 0) {
			if (done != pid)
				continue;
			if (WIFSIGNALED(status))
				return 128 + WTERMSIG(status);
			return WEXITSTATUS(status);
		}
	}
}
