/* The runtime spec's POSIX hooks: parsed from config.json, each run with the
 * container's state JSON on its stdin and killed when its timeout passes.
 * Where each kind runs (runtime or container namespace) is the caller's
 * choice: container.c and state.c call them at their lifecycle steps. */
#ifndef LK_HOOKS_H
#define LK_HOOKS_H

#include <sys/types.h>

#include "json.h"
#include "spec.h"

/* poststart and poststop run in later invocations (start, delete): create
 * keeps them in the container's state directory under this name. */
#define HOOKS_FILE "hooks.json"

/* config.json's "hooks" object (absent: no hooks). */
int hooks_parse(const struct json *obj, const char *where, struct hook_list out[HOOK_KINDS]);

/* Whether any hook of the kinds in [first, last] is configured. */
int hooks_any(const struct hook_list hooks[HOOK_KINDS], enum hook_kind first,
	      enum hook_kind last);

/* The OCI state document for a hook's stdin; annotations is a JSON object. */
char *hooks_state(const char *id, const char *status, pid_t pid, const char *bundle,
		  const char *annotations);
/* The same from the config (status "creating", "created", ...). */
char *hooks_spec_state(const struct spec *s, const char *status, pid_t pid);

/* Runs the hooks of one kind in order; the first that fails (non-zero exit,
 * signal, timeout, cannot execute) stops the rest: -1 with lk_err. */
int hooks_run(const struct hook_list hooks[HOOK_KINDS], enum hook_kind kind, const char *state);

/* Runs them all; a failure is a warning on stderr (poststart, poststop). */
void hooks_run_logged(const struct hook_list hooks[HOOK_KINDS], enum hook_kind kind,
		      const char *state);

/* hooks_run_logged with the state made from the config, if there are any. */
void hooks_run_spec_logged(const struct spec *s, enum hook_kind kind, const char *status,
			   pid_t pid);

/* create: writes dir/HOOKS_FILE with the poststart and poststop hooks, if any. */
int hooks_save(const char *dir, const struct spec *s);

/* start, delete: reads them back (none when the file is absent). */
int hooks_load(const char *dir, struct hook_list out[HOOK_KINDS]);

#endif
