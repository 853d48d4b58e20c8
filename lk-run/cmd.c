#include "cmd.h"
#include "err.h"
#include "state.h"

#include <string.h>

int cmd_owns_verb(const char *verb)
{
	static const char *const verbs[] = { "update", "pause", "resume", "ps", "features" };

	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strcmp(verb, verbs[i]) == 0)
			return 1;
	return 0;
}

int cmd_dispatch(const char *verb, const char *root, int argc, char **argv)
{
	if (strcmp(verb, "update") == 0)
		return cmd_update(root, argc, argv);
	if (strcmp(verb, "pause") == 0)
		return cmd_pause(root, argc, argv, 1);
	if (strcmp(verb, "resume") == 0)
		return cmd_pause(root, argc, argv, 0);
	if (strcmp(verb, "ps") == 0)
		return cmd_ps(root, argc, argv);
	if (strcmp(verb, "features") == 0)
		return cmd_features(argc, argv);
	fail("usage", "unknown command %s", verb);
	return 2;
}

int cmd_option(char **argv, int argc, int *i, const char *name, const char **out)
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

int cmd_container_cgroup(const char *root, const char *id, const char *verb,
			 const char *const *allowed, char **dir)
{
	const char *status;

	if (state_check_id(id) < 0 || state_lookup(root, id, dir, &status) < 0)
		return -1;
	for (size_t i = 0; allowed[i]; i++) {
		if (strcmp(status, allowed[i]) != 0)
			continue;
		if (!*dir)
			return fail(verb, "container \"%s\" has no cgroup", id);
		return 0;
	}
	return fail(verb, "container \"%s\" is %s, not %s", id, status, allowed[0]);
}
