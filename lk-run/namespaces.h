/* Creating and joining namespaces. A new user or pid namespace is made by
 * clone() in the parent (the pid namespace must be owned by the new user
 * namespace); the child joins the listed paths and unshares the rest. */
#ifndef LK_NAMESPACES_H
#define LK_NAMESPACES_H

#include <sys/types.h>

#include "json.h"
#include "spec.h"

/* linux.uidMappings or gidMappings (where names the field). */
int ns_parse_id_mappings(const struct json *list, const char *where, struct id_mapping **out,
			 size_t *count);

/* linux.timeOffsets: the text for a new time namespace's timens_offsets. */
int ns_parse_time_offsets(const struct json *obj, struct spec *s);

/* A config without a mount namespace: nothing that would mount (in the
 * caller's namespace) may be asked for. */
int ns_check_without_mount(const struct spec *s, int propagation_given);

/* CLONE_NEW* flags the parent passes to clone(). */
int ns_clone_flags(const struct spec *s);

/* Parent, before anything is created: every path names a namespace of its
 * entry's type ("config: linux.namespaces[i].path: ..." otherwise). */
int ns_check_paths(const struct spec *s);

/* Parent, before clone: a pid namespace to join applies to our children.
 * *saved is our own (or -1) for ns_restore_pid after the clone. */
int ns_join_pid(const struct spec *s, int *saved);
int ns_restore_pid(int saved);

/* Parent, after clone: uid_map and gid_map of a new user namespace. */
int ns_write_id_maps(const struct spec *s, pid_t pid);

/* Child: join every namespace given by path (user first), then create the
 * remaining new ones. */
int ns_enter(const struct spec *s);

#endif
