#include "state.h"
#include "cgroup.h"
#include "config_json.h"
#include "container.h"
#include "err.h"
#include "hooks.h"
#include "io.h"
#include "json.h"
#include "spec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Annotations are copied from config.json, so the state is as large as they are. */
#define STATE_MAX_BYTES (16 << 20)

/* What create records; status is derived from the process each time. */
struct record {
	char *id, *bundle;
	pid_t pid;
	unsigned long long start_time; /* /proc/<pid>/stat field 22: guards against pid reuse */
	struct cgroup_handle cgroup;
	char *annotations; /* a JSON object, passed through to `state` */
};

enum status { STATUS_CREATED, STATUS_RUNNING, STATUS_STOPPED };

static const char *const status_names[] = { "created", "running", "stopped" };

int state_check_id(const char *id)
{
	if (!*id || strcmp(id, ".") == 0 || strcmp(id, "..") == 0 || strlen(id) > 200)
		return fail("usage", "invalid container id \"%s\"", id);
	for (const char *c = id; *c; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || strchr("-_.+", *c))
			continue;
		return fail("usage", "invalid container id \"%s\"", id);
	}
	return 0;
}

/* Writes path atomically: a temporary file renamed into place. */
static int write_atomically(const char *step, const char *path, const char *text)
{
	char tmp[PATH_MAX];
	size_t len = strlen(text);
	int fd;

	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return fail_errno(step, path);
	}
	/* Never through a planted link: a stale temporary is removed, and the new
	 * one must be created here (O_EXCL implies not following a symlink). */
	if (unlink(tmp) < 0 && errno != ENOENT)
		return fail_errno(step, tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail_errno(step, tmp);
	if (write_all(fd, text, len) < 0 || close(fd) < 0) {
		fail_errno(step, tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		fail_errno(step, path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

int state_write_pid_file(const char *path, pid_t pid)
{
	char buf[32];

	snprintf(buf, sizeof buf, "%d", (int)pid);
	return write_atomically("pid-file", path, buf);
}

static char *container_dir(const char *root, const char *id)
{
	return xasprintf("%s/%s", root, id);
}

static char *socket_path(const char *dir)
{
	return xasprintf("%s/start.sock", dir);
}

static int process_info(pid_t pid, char *state, unsigned long long *start_time)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	/* After the command: field 3 is the state, field 22 the start time. */
	if (sscanf(p + 1,
		   " %c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
		   "%llu",
		   state, start_time) != 2)
		return -1;
	return 0;
}

static char *annotations_json(const struct spec *spec)
{
	char *out = xstrdup("{");

	for (size_t i = 0; i < spec->nannotations; i++)
		out = xasprintf("%s%s%s:%s", out, i ? "," : "",
				json_quote(spec->annotations[i].key),
				json_quote(spec->annotations[i].value));
	return xasprintf("%s}", out);
}

static int record_save(const char *dir, const struct record *r)
{
	char *text = xasprintf(
		"{\"ociVersion\":\"" OCI_VERSION "\",\"id\":%s,\"pid\":%d,\"bundle\":%s,"
		"\"startTime\":%llu,\"cgroup\":%s,\"cgroupCreated\":%s,\"annotations\":%s}\n",
		json_quote(r->id), (int)r->pid, json_quote(r->bundle), r->start_time,
		json_quote(r->cgroup.dir), json_quote(r->cgroup.created), r->annotations);
	char *path = xasprintf("%s/state.json", dir);

	return write_atomically("state", path, text);
}

static int record_load(const char *root, const char *id, struct record *r)
{
	char *dir = container_dir(root, id);
	char *path = xasprintf("%s/state.json", dir), *text;
	struct json *doc;
	uint64_t pid = 0, start = 0;
	size_t len;

	memset(r, 0, sizeof *r);
	text = read_whole_file("state", path, STATE_MAX_BYTES, &len);
	if (!text) {
		if (errno == ENOENT)
			return fail("state", "container \"%s\" does not exist", id);
		return -1;
	}
	if (json_parse(xasprintf("state: %s", path), text, len, &doc) < 0)
		return -1;
	if (cj_uint64(json_get(doc, "pid"), "pid", &pid) < 0 ||
	    cj_uint64(json_get(doc, "startTime"), "startTime", &start) < 0 ||
	    cj_string(json_get(doc, "bundle"), "bundle", &r->bundle) < 0)
		return -1;
	if (json_get(doc, "cgroup") && json_get(doc, "cgroup")->type == JSON_STRING)
		r->cgroup.dir = json_get(doc, "cgroup")->u.string.chars;
	if (json_get(doc, "cgroupCreated") && json_get(doc, "cgroupCreated")->type == JSON_STRING)
		r->cgroup.created = json_get(doc, "cgroupCreated")->u.string.chars;
	r->annotations = xstrdup("{");
	if (json_get(doc, "annotations") && json_get(doc, "annotations")->type == JSON_OBJECT) {
		const struct json *a = json_get(doc, "annotations");
		for (size_t i = 0; i < a->u.object.count; i++)
			if (a->u.object.values[i]->type == JSON_STRING)
				r->annotations = xasprintf(
					"%s%s%s: %s", r->annotations, i ? ", " : "",
					json_quote(a->u.object.keys[i]),
					json_quote(a->u.object.values[i]->u.string.chars));
	}
	r->annotations = xasprintf("%s}", r->annotations);
	r->id = xstrdup(id);
	r->pid = (pid_t)pid;
	r->start_time = start;
	return 0;
}

static enum status record_status(const char *root, const struct record *r)
{
	char state;
	unsigned long long start;
	char *sock = socket_path(container_dir(root, r->id));

	if (r->pid <= 0 || process_info(r->pid, &state, &start) < 0 || start != r->start_time ||
	    state == 'Z' || state == 'X')
		return STATUS_STOPPED;
	return access(sock, F_OK) == 0 ? STATUS_CREATED : STATUS_RUNNING;
}

static int listen_socket(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof addr.sun_path) {
		errno = ENAMETOOLONG;
		return fail_errno("create", path);
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail("create", "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 1) < 0) {
		fail_errno("create", path);
		close(fd);
		return -1;
	}
	return fd;
}

static void remove_dir(const char *dir)
{
	char *sock = socket_path(dir), *state = xasprintf("%s/state.json", dir);
	char saved[LK_ERR_MAX];

	memcpy(saved, lk_err, sizeof saved);
	unlink(sock);
	unlink(state);
	unlink(xasprintf("%s/" HOOKS_FILE, dir));
	rmdir(dir);
	memcpy(lk_err, saved, sizeof saved);
}

static int make_root(const char *root)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof buf, "%s", root) >= (int)sizeof buf) {
		errno = ENAMETOOLONG;
		return fail_errno("create", root);
	}
	for (char *s = buf + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char saved = *s;
		*s = '\0';
		if (mkdir(buf, 0711) < 0 && errno != EEXIST)
			return fail_errno("create", buf);
		*s = saved;
		if (!saved)
			return 0;
	}
}

int state_create(const char *root, const char *id, const char *bundle, const char *pid_file,
		 int preserve_fds)
{
	struct spec spec;
	struct spawned child;
	struct record r;
	char *dir = container_dir(root, id), state;
	struct spawn_options opts;
	int listen_fd, exit_code;

	if (spec_load(bundle, id, &spec) < 0)
		return LK_EXIT_SETUP;
	if (make_root(root) < 0)
		return 1;
	if (mkdir(dir, 0700) < 0) {
		if (errno == EEXIST)
			fail("create", "container \"%s\" already exists", id);
		else
			fail_errno("create", dir);
		return 1;
	}
	listen_fd = listen_socket(socket_path(dir));
	if (listen_fd < 0) {
		remove_dir(dir);
		return 1;
	}
	opts = (struct spawn_options){ listen_fd, 0, preserve_fds };
	if (container_spawn(&spec, &opts, &child, &exit_code) < 0) {
		close(listen_fd);
		remove_dir(dir);
		return exit_code;
	}
	close(listen_fd);
	r = (struct record){ (char *)id, spec.bundle,  child.pid,
			     0,          child.cgroup, annotations_json(&spec) };
	if (process_info(child.pid, &state, &r.start_time) < 0 || record_save(dir, &r) < 0 ||
	    hooks_save(dir, &spec) < 0 ||
	    (pid_file && state_write_pid_file(pid_file, child.pid) < 0)) {
		if (!lk_err[0])
			fail("create", "process %d vanished", (int)child.pid);
		kill(child.pid, SIGKILL);
		cgroup_remove(&child.cgroup);
		remove_dir(dir);
		return 1;
	}
	return 0;
}

/* poststart (start) from what create kept; a failure is a warning. */
static int run_saved_hooks(const char *dir, const struct record *r, enum hook_kind kind,
			   const char *status)
{
	struct hook_list hooks[HOOK_KINDS];

	if (hooks_load(dir, hooks) < 0) {
		fprintf(stderr, "lk-run: warning: %s\n", lk_err);
		lk_err[0] = '\0';
		return 0;
	}
	hooks_run_logged(hooks, kind, hooks_state(r->id, status, r->pid, r->bundle, r->annotations));
	return 0;
}

int state_start(const char *root, const char *id)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct record r;
	char *dir = container_dir(root, id), *sock = socket_path(dir);
	char buf[2 + LK_ERR_MAX];
	size_t len = 0;
	int fd;

	if (record_load(root, id, &r) < 0)
		return 1;
	if (record_status(root, &r) != STATUS_CREATED) {
		fail("start", "container \"%s\" is %s, not created", id,
		     status_names[record_status(root, &r)]);
		return 1;
	}
	if (strlen(sock) >= sizeof addr.sun_path) {
		errno = ENAMETOOLONG;
		fail_errno("start", sock);
		return 1;
	}
	strcpy(addr.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		fail_errno("start", sock);
		return 1;
	}
	/* Marks the container as started whatever happens next. */
	unlink(sock);
	/* End of file: the process was exec'd; otherwise its error. */
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof buf - 1)
			break;
	}
	close(fd);
	if (len >= 2 && buf[0] == 'E') {
		buf[len] = '\0';
		snprintf(lk_err, sizeof lk_err, "%s", buf + 2);
		return 1;
	}
	return run_saved_hooks(dir, &r, HOOK_POSTSTART, "running");
}

int state_print(const char *root, const char *id)
{
	struct record r;
	enum status status;

	if (record_load(root, id, &r) < 0)
		return 1;
	status = record_status(root, &r);
	printf("{\n  \"ociVersion\": \"" OCI_VERSION "\",\n  \"id\": %s,\n  \"status\": \"%s\",\n"
	       "  \"pid\": %d,\n  \"bundle\": %s,\n  \"annotations\": %s\n}\n",
	       json_quote(id), status_names[status], status == STATUS_STOPPED ? 0 : (int)r.pid,
	       json_quote(r.bundle), r.annotations);
	return 0;
}

static int parse_signal(const char *text)
{
	static const struct {
		const char *name;
		int sig;
	} names[] = {
		{ "HUP", SIGHUP },       { "INT", SIGINT },   { "QUIT", SIGQUIT },
		{ "ILL", SIGILL },       { "TRAP", SIGTRAP }, { "ABRT", SIGABRT },
		{ "BUS", SIGBUS },       { "FPE", SIGFPE },   { "KILL", SIGKILL },
		{ "USR1", SIGUSR1 },     { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
		{ "PIPE", SIGPIPE },     { "ALRM", SIGALRM }, { "TERM", SIGTERM },
		{ "CHLD", SIGCHLD },     { "CONT", SIGCONT }, { "STOP", SIGSTOP },
		{ "TSTP", SIGTSTP },     { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },
		{ "URG", SIGURG },       { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
		{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH },
		{ "IO", SIGIO },         { "PWR", SIGPWR },   { "SYS", SIGSYS },
	};
	char *end;
	long n = strtol(text, &end, 10);

	if (*text && !*end)
		return n > 0 && n < 65 ? (int)n : -1;
	if (strncasecmp(text, "SIG", 3) == 0)
		text += 3;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcasecmp(text, names[i].name) == 0)
			return names[i].sig;
	return -1;
}

int state_kill(const char *root, const char *id, const char *signal)
{
	struct record r;
	int sig = parse_signal(signal);

	if (sig < 0) {
		fail("kill", "unknown signal \"%s\"", signal);
		return 1;
	}
	if (record_load(root, id, &r) < 0)
		return 1;
	if (record_status(root, &r) == STATUS_STOPPED) {
		fail("kill", "container \"%s\" is not running", id);
		return 1;
	}
	if (kill(r.pid, sig) < 0) {
		fail("kill", "process %d: %s", (int)r.pid, strerror(errno));
		return 1;
	}
	return 0;
}

static void wait_gone(const char *root, const struct record *r)
{
	struct timespec pause = { 0, 5 * 1000000L };

	for (int i = 0; i < 400 && record_status(root, r) != STATUS_STOPPED; i++)
		nanosleep(&pause, NULL);
}

int state_delete(const char *root, const char *id, int force)
{
	struct hook_list hooks[HOOK_KINDS];
	struct record r;
	enum status status;

	if (record_load(root, id, &r) < 0)
		return 1;
	status = record_status(root, &r);
	if (status == STATUS_RUNNING && !force) {
		fail("delete", "container \"%s\" is running (use --force)", id);
		return 1;
	}
	if (status != STATUS_STOPPED) {
		kill(r.pid, SIGKILL);
		wait_gone(root, &r);
	}
	if (hooks_load(container_dir(root, id), hooks) < 0)
		fprintf(stderr, "lk-run: warning: %s\n", lk_err);
	cgroup_remove(&r.cgroup);
	remove_dir(container_dir(root, id));
	hooks_run_logged(hooks, HOOK_POSTSTOP, hooks_state(id, "stopped", 0, r.bundle, r.annotations));
	lk_err[0] = '\0';
	return 0;
}
