#include "state.h"
#include "cgroup.h"
#include "config_json.h"
#include "console.h"
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Annotations are copied from config.json, so the state is as large as they are. */
#define STATE_MAX_BYTES (16 << 20)

/* What create records; status is derived from the process each time. */
struct record {
	char *id, *bundle, *rootfs;
	char *created; /* RFC 3339, UTC */
	pid_t pid; /* 0 while creating */
	pid_t creator; /* the create call, while pid is 0 */
	unsigned long long start_time; /* /proc/<pid>/stat field 22: guards against pid reuse */
	struct cgroup_handle cgroup;
	char *annotations; /* a JSON object, passed through to `state` */
};

enum status { STATUS_CREATING, STATUS_CREATED, STATUS_RUNNING, STATUS_STOPPED, STATUS_PAUSED };

static const char *const status_names[] = { "creating", "created", "running", "stopped", "paused" };

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
		"{\"ociVersion\":\"" OCI_VERSION "\",\"id\":%s,\"pid\":%d,\"creator\":%d,"
		"\"bundle\":%s,\"rootfs\":%s,\"created\":%s,\"startTime\":%llu,\"cgroup\":%s,"
		"\"cgroupCreated\":%s,\"annotations\":%s}\n",
		json_quote(r->id), (int)r->pid, (int)r->creator, json_quote(r->bundle),
		json_quote(r->rootfs), json_quote(r->created), r->start_time,
		json_quote(r->cgroup.dir), json_quote(r->cgroup.created), r->annotations);
	char *path = xasprintf("%s/state.json", dir);

	return write_atomically("state", path, text);
}

static int record_load(const char *root, const char *id, struct record *r)
{
	char *dir = container_dir(root, id);
	char *path = xasprintf("%s/state.json", dir), *text;
	struct json *doc;
	uint64_t pid = 0, start = 0, creator = 0;
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
	    cj_uint64(json_get(doc, "creator"), "creator", &creator) < 0 ||
	    cj_string(json_get(doc, "bundle"), "bundle", &r->bundle) < 0 ||
	    cj_string(json_get(doc, "rootfs"), "rootfs", &r->rootfs) < 0 ||
	    cj_string(json_get(doc, "created"), "created", &r->created) < 0)
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
	r->creator = (pid_t)creator;
	r->start_time = start;
	return 0;
}

static enum status record_status(const char *root, const struct record *r)
{
	char state;
	unsigned long long start;
	char *sock = socket_path(container_dir(root, r->id));

	if (r->pid == 0 && r->creator > 0 && kill(r->creator, 0) == 0)
		return STATUS_CREATING;
	if (r->pid <= 0 || process_info(r->pid, &state, &start) < 0 || start != r->start_time ||
	    state == 'Z' || state == 'X')
		return STATUS_STOPPED;
	if (access(sock, F_OK) == 0)
		return STATUS_CREATED;
	return cgroup_is_frozen(r->cgroup.dir) ? STATUS_PAUSED : STATUS_RUNNING;
}

int state_lookup(const char *root, const char *id, char **cgroup_dir, const char **status)
{
	struct record r;

	if (record_load(root, id, &r) < 0)
		return -1;
	*cgroup_dir = r.cgroup.dir;
	*status = status_names[record_status(root, &r)];
	return 0;
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

/* RFC 3339 with nanoseconds, as runc writes "created". */
static char *now_rfc3339(void)
{
	struct timespec now;
	struct tm tm;
	char buf[40];

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
	return xasprintf("%s.%09ldZ", buf, now.tv_nsec);
}

/* Sets up the state directory and records "creating" (pid 0, this call as
 * the creator) so `state` can answer while the container is being built. */
static int begin_record(const char *root, const char *dir, struct record *r)
{
	if (make_root(root) < 0)
		return -1;
	if (mkdir(dir, 0700) < 0) {
		if (errno == EEXIST)
			return fail("create", "container with given ID already exists");
		return fail_errno("create", dir);
	}
	if (record_save(dir, r) < 0) {
		remove_dir(dir);
		return -1;
	}
	return 0;
}

static int spawn_created(const struct spec *spec, const struct create_request *req, const char *dir,
			 struct spawned *child, int *exit_code)
{
	int listen_fd AUTO_FD = -1, console_fd AUTO_FD = -1;
	struct spawn_options opts;

	*exit_code = 1;
	if (spec->terminal && !req->console_socket)
		return fail("create", "process.terminal needs --console-socket");
	if (!spec->terminal && req->console_socket)
		return fail("create", "--console-socket needs process.terminal");
	if (req->console_socket && (console_fd = console_connect(req->console_socket)) < 0)
		return -1;
	listen_fd = unix_listen("create", socket_path(dir));
	if (listen_fd < 0)
		return -1;
	opts = (struct spawn_options){ .start_fd = listen_fd,
				       .preserve_fds = req->preserve_fds,
				       .console_fd = console_fd,
				       .no_new_keyring = req->no_new_keyring };
	return container_spawn(spec, &opts, child, exit_code);
}

int state_create(const char *root, const char *id, const struct create_request *req)
{
	struct spec spec;
	struct spawned child;
	struct record r;
	char *dir = container_dir(root, id), state;
	int exit_code;

	if (spec_load(req->bundle, id, &spec) < 0)
		return LK_EXIT_SETUP;
	r = (struct record){ .id = (char *)id,
			     .bundle = spec.bundle,
			     .rootfs = spec.rootfs,
			     .created = now_rfc3339(),
			     .creator = getpid(),
			     .annotations = annotations_json(&spec) };
	if (begin_record(root, dir, &r) < 0)
		return 1;
	if (spawn_created(&spec, req, dir, &child, &exit_code) < 0) {
		remove_dir(dir);
		return exit_code;
	}
	r.pid = child.pid;
	r.cgroup = child.cgroup;
	if (process_info(child.pid, &state, &r.start_time) < 0 || record_save(dir, &r) < 0 ||
	    hooks_save(dir, &spec) < 0 ||
	    (req->pid_file && state_write_pid_file(req->pid_file, child.pid) < 0)) {
		if (!lk_err[0])
			fail("create", "process %d vanished", (int)child.pid);
		kill(child.pid, SIGKILL);
		cgroup_remove(&child.cgroup);
		remove_dir(dir);
		return 1;
	}
	return 0;
}

static void wait_gone(const char *root, const struct record *r);

/* runc's words for each state start refuses. */
static int refuse_start(enum status status)
{
	if (status == STATUS_RUNNING)
		return fail("start", "cannot start an already running container");
	if (status == STATUS_STOPPED)
		return fail("start", "cannot start a container that has stopped");
	return fail("start", "cannot start a container in the %s state", status_names[status]);
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
	struct record r;
	enum status status;
	char *dir = container_dir(root, id), *sock = socket_path(dir);
	char buf[2 + LK_ERR_MAX];
	size_t len = 0;
	int fd AUTO_FD = -1;

	if (record_load(root, id, &r) < 0)
		return 1;
	status = record_status(root, &r);
	if (status != STATUS_CREATED) {
		refuse_start(status);
		return 1;
	}
	fd = unix_connect("start", sock);
	if (fd < 0)
		return 1;
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
	if (len >= 2 && buf[0] == 'E') {
		buf[len] = '\0';
		snprintf(lk_err, sizeof lk_err, "%s", buf + 2);
		/* It exits right after reporting: a delete that follows at once
		 * (containerd's shim does) must find it stopped. */
		wait_gone(root, &r);
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
	       "  \"pid\": %d,\n  \"bundle\": %s,\n  \"rootfs\": %s,\n  \"created\": %s,\n"
	       "  \"owner\": \"\",\n  \"annotations\": %s\n}\n",
	       json_quote(id), status_names[status], status == STATUS_STOPPED ? 0 : (int)r.pid,
	       json_quote(r.bundle), json_quote(r.rootfs ? r.rootfs : ""),
	       json_quote(r.created ? r.created : ""), r.annotations);
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

/* The pids in the container's cgroup (cgroup.c); 0 without a cgroup or
 * where it cannot be read (lk_err kept for the error being reported). */
static size_t container_pids(const struct record *r, pid_t **pids)
{
	char saved[LK_ERR_MAX];
	size_t count = 0;

	if (!r->cgroup.dir)
		return 0;
	memcpy(saved, lk_err, sizeof saved);
	if (cgroup_pids(r->cgroup.dir, pids, &count) < 0)
		count = 0;
	memcpy(lk_err, saved, sizeof saved);
	return count;
}

/* --all: every process in the container's cgroup. Without a cgroup only the
 * init can be named; with a pid namespace its death ends the rest. */
static void signal_all(const struct record *r, int sig)
{
	pid_t *pids = NULL;
	size_t count = container_pids(r, &pids);

	if (!r->cgroup.dir && r->pid > 0)
		kill(r->pid, sig);
	for (size_t i = 0; i < count; i++)
		if (pids[i] > 0)
			kill(pids[i], sig);
	xfree(pids);
}

int state_kill(const char *root, const char *id, const char *signal, int all)
{
	struct record r;
	int sig = parse_signal(signal);

	if (sig < 0) {
		fail("kill", "unknown signal \"%s\"", signal);
		return 1;
	}
	if (record_load(root, id, &r) < 0)
		return 1;
	if (record_status(root, &r) == STATUS_STOPPED ||
	    record_status(root, &r) == STATUS_CREATING) {
		fail("kill", "container not running");
		return 1;
	}
	if (all) {
		signal_all(&r, sig);
		return 0;
	}
	if (kill(r.pid, sig) < 0) {
		fail("kill", "process %d: %s", (int)r.pid, strerror(errno));
		return 1;
	}
	return 0;
}

/* Until the init is gone and, in a cgroup lk-run made, every process (2 s). */
static void wait_gone(const char *root, const struct record *r)
{
	struct timespec pause = { 0, 5 * 1000000L };

	for (int i = 0; i < 400; i++) {
		if (record_status(root, r) == STATUS_STOPPED) {
			pid_t *pids = NULL;
			size_t count = r->cgroup.created ? container_pids(r, &pids) : 0;
			xfree(pids);
			if (!count)
				return;
		}
		nanosleep(&pause, NULL);
	}
}

int state_delete(const char *root, const char *id, int force)
{
	struct hook_list hooks[HOOK_KINDS];
	struct record r;
	enum status status;

	if (record_load(root, id, &r) < 0)
		return 1;
	status = record_status(root, &r);
	/* A create call still at work is left to finish or fail: its process
	 * is not known yet (and pid 0 would name our own process group). */
	if (((status == STATUS_RUNNING || status == STATUS_PAUSED) && !force) ||
	    status == STATUS_CREATING) {
		fail("delete", "cannot delete container %s that is not stopped: %s", id,
		     status_names[status]);
		return 1;
	}
	if (status != STATUS_STOPPED && r.pid > 0)
		kill(r.pid, SIGKILL);
	/* Exec'd processes outlive the init without a pid namespace. A cgroup
	 * lk-run did not make may be shared: its other processes are not ours. */
	if (r.cgroup.created)
		signal_all(&r, SIGKILL);
	wait_gone(root, &r);
	if (hooks_load(container_dir(root, id), hooks) < 0)
		fprintf(stderr, "lk-run: warning: %s\n", lk_err);
	cgroup_remove(&r.cgroup);
	remove_dir(container_dir(root, id));
	hooks_run_logged(hooks, HOOK_POSTSTOP, hooks_state(id, "stopped", 0, r.bundle, r.annotations));
	lk_err[0] = '\0';
	return 0;
}

int state_find(const char *root, const char *id, struct state_container *out)
{
	struct record r;

	if (record_load(root, id, &r) < 0)
		return -1;
	if (record_status(root, &r) == STATUS_STOPPED)
		return fail("exec", "cannot exec in a stopped container");
	if (record_status(root, &r) == STATUS_CREATING)
		return fail("exec", "cannot exec in a container that is being created");
	/* Its process would join a frozen cgroup and hang there. */
	if (record_status(root, &r) == STATUS_PAUSED)
		return fail("exec", "cannot exec in a paused container");
	*out = (struct state_container){ r.pid, r.bundle, r.cgroup.dir };
	return 0;
}
