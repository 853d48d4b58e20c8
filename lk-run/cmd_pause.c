/* lk-run pause|resume ID: the cgroup v2 freezer (cgroup.freeze). `state`
 * reports a frozen container as "paused". */
#include "cgroup.h"
#include "cmd.h"
#include "err.h"

int cmd_pause(const char *root, int argc, char **argv, int frozen)
{
	static const char *const runnable[] = { "running", NULL };
	static const char *const paused[] = { "paused", NULL };
	const char *verb = frozen ? "pause" : "resume";
	char *dir;

	if (argc != 1 || argv[0][0] == '-') {
		fail("usage", "%s takes one container id", verb);
		return 2;
	}
	if (cmd_container_cgroup(root, argv[0], verb, frozen ? runnable : paused, &dir) < 0 ||
	    cgroup_freeze(dir, frozen) < 0)
		return 1;
	return 0;
}
