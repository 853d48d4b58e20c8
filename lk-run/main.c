/* lk-run: a static OCI runtime, with the command line runc has (as
 * containerd's runc shim calls it) plus `run` for the init and `check`.
 *
 *   lk-run [global] run|create --bundle DIR [--pid-file F] [--preserve-fds N]
 *                   [--console-socket SOCK] [--no-pivot] [--no-new-keyring] ID
 *   lk-run [global] start|state|delete [--force] ID
 *   lk-run [global] kill [--all] ID [SIGNAL]
 *   lk-run [global] exec [--process F | --cwd D --env N=V --tty] [--detach]
 *                   [--pid-file F] [--console-socket SOCK] [--user UID[:GID]]
 *                   [--additional-gids GID] [--cap CAP] [--no-new-privs] ID [ARGS...]
 *   lk-run check --bundle DIR [ID]               validate config.json only
 *   lk-run [global] update|pause|resume|ps ... ID, lk-run features (cmd.h)
 * global: --root DIR, --log FILE, --log-format text|json, and the ones
 * README.md lists as accepted and ignored or refused.
 */
#include "caps.h"
#include "cgroup.h"
#include "cmd.h"
#include "container.h"
#include "err.h"
#include "exec.h"
#include "hooks.h"
#include "json.h"
#include "spec.h"
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ENV 256
#define MAX_GIDS 64

struct cli {
	const char *root, *log, *log_format;
	const char *verb, *id, *signal;
	const char *bundle, *pid_file, *console_socket, *process, *cwd;
	char **args; /* exec: what follows the id */
	int verb_argc; /* a cmd.h verb parses what follows it itself */
	char **verb_argv;
	char *env[MAX_ENV + 1];
	size_t nenv;
	int force, all, detach, tty, preserve_fds, no_new_keyring;
	/* exec's overrides of the process (exec.h) */
	int has_user, has_gid, no_new_privs;
	uid_t uid;
	gid_t gid;
	gid_t gids[MAX_GIDS];
	size_t ngids;
	uint64_t add_caps;
};

static void usage(void)
{
	fputs("usage: lk-run [--root DIR] [--log FILE] [--log-format text|json] COMMAND\n"
	      "  run|create --bundle DIR [--pid-file F] [--preserve-fds N]\n"
	      "             [--console-socket SOCK] [--no-pivot] [--no-new-keyring] ID\n"
	      "  start|state ID      delete [--force] ID      kill [--all] ID [SIGNAL]\n"
	      "  exec [--process F] [--detach] [--pid-file F] [--console-socket SOCK]\n"
	      "       [--tty] [--cwd DIR] [--env NAME=VALUE] [--user UID[:GID]]\n"
	      "       [--additional-gids GID] [--cap CAP] [--no-new-privs] ID [ARGS...]\n"
	      "  check --bundle DIR [ID]\n"
	      "  update [--resources FILE|-] [--memory N ...] ID   pause|resume ID\n"
	      "  ps [--format table|json] ID   features\n",
	      stderr);
}

static int is_flag(const char *arg, const char *name, const char *alias)
{
	return strcmp(arg, name) == 0 || (alias && strcmp(arg, alias) == 0);
}

/* Options that take a value; 1 if argv[*i] was one, -1 on error. */
static int value_option(char **argv, int argc, int *i, struct cli *cli)
{
	const char *preserve = NULL, *env = NULL, *ignored, *rootless = NULL;
	int r;

	if ((r = cmd_option(argv, argc, i, "--root", &cli->root)) ||
	    (r = cmd_option(argv, argc, i, "--log", &cli->log)) ||
	    (r = cmd_option(argv, argc, i, "--log-format", &cli->log_format)) ||
	    (r = cmd_option(argv, argc, i, "--bundle", &cli->bundle)) ||
	    (r = cmd_option(argv, argc, i, "-b", &cli->bundle)) ||
	    (r = cmd_option(argv, argc, i, "--pid-file", &cli->pid_file)) ||
	    (r = cmd_option(argv, argc, i, "--console-socket", &cli->console_socket)) ||
	    (r = cmd_option(argv, argc, i, "--process", &cli->process)) ||
	    (r = cmd_option(argv, argc, i, "-p", &cli->process)) ||
	    (r = cmd_option(argv, argc, i, "--cwd", &cli->cwd)) ||
	    (r = cmd_option(argv, argc, i, "--criu", &ignored)))
		return r;
	if ((r = cmd_option(argv, argc, i, "--rootless", &rootless)) > 0) {
		if (strcmp(rootless, "true") == 0)
			return fail("usage", "--rootless=true: lk-run runs as root only");
		if (strcmp(rootless, "false") != 0 && strcmp(rootless, "auto") != 0)
			return fail("usage", "--rootless needs true, false or auto");
		return 1;
	}
	if (r || (r = cmd_option(argv, argc, i, "--env", &env)) ||
	    (r = cmd_option(argv, argc, i, "-e", &env))) {
		if (r > 0 && (cli->nenv == MAX_ENV || !strchr(env, '=')))
			return fail("usage", "--env needs NAME=VALUE (at most %d)", MAX_ENV);
		if (r > 0)
			cli->env[cli->nenv++] = (char *)env;
		return r;
	}
	if ((r = cmd_option(argv, argc, i, "--preserve-fds", &preserve)) > 0) {
		char *end;
		long n = strtol(preserve, &end, 10);
		if (!*preserve || *end || n < 0 || n > 1024)
			return fail("usage", "--preserve-fds needs a count, not \"%s\"", preserve);
		cli->preserve_fds = (int)n;
	}
	return r;
}

/* A uid or gid: decimal digits, below (id_t)-1, which the kernel reads as "unchanged". */
static int parse_id(const char *text, unsigned int *out)
{
	char *end;
	unsigned long long n;

	if (*text < '0' || *text > '9')
		return -1;
	errno = 0;
	n = strtoull(text, &end, 10);
	if (*end || errno || n >= 0xffffffffULL)
		return -1;
	*out = (unsigned int)n;
	return 0;
}

/* --user UID[:GID]; 1, or -1 with lk_err set. */
static int parse_user(const char *v, struct cli *cli)
{
	char uid[16] = { 0 };
	const char *colon = strchr(v, ':');
	size_t len = colon ? (size_t)(colon - v) : strlen(v);

	if (len >= sizeof uid)
		return fail("usage", "--user needs UID[:GID] as numbers, not \"%s\"", v);
	memcpy(uid, v, len);
	if (parse_id(uid, &cli->uid) < 0 || (colon && parse_id(colon + 1, &cli->gid) < 0))
		return fail("usage", "--user needs UID[:GID] as numbers, not \"%s\"", v);
	cli->has_user = 1;
	cli->has_gid = colon != NULL;
	return 1;
}

/* exec's overrides of the process (exec.h); 1 if argv[*i] was one, -1 on error. */
static int exec_option(char **argv, int argc, int *i, struct cli *cli)
{
	const char *v;
	unsigned int id;
	int r, cap;

	if (is_flag(argv[*i], "--no-new-privs", NULL)) {
		cli->no_new_privs = 1;
		return 1;
	}
	if ((r = cmd_option(argv, argc, i, "--user", &v)) ||
	    (r = cmd_option(argv, argc, i, "-u", &v)))
		return r < 0 ? r : parse_user(v, cli);
	if ((r = cmd_option(argv, argc, i, "--additional-gids", &v)) ||
	    (r = cmd_option(argv, argc, i, "-g", &v))) {
		if (r < 0)
			return r;
		if (cli->ngids == MAX_GIDS || parse_id(v, &id) < 0)
			return fail("usage",
				    "--additional-gids needs a gid (at most %d), not \"%s\"",
				    MAX_GIDS, v);
		cli->gids[cli->ngids++] = id;
		return 1;
	}
	if ((r = cmd_option(argv, argc, i, "--cap", &v)) ||
	    (r = cmd_option(argv, argc, i, "-c", &v))) {
		if (r < 0)
			return r;
		if ((cap = cap_from_name(v)) < 0)
			return fail("usage", "--cap: unknown capability \"%s\"", v);
		cli->add_caps |= 1ULL << cap;
		return 1;
	}
	return 0;
}

/* Flags without a value; 1 if argv[i] was one, -1 on error. */
static int flag_option(const char *arg, struct cli *cli)
{
	int *set = is_flag(arg, "--force", "-f")            ? &cli->force
		   : is_flag(arg, "--all", "-a")            ? &cli->all
		   : is_flag(arg, "--detach", "-d")         ? &cli->detach
		   : is_flag(arg, "--tty", "-t")            ? &cli->tty
		   : is_flag(arg, "--no-new-keyring", NULL) ? &cli->no_new_keyring
							    : NULL;

	if (set) {
		*set = 1;
		return 1;
	}
	/* Accepted and ignored: see README.md. */
	if (is_flag(arg, "--no-pivot", NULL) || is_flag(arg, "--debug", NULL))
		return 1;
	if (is_flag(arg, "--systemd-cgroup", NULL))
		return fail("usage", "--systemd-cgroup: lk-run manages cgroupfs paths only");
	return 0;
}

/* runc's words, and its exit status 1, for a wrong number of arguments. */
static int check_count(const struct cli *cli, int count)
{
	const char *v = cli->verb;
	int exactly = strcmp(v, "kill") != 0 && strcmp(v, "exec") != 0;

	if (strcmp(v, "check") == 0)
		return 0;
	if (count < 1)
		return fail("usage", "\"%s\" requires %s 1 argument(s)", v,
			    exactly ? "exactly" : "a minimum of");
	if (exactly && count > 1)
		return fail("usage", "\"%s\" requires exactly 1 argument(s)", v);
	if (strcmp(v, "kill") == 0 && count > 2)
		return fail("usage", "\"kill\" requires a maximum of 2 argument(s)");
	return 0;
}

/* Returns 0, or the exit status of a usage error (lk_err set). */
static int parse_cli(int argc, char **argv, struct cli *cli)
{
	const char *positional[3] = { NULL, NULL, NULL };
	int npositional = 0;

	memset(cli, 0, sizeof *cli);
	cli->root = STATE_DEFAULT_ROOT;
	for (int i = 1; i < argc; i++) {
		int r = value_option(argv, argc, &i, cli);
		if (r == 0 && cli->verb && strcmp(cli->verb, "exec") == 0)
			r = exec_option(argv, argc, &i, cli);
		if (r == 0)
			r = flag_option(argv[i], cli);
		if (r < 0)
			return 2;
		if (r > 0)
			continue;
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fail("usage", "unknown option %s", argv[i]);
			return 2;
		}
		if (!cli->verb) {
			cli->verb = argv[i];
			if (cmd_owns_verb(cli->verb)) {
				cli->verb_argc = argc - i - 1;
				cli->verb_argv = argv + i + 1;
				return 0;
			}
		} else if (strcmp(cli->verb, "exec") == 0) {
			/* Everything after the id is the program and its arguments. */
			cli->id = argv[i];
			cli->args = argv + i + 1;
			npositional = 1 + (argv[i + 1] != NULL);
			break;
		} else if (npositional < 3) {
			positional[npositional++] = argv[i];
		} else {
			npositional++;
		}
	}
	if (!cli->verb) {
		fail("usage", "missing command");
		return 2;
	}
	if (cli->log_format && strcmp(cli->log_format, "json") != 0 &&
	    strcmp(cli->log_format, "text") != 0) {
		fail("usage", "--log-format needs text or json, not \"%s\"", cli->log_format);
		return 2;
	}
	if (check_count(cli, npositional) < 0)
		return 1;
	if (strcmp(cli->verb, "exec") != 0) {
		cli->id = positional[0];
		cli->signal = positional[1];
	}
	if (!cli->id)
		cli->id = "check";
	return state_check_id(cli->id) < 0 ? 2 : 0;
}

/* Validates a bundle's config.json without running anything, and shows
 * what lk-run derived from it (for build-time checks and tests). */
static int cmd_check(const struct cli *cli)
{
	struct spec spec;

	if (spec_load(cli->bundle ? cli->bundle : ".", cli->id, &spec) < 0)
		return LK_EXIT_SETUP;
	printf("{\n  \"rootfs\": %s,\n  \"cgroup\": %s,\n  \"cgroupFiles\": {",
	       json_quote(spec.rootfs), json_quote(spec.cgroup.path));
	for (size_t i = 0; i < spec.cgroup.nfiles; i++)
		printf("%s\n    %s: %s", i ? "," : "", json_quote(spec.cgroup.files[i].key),
		       json_quote(spec.cgroup.files[i].value));
	printf("%s},\n  \"seccompInstructions\": %zu\n}\n", spec.cgroup.nfiles ? "\n  " : "",
	       spec.seccomp ? spec.seccomp->count : 0);
	return 0;
}

static int cmd_run(const struct cli *cli)
{
	struct spec spec;
	struct spawned child;
	struct spawn_options opts = { .start_fd = -1,
				      .pdeath_kill = 1,
				      .preserve_fds = cli->preserve_fds,
				      .console_fd = -1,
				      .no_new_keyring = cli->no_new_keyring };
	int exit_code, status;

	if (spec_load(cli->bundle ? cli->bundle : ".", cli->id, &spec) < 0)
		return LK_EXIT_SETUP;
	/* process.terminal is left to the caller here: the container gets our
	 * stdio, a terminal if we were given one (`runc spec` asks for one). */
	container_block_signals();
	if (container_spawn(&spec, &opts, &child, &exit_code) < 0)
		return exit_code;
	if (cli->pid_file && state_write_pid_file(cli->pid_file, child.pid) < 0) {
		fprintf(stderr, "lk-run: %s\n", lk_err);
		kill(child.pid, SIGKILL);
	}
	status = container_wait(child.pid);
	cgroup_remove(&child.cgroup);
	hooks_run_spec_logged(&spec, HOOK_POSTSTOP, "stopped", 0);
	return status;
}

static int cmd_create(const struct cli *cli)
{
	struct create_request req = { .bundle = cli->bundle ? cli->bundle : ".",
				      .pid_file = cli->pid_file,
				      .console_socket = cli->console_socket,
				      .preserve_fds = cli->preserve_fds,
				      .no_new_keyring = cli->no_new_keyring };

	return state_create(cli->root, cli->id, &req);
}

static int cmd_exec(struct cli *cli)
{
	struct exec_request req = { .process_file = cli->process,
				    .args = cli->args,
				    .env = cli->env,
				    .cwd = cli->cwd,
				    .pid_file = cli->pid_file,
				    .console_socket = cli->console_socket,
				    .detach = cli->detach,
				    .tty = cli->tty,
				    .has_user = cli->has_user,
				    .uid = cli->uid,
				    .has_gid = cli->has_gid,
				    .gid = cli->gid,
				    .additional_gids = cli->gids,
				    .n_additional_gids = cli->ngids,
				    .add_caps = cli->add_caps,
				    .no_new_privs = cli->no_new_privs };

	return exec_run(cli->root, cli->id, &req);
}

static int dispatch(struct cli *cli)
{
	const char *v = cli->verb;

	if (cmd_owns_verb(v))
		return cmd_dispatch(v, cli->root, cli->verb_argc, cli->verb_argv);
	if (strcmp(v, "run") == 0)
		return cmd_run(cli);
	if (strcmp(v, "check") == 0)
		return cmd_check(cli);
	if (strcmp(v, "create") == 0)
		return cmd_create(cli);
	if (strcmp(v, "exec") == 0)
		return cmd_exec(cli);
	if (strcmp(v, "start") == 0)
		return state_start(cli->root, cli->id);
	if (strcmp(v, "state") == 0)
		return state_print(cli->root, cli->id);
	if (strcmp(v, "kill") == 0)
		return state_kill(cli->root, cli->id, cli->signal ? cli->signal : "SIGTERM",
				  cli->all);
	if (strcmp(v, "delete") == 0)
		return state_delete(cli->root, cli->id, cli->force);
	fail("usage", "unknown command %s", v);
	usage();
	return 2;
}

/* --log FILE, created at the start as runc's is: a caller that reads it
 * after any failure finds at least an empty file. */
static int open_log(const struct cli *cli)
{
	if (!cli->log)
		return -1;
	return open(cli->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
}

/* --log: the error as one line, in logrus's shape (level, msg, time), which
 * containerd's shim reads back from a json log. Best effort: stderr has it too. */
static void log_error(const struct cli *cli)
{
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	char *line;
	int fd AUTO_FD = -1;

	if (!cli->log)
		return;
	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (cli->log_format && strcmp(cli->log_format, "json") == 0)
		line = xasprintf("{\"level\":\"error\",\"msg\":%s,\"time\":\"%s\"}\n",
				 json_quote(lk_err), when);
	else
		line = xasprintf("time=\"%s\" level=error msg=%s\n", when, json_quote(lk_err));
	fd = open_log(cli);
	if (fd >= 0)
		(void)!write(fd, line, strlen(line));
}

/* Ignored signals survive exec: a caller that ignores SIGCHLD would keep us
 * from seeing the exit status, one that ignores SIGPIPE would hand that on to
 * the container. Start from the defaults. */
static void reset_signals(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	for (int sig = 1; sig < 65; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
}

int main(int argc, char **argv)
{
	struct cli cli;
	int status;

	reset_signals();
	status = parse_cli(argc, argv, &cli);
	if (status) {
		fprintf(stderr, "lk-run: %s\n", lk_err);
		usage();
		log_error(&cli);
		return status;
	}
	lk_err[0] = '\0';
	close_fd(&(int){ open_log(&cli) });
	status = dispatch(&cli);
	if (lk_err[0]) {
		fprintf(stderr, "lk-run: %s\n", lk_err);
		log_error(&cli);
	}
	return status;
}
