/* lk-run: a static OCI launcher for system containers.
 *
 *   lk-run [--root DIR] run --bundle DIR ID      run in the foreground
 *   lk-run [--root DIR] create --bundle DIR [--pid-file F] ID
 *   (run and create also take --preserve-fds N: fds 3..3+N-1 reach the container)
 *   lk-run [--root DIR] start|state|delete [--force] ID
 *   lk-run [--root DIR] kill ID [SIGNAL]
 *   lk-run check --bundle DIR [ID]               validate config.json only
 */
#include "cgroup.h"
#include "container.h"
#include "err.h"
#include "hooks.h"
#include "json.h"
#include "spec.h"
#include "state.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cli {
	const char *root;
	const char *verb;
	const char *bundle;
	const char *pid_file;
	const char *id;
	const char *signal;
	int force;
	int preserve_fds;
};

static void usage(void)
{
	fputs("usage: lk-run [--root DIR] run|create --bundle DIR [--pid-file FILE]\n"
	      "              [--preserve-fds N] ID\n"
	      "       lk-run [--root DIR] start|state|delete [--force] ID\n"
	      "       lk-run check --bundle DIR [ID]\n"
	      "       lk-run [--root DIR] kill ID [SIGNAL]\n",
	      stderr);
}

/* Accepts "--opt value" and "--opt=value". */
static int option_value(char **argv, int argc, int *i, const char *name, const char **out)
{
	size_t len = strlen(name);

	if (strncmp(argv[*i], name, len) != 0)
		return 0;
	if (argv[*i][len] == '=') {
		*out = argv[*i] + len + 1;
		return 1;
	}
	if (argv[*i][len] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return fail("usage", "%s needs a value", name);
	*out = argv[++*i];
	return 1;
}

static int parse_cli(int argc, char **argv, struct cli *cli)
{
	const char *positional[2] = { NULL, NULL };
	int npositional = 0;
	const char *ignored, *preserve = NULL;

	memset(cli, 0, sizeof *cli);
	cli->root = STATE_DEFAULT_ROOT;
	for (int i = 1; i < argc; i++) {
		int r;
		if ((r = option_value(argv, argc, &i, "--root", &cli->root)) != 0 ||
		    (r = option_value(argv, argc, &i, "--bundle", &cli->bundle)) != 0 ||
		    (r = option_value(argv, argc, &i, "-b", &cli->bundle)) != 0 ||
		    (r = option_value(argv, argc, &i, "--pid-file", &cli->pid_file)) != 0 ||
		    (r = option_value(argv, argc, &i, "--preserve-fds", &preserve)) != 0 ||
		    (r = option_value(argv, argc, &i, "--log", &ignored)) != 0 ||
		    (r = option_value(argv, argc, &i, "--log-format", &ignored)) != 0) {
			if (r < 0)
				return -1;
			continue;
		}
		if (strcmp(argv[i], "--force") == 0 || strcmp(argv[i], "-f") == 0) {
			cli->force = 1;
			continue;
		}
		if (strcmp(argv[i], "--debug") == 0 || strcmp(argv[i], "--systemd-cgroup") == 0)
			continue;
		if (argv[i][0] == '-' && argv[i][1] != '\0')
			return fail("usage", "unknown option %s", argv[i]);
		if (!cli->verb) {
			cli->verb = argv[i];
			continue;
		}
		if (npositional == 2)
			return fail("usage", "unexpected argument %s", argv[i]);
		positional[npositional++] = argv[i];
	}
	if (!cli->verb)
		return fail("usage", "missing command");
	if (preserve) {
		char *end;
		long n = strtol(preserve, &end, 10);
		if (!*preserve || *end || n < 0 || n > 1024)
			return fail("usage", "--preserve-fds needs a count, not \"%s\"", preserve);
		cli->preserve_fds = (int)n;
	}
	cli->id = positional[0];
	cli->signal = positional[1];
	if (!cli->id && strcmp(cli->verb, "check") == 0)
		cli->id = "check";
	if (!cli->id)
		return fail("usage", "missing container id");
	if (positional[1] && strcmp(cli->verb, "kill") != 0)
		return fail("usage", "unexpected argument %s", positional[1]);
	if (state_check_id(cli->id) < 0)
		return -1;
	return 0;
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
	struct spawn_options opts = { -1, 1, cli->preserve_fds };
	int exit_code, status;

	if (spec_load(cli->bundle ? cli->bundle : ".", cli->id, &spec) < 0)
		return LK_EXIT_SETUP;
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

	if (parse_cli(argc, argv, &cli) < 0) {
		fprintf(stderr, "lk-run: %s\n", lk_err);
		usage();
		return 2;
	}
	lk_err[0] = '\0';
	if (strcmp(cli.verb, "run") == 0)
		status = cmd_run(&cli);
	else if (strcmp(cli.verb, "check") == 0)
		status = cmd_check(&cli);
	else if (strcmp(cli.verb, "create") == 0)
		status = state_create(cli.root, cli.id, cli.bundle ? cli.bundle : ".", cli.pid_file,
				      cli.preserve_fds);
	else if (strcmp(cli.verb, "start") == 0)
		status = state_start(cli.root, cli.id);
	else if (strcmp(cli.verb, "state") == 0)
		status = state_print(cli.root, cli.id);
	else if (strcmp(cli.verb, "kill") == 0)
		status = state_kill(cli.root, cli.id, cli.signal ? cli.signal : "SIGTERM");
	else if (strcmp(cli.verb, "delete") == 0)
		status = state_delete(cli.root, cli.id, cli.force);
	else {
		fprintf(stderr, "lk-run: usage: unknown command %s\n", cli.verb);
		usage();
		return 2;
	}
	if (lk_err[0])
		fprintf(stderr, "lk-run: %s\n", lk_err);
	return status;
}
