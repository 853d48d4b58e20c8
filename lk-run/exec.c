#include "exec.h"
#include "console.h"
#include "container.h"
#include "err.h"
#include "io.h"
#include "process.h"
#include "spec.h"
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* The order they are joined in: user first (it grants the rights to join
 * the others), mount last (it changes what paths mean); pid is joined by the
 * parent, as it applies to children only. */
static const struct {
	const char *name;
	int flag;
} kinds[] = {
	{ "user", CLONE_NEWUSER }, { "ipc", CLONE_NEWIPC },       { "uts", CLONE_NEWUTS },
	{ "net", CLONE_NEWNET },   { "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
	{ "pid", CLONE_NEWPID },   { "mnt", CLONE_NEWNS },
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

struct target {
	int ns[NKINDS]; /* -1: shared with us, nothing to join */
	int root; /* the init's root directory */
};

static void close_target(struct target *t)
{
	for (size_t i = 0; i < NKINDS; i++)
		close_fd(&t->ns[i]);
	close_fd(&t->root);
}

static int same_file(const char *a, int fd)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && fstat(fd, &sb) == 0 && sa.st_ino == sb.st_ino &&
	       sa.st_dev == sb.st_dev;
}

/* Held open before anything is joined: the init may exit meanwhile. */
static int open_target(pid_t pid, struct target *t)
{
	char path[64];

	for (size_t i = 0; i < NKINDS; i++) {
		snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, kinds[i].name);
		t->ns[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (t->ns[i] < 0 && errno == ENOENT && strcmp(kinds[i].name, "time") == 0)
			continue;
		if (t->ns[i] < 0)
			return fail_errno("exec", path);
		snprintf(path, sizeof path, "/proc/self/ns/%s", kinds[i].name);
		if (same_file(path, t->ns[i])) {
			close(t->ns[i]);
			t->ns[i] = -1;
		}
	}
	snprintf(path, sizeof path, "/proc/%d/root", (int)pid);
	t->root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (t->root < 0)
		return fail_errno("exec", path);
	return 0;
}

static int join(struct target *t, int only_pid)
{
	for (size_t i = 0; i < NKINDS; i++) {
		if (t->ns[i] < 0 || (kinds[i].flag == CLONE_NEWPID) != only_pid)
			continue;
		if (setns(t->ns[i], kinds[i].flag) < 0)
			return fail("exec", "join the %s namespace: %s", kinds[i].name,
				    strerror(errno));
	}
	return 0;
}

/* The root too: after a pivot the mount namespace's root is the
 * container's, but not after the chroot fallback (move_root.c). */
static int enter(struct target *t)
{
	if (join(t, 0) < 0)
		return -1;
	if (fchdir(t->root) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return fail("exec", "enter the container's root: %s", strerror(errno));
	return 0;
}

static __attribute__((noreturn)) void child_main(const struct spec *s, struct target *t, int go_fd,
						 int status_fd, int console_fd)
{
	sigset_t none;
	char go;
	int exit_code = LK_EXIT_SETUP;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (read(go_fd, &go, 1) != 1)
		_exit(LK_EXIT_SETUP);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail("process", "dumpable: %s", strerror(errno));
	else if (container_close_inherited_fds(0) == 0 && enter(t) == 0 &&
		 (console_fd < 0 || console_setup(s, console_fd, 0) == 0) &&
		 process_prepare(s) == 0 && process_become_user(s) == 0)
		process_exec(s, &exit_code);
	container_report_error(status_fd, exit_code);
	_exit(exit_code);
}

static int join_cgroup(const char *dir, pid_t pid)
{
	char *path, text[16];
	int fd AUTO_FD = -1;
	int len = snprintf(text, sizeof text, "%d", (int)pid);

	if (!dir)
		return 0;
	path = xasprintf("%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write_all(fd, text, (size_t)len) < 0)
		return fail_errno("exec", path);
	return 0;
}

/* Forks the process inside the container; returns its pid once it has
 * exec'd, or -1 with *exit_code. */
static pid_t spawn(const struct spec *s, const struct state_container *c, struct target *t,
		   int console_fd, int *exit_code)
{
	int pipes[2][2];
	int go_read AUTO_FD = -1, go_write AUTO_FD = -1;
	int status_read AUTO_FD = -1, status_write AUTO_FD = -1;
	int verdict;
	pid_t pid;

	if (join(t, 1) < 0)
		return -1;
	if (pipe2(pipes[0], O_CLOEXEC) < 0)
		return fail("exec", "pipe: %s", strerror(errno));
	go_read = pipes[0][0], go_write = pipes[0][1];
	if (pipe2(pipes[1], O_CLOEXEC) < 0)
		return fail("exec", "pipe: %s", strerror(errno));
	status_read = pipes[1][0], status_write = pipes[1][1];
	pid = fork();
	if (pid < 0)
		return fail("exec", "fork: %s", strerror(errno));
	if (pid == 0)
		child_main(s, t, go_read, status_write, console_fd);
	close_fd(&status_write);
	status_write = -1;
	if (join_cgroup(c->cgroup_dir, pid) == 0 && write_all(go_write, "g", 1) == 0)
		verdict = container_read_status(status_read, exit_code);
	else
		verdict = -1;
	if (verdict < 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return -1;
	}
	return pid;
}

/* --user, --additional-gids, --cap and --no-new-privs, as runc applies them. */
static void apply_overrides(const struct exec_request *req, struct spec *s)
{
	if (req->has_user) {
		s->uid = req->uid;
		if (req->has_gid)
			s->gid = req->gid;
	}
	if (req->n_additional_gids) {
		size_t n = s->n_additional_gids;
		s->additional_gids =
			xrealloc(s->additional_gids, (n + req->n_additional_gids) * sizeof(gid_t));
		memcpy(s->additional_gids + n, req->additional_gids,
		       req->n_additional_gids * sizeof(gid_t));
		s->n_additional_gids = n + req->n_additional_gids;
	}
	/* Without process.capabilities the process keeps all of ours: nothing to add. */
	if (req->add_caps && s->caps.present) {
		s->caps.bounding |= req->add_caps;
		s->caps.effective |= req->add_caps;
		s->caps.permitted |= req->add_caps;
		/* The kernel raises an ambient capability only if it is inheritable too. */
		s->caps.ambient |= req->add_caps & s->caps.inheritable;
	}
	if (req->no_new_privs)
		s->no_new_privileges = 1;
}

/* The container's config with the requested process in place of its own. */
static int load_process(const char *id, const struct state_container *c,
			const struct exec_request *req, struct spec *s)
{
	if (spec_load(c->bundle, id, s) < 0)
		return -1;
	if (req->process_file) {
		if (spec_load_process(req->process_file, s) < 0)
			return -1;
	} else {
		size_t n = 0, extra = 0;
		while (s->env[n])
			n++;
		while (req->env && req->env[extra])
			extra++;
		s->env = xrealloc(s->env, (n + extra + 1) * sizeof *s->env);
		memcpy(s->env + n, req->env, extra * sizeof *s->env);
		s->env[n + extra] = NULL;
		s->args = req->args;
		s->terminal = req->tty;
	}
	if (req->cwd)
		s->cwd = (char *)req->cwd;
	apply_overrides(req, s);
	if (!s->args || !s->args[0])
		return fail("exec", "no program given (--process FILE or arguments after the id)");
	if (s->terminal && !req->console_socket)
		return fail("exec", "process.terminal needs --console-socket");
	if (!s->terminal && req->console_socket)
		return fail("exec", "--console-socket needs process.terminal");
	return 0;
}

int exec_run(const char *root, const char *id, const struct exec_request *req)
{
	struct state_container c;
	struct spec s;
	struct target t __attribute__((cleanup(close_target)));
	int console_fd AUTO_FD = -1, exit_code = 1;
	pid_t pid;

	memset(&t, 0xff, sizeof t);
	if (state_find(root, id, &c) < 0)
		return 1;
	if (load_process(id, &c, req, &s) < 0)
		return LK_EXIT_SETUP;
	if (req->console_socket && (console_fd = console_connect(req->console_socket)) < 0)
		return 1;
	if (open_target(c.pid, &t) < 0)
		return 1;
	container_block_signals();
	pid = spawn(&s, &c, &t, console_fd, &exit_code);
	if (pid < 0)
		return exit_code;
	if (req->pid_file && state_write_pid_file(req->pid_file, pid) < 0) {
		kill(pid, SIGKILL);
		return 1;
	}
	return req->detach ? 0 : container_wait(pid);
}
