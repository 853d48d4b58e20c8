/* The verbs that act on a created container's cgroup (update, pause, resume,
 * ps) and features. Each parses its own arguments: main hands over
 * everything after the verb. */
#ifndef LK_CMD_H
#define LK_CMD_H

/* True for the verbs below. */
int cmd_owns_verb(const char *verb);

/* Runs verb with its arguments; returns the exit status (2: usage), with
 * lk_err set on failure. */
int cmd_dispatch(const char *verb, const char *root, int argc, char **argv);

/* Helpers shared by the verbs (cmd.c). */

/* Accepts "--opt value" and "--opt=value" at argv[*i]: 1 and *out set, 0 if
 * argv[*i] is another argument, -1 (usage) if the value is missing. main's
 * global options use it too. */
int cmd_option(char **argv, int argc, int *i, const char *name, const char **out);

/* The cgroup directory of container id, whose status must be one of the
 * NULL-terminated allowed list (the first is named in the error). */
int cmd_container_cgroup(const char *root, const char *id, const char *verb,
			 const char *const *allowed, char **dir);

int cmd_update(const char *root, int argc, char **argv);
int cmd_pause(const char *root, int argc, char **argv, int frozen);
int cmd_ps(const char *root, int argc, char **argv);
int cmd_features(int argc, char **argv);

#endif
