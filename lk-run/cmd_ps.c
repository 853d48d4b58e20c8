/* lk-run ps [--format table|json] ID: the processes in the container's
 * cgroup (and the cgroups below it). json is runc's: a list of pids. */
#include "cgroup.h"
#include "cmd.h"
#include "err.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* /proc/<pid>/<name> into buf (NUL-terminated); the byte count, or -1. */
static ssize_t read_proc(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	int fd AUTO_FD = -1;
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || (n = read(fd, buf, size - 1)) < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* One table row; a process that exited meanwhile is left out. */
static void print_row(pid_t pid)
{
	char stat[1024], cmd[4096], *close_paren, state;
	ssize_t n;
	int ppid;

	if (read_proc(pid, "stat", stat, sizeof stat) <= 0 || !(close_paren = strrchr(stat, ')')) ||
	    sscanf(close_paren + 1, " %c %d", &state, &ppid) != 2)
		return;
	if ((n = read_proc(pid, "cmdline", cmd, sizeof cmd)) > 0) {
		for (ssize_t i = 0; i < n - 1; i++)
			cmd[i] = cmd[i] ? cmd[i] : ' ';
	} else {
		/* Zombies have no command line: the name from stat, in brackets. */
		*close_paren = '\0';
		snprintf(cmd, sizeof cmd, "[%s]", strchr(stat, '(') + 1);
	}
	printf("%-8d %-8d %c    %s\n", (int)pid, ppid, state, cmd);
}

int cmd_ps(const char *root, int argc, char **argv)
{
	static const char *const states[] = { "running", "created", "paused", "stopped", NULL };
	const char *format = "table", *id = NULL;
	pid_t *pids;
	size_t count;
	char *dir;

	for (int i = 0; i < argc; i++) {
		int r = cmd_option(argv, argc, &i, "--format", &format);
		if (!r)
			r = cmd_option(argv, argc, &i, "-f", &format);
		if (r < 0)
			return 2;
		if (r)
			continue;
		if ((argv[i][0] == '-' && argv[i][1]) || id) {
			/* runc hands further arguments to ps(1); there is none to hand them to. */
			fail("usage", "ps: unexpected argument %s", argv[i]);
			return 2;
		}
		id = argv[i];
	}
	if (!id) {
		fail("usage", "ps: missing container id");
		return 2;
	}
	if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0) {
		fail("usage", "ps: --format is table or json, not \"%s\"", format);
		return 2;
	}
	if (cmd_container_cgroup(root, id, "ps", states, &dir) < 0 ||
	    cgroup_pids(dir, &pids, &count) < 0)
		return 1;
	if (strcmp(format, "json") == 0) {
		fputs("[", stdout);
		for (size_t i = 0; i < count; i++)
			printf("%s%d", i ? "," : "", (int)pids[i]);
		fputs("]\n", stdout);
		return 0;
	}
	printf("%-8s %-8s %s %s\n", "PID", "PPID", "STAT", "CMD");
	for (size_t i = 0; i < count; i++)
		print_row(pids[i]);
	return 0;
}
