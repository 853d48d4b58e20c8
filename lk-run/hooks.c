#include "hooks.h"
#include "config_json.h"
#include "err.h"
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* linux/close_range.h's flag (musl's headers have the syscall numbers only). */
#define HOOK_CLOSE_RANGE_CLOEXEC (1U << 2)

/* A hook's state document holds the annotations, so it is as large as they are. */
#define HOOKS_FILE_MAX_BYTES (16 << 20)

static const char *const kind_names[HOOK_KINDS] = {
	"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
};

/* ---- config ----------------------------------------------------------- */

static int parse_hook(const struct json *item, const char *where, struct hook *h)
{
	int64_t timeout = 0;
	int r;

	if (cj_type(item, JSON_OBJECT, where) < 0 ||
	    cj_string(json_get(item, "path"), xasprintf("%s.path", where), &h->path) < 0 ||
	    cj_strings(json_get(item, "args"), xasprintf("%s.args", where), &h->args, NULL) < 0 ||
	    cj_strings(json_get(item, "env"), xasprintf("%s.env", where), &h->env, NULL) < 0)
		return -1;
	/* The spec: if set, timeout MUST be greater than zero. */
	r = cj_int64(json_get(item, "timeout"), xasprintf("%s.timeout", where), 1, INT32_MAX,
		     &timeout);
	if (r < 0)
		return -1;
	h->timeout = (unsigned)timeout;
	if (!h->path)
		return config_error(where, "missing path");
	if (h->path[0] != '/')
		return config_error(xasprintf("%s.path", where), "\"%s\" is not an absolute path",
				    h->path);
	/* execv semantics: argv as given (absent: the path alone), environ as given. */
	if (!h->args || !h->args[0]) {
		h->args = xcalloc(2, sizeof(char *));
		h->args[0] = h->path;
	}
	if (!h->env)
		h->env = xcalloc(1, sizeof(char *));
	return 0;
}

int hooks_parse(const struct json *obj, const char *where, struct hook_list out[HOOK_KINDS])
{
	if (cj_type(obj, JSON_OBJECT, where) <= 0)
		return obj ? -1 : 0;
	for (int k = 0; k < HOOK_KINDS; k++) {
		const struct json *list = json_get(obj, kind_names[k]);
		char *list_where = xasprintf("%s.%s", where, kind_names[k]);

		if (cj_type(list, JSON_ARRAY, list_where) <= 0) {
			if (list)
				return -1;
			continue;
		}
		out[k].items = xcalloc(list->u.array.count, sizeof *out[k].items);
		for (size_t i = 0; i < list->u.array.count; i++)
			if (parse_hook(list->u.array.items[i], xasprintf("%s[%zu]", list_where, i),
				       &out[k].items[i]) < 0)
				return -1;
		out[k].count = list->u.array.count;
	}
	return 0;
}

int hooks_any(const struct hook_list hooks[HOOK_KINDS], enum hook_kind first,
	      enum hook_kind last)
{
	for (int k = first; k <= (int)last; k++)
		if (hooks[k].count)
			return 1;
	return 0;
}

/* ---- state ------------------------------------------------------------ */

char *hooks_state(const char *id, const char *status, pid_t pid, const char *bundle,
		  const char *annotations)
{
	char *pid_field = pid > 0 ? xasprintf("\"pid\":%d,", (int)pid) : "";

	return xasprintf("{\"ociVersion\":\"" OCI_VERSION "\",\"id\":%s,\"status\":\"%s\",%s"
			 "\"bundle\":%s,\"annotations\":%s}",
			 json_quote(id), status, pid_field, json_quote(bundle), annotations);
}

char *hooks_spec_state(const struct spec *s, const char *status, pid_t pid)
{
	char *annotations = xstrdup("{");

	for (size_t i = 0; i < s->nannotations; i++)
		annotations = xasprintf("%s%s%s:%s", annotations, i ? "," : "",
					json_quote(s->annotations[i].key),
					json_quote(s->annotations[i].value));
	return hooks_state(s->id, status, pid, s->bundle, xasprintf("%s}", annotations));
}

/* ---- running ---------------------------------------------------------- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The hook process: its own process group (a timeout kills all of it), the
 * state on stdin, stdout and stderr, no other descriptor (those lk-run
 * inherited are the container's), and no signal blocked that lk-run blocks
 * for forwarding.
 * An exec failure goes back as errno on exec_fd (closed by a successful exec). */
static __attribute__((noreturn)) void hook_child(const struct hook *h, int stdin_fd, int exec_fd)
{
	sigset_t none;
	int error;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
	/* Before Linux 5.11 (no close_range) the container's descriptors stay. */
	syscall(SYS_close_range, 3, ~0U, HOOK_CLOSE_RANGE_CLOEXEC);
	if (dup2(stdin_fd, 0) == 0)
		execve(h->path, h->args, h->env);
	error = errno;
	(void)!write(exec_fd, &error, sizeof error);
	_exit(127);
}

/* Feeds the state to the hook while waiting for it to exit. Returns 0 with
 * its wait status, 1 when the timeout passed (0 ms: none), -1 on error. */
static int feed_and_wait(pid_t pid, int sock, const char *state, long long timeout_ms,
			 int *status)
{
	int pidfd AUTO_FD = (int)syscall(SYS_pidfd_open, pid, 0);
	size_t off = 0, len = strlen(state);
	long long deadline = timeout_ms ? now_ms() + timeout_ms : 0;

	for (;;) {
		pid_t done = waitpid(pid, status, WNOHANG);
		int wait_ms = -1;

		if (done == pid)
			return 0;
		if (done < 0 && errno != EINTR)
			return fail("hooks", "wait: %s", strerror(errno));
		if (deadline) {
			long long left = deadline - now_ms();
			if (left <= 0)
				return 1;
			wait_ms = left > 1000 ? 1000 : (int)left;
		}
		/* Without pidfds (before Linux 5.3) the exit is polled for. */
		if (pidfd < 0 && (wait_ms < 0 || wait_ms > 10))
			wait_ms = 10;
		struct pollfd fds[2] = { { pidfd, POLLIN, 0 }, { off < len ? sock : -1, POLLOUT, 0 } };
		if (poll(fds, 2, wait_ms) < 0 && errno != EINTR)
			return fail("hooks", "poll: %s", strerror(errno));
		if (off < len && fds[1].revents) {
			ssize_t n = send(sock, state + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
			/* A hook that closes its stdin early has read all it wants. */
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				off = len;
			else if (n > 0)
				off += (size_t)n;
			if (off == len)
				shutdown(sock, SHUT_WR);
		}
	}
}

static int run_one(const struct hook *h, const char *what, const char *state)
{
	int sv[2], exec_pipe[2], status = 0, r, error = 0;
	int exec_fd AUTO_FD = -1;
	pid_t pid;

	if (pipe2(exec_pipe, O_CLOEXEC) < 0)
		return fail("hooks", "%s: pipe: %s", what, strerror(errno));
	exec_fd = exec_pipe[0];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		close(exec_pipe[1]);
		return fail("hooks", "%s: socketpair: %s", what, strerror(errno));
	}
	pid = fork();
	if (pid == 0)
		hook_child(h, sv[1], exec_pipe[1]);
	close(sv[1]);
	close(exec_pipe[1]);
	if (pid < 0) {
		close(sv[0]);
		return fail("hooks", "%s: fork: %s", what, strerror(errno));
	}
	r = feed_and_wait(pid, sv[0], state, (long long)h->timeout * 1000, &status);
	close(sv[0]);
	if (r != 0) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return r < 0 ? -1 : fail("hooks", "%s: timed out after %u s", what, h->timeout);
	}
	if (read(exec_fd, &error, sizeof error) == sizeof error)
		return fail("hooks", "%s: cannot execute: %s", what, strerror(error));
	if (WIFSIGNALED(status))
		return fail("hooks", "%s: killed by signal %d", what, WTERMSIG(status));
	if (WEXITSTATUS(status))
		return fail("hooks", "%s: exited with status %d", what, WEXITSTATUS(status));
	return 0;
}

static char *describe(enum hook_kind kind, size_t i, const struct hook *h)
{
	return xasprintf("%s[%zu] %s", kind_names[kind], i, h->path);
}

int hooks_run(const struct hook_list hooks[HOOK_KINDS], enum hook_kind kind, const char *state)
{
	for (size_t i = 0; i < hooks[kind].count; i++)
		if (run_one(&hooks[kind].items[i], describe(kind, i, &hooks[kind].items[i]), state) <
		    0)
			return -1;
	return 0;
}

void hooks_run_logged(const struct hook_list hooks[HOOK_KINDS], enum hook_kind kind,
		      const char *state)
{
	char saved[LK_ERR_MAX];

	memcpy(saved, lk_err, sizeof saved);
	for (size_t i = 0; i < hooks[kind].count; i++)
		if (run_one(&hooks[kind].items[i], describe(kind, i, &hooks[kind].items[i]), state) <
		    0)
			fprintf(stderr, "lk-run: warning: %s\n", lk_err);
	memcpy(lk_err, saved, sizeof saved);
}

void hooks_run_spec_logged(const struct spec *s, enum hook_kind kind, const char *status,
			   pid_t pid)
{
	if (s->hooks[kind].count)
		hooks_run_logged(s->hooks, kind, hooks_spec_state(s, status, pid));
}

/* ---- kept for start and delete ---------------------------------------- */

static char *strings_json(char **v)
{
	char *out = xstrdup("[");

	for (size_t i = 0; v[i]; i++)
		out = xasprintf("%s%s%s", out, i ? "," : "", json_quote(v[i]));
	return xasprintf("%s]", out);
}

static char *list_json(const struct hook_list *list)
{
	char *out = xstrdup("[");

	for (size_t i = 0; i < list->count; i++) {
		const struct hook *h = &list->items[i];
		out = xasprintf("%s%s{\"path\":%s,\"args\":%s,\"env\":%s", out, i ? "," : "",
				json_quote(h->path), strings_json(h->args), strings_json(h->env));
		out = h->timeout ? xasprintf("%s,\"timeout\":%u}", out, h->timeout)
				 : xasprintf("%s}", out);
	}
	return xasprintf("%s]", out);
}

int hooks_save(const char *dir, const struct spec *s)
{
	char *path = xasprintf("%s/" HOOKS_FILE, dir), *text;
	int fd AUTO_FD = -1;

	if (!hooks_any(s->hooks, HOOK_POSTSTART, HOOK_POSTSTOP))
		return 0;
	text = xasprintf("{\"poststart\":%s,\"poststop\":%s}\n", list_json(&s->hooks[HOOK_POSTSTART]),
			 list_json(&s->hooks[HOOK_POSTSTOP]));
	/* A fresh file in the directory create just made for this container. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, text, strlen(text)) < 0)
		return fail_errno("hooks", path);
	return 0;
}

int hooks_load(const char *dir, struct hook_list out[HOOK_KINDS])
{
	char *path = xasprintf("%s/" HOOKS_FILE, dir), *text;
	struct json *doc;
	size_t len;

	memset(out, 0, HOOK_KINDS * sizeof *out);
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	text = read_whole_file("hooks", path, HOOKS_FILE_MAX_BYTES, &len);
	if (!text || json_parse(xasprintf("hooks: %s", path), text, len, &doc) < 0)
		return -1;
	return hooks_parse(doc, path, out);
}
