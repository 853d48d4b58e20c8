/* The runtime-spec mount option table: option words -> mount(2) flags,
 * propagation, mount_setattr(2) attributes and filesystem data. */
#ifndef LK_MOUNT_OPTIONS_H
#define LK_MOUNT_OPTIONS_H

#include "spec.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

/* Fills m's flags/clear/propagation/attr/bind/data from the option words. */
int mount_options_parse(char **options, size_t count, struct mount_spec *m, const char *where);

/* Propagation word ("rprivate", "shared", ...) -> MS_* flags, or 0 if unknown. */
unsigned long mount_propagation_flags(const char *word);

#endif
