/* Linux capabilities: the name table and applying the five sets. */
#ifndef LK_CAPS_H
#define LK_CAPS_H

#include <stdint.h>

#include "spec.h"

/* "CAP_CHOWN" etc. for a capability number lk-run knows, or NULL. */
const char *cap_name_of(int cap);

/* Capability number for "CAP_CHOWN" etc., or -1. */
int cap_from_name(const char *name);

/* Drops everything outside the bounding set; call while still privileged. */
int caps_drop_bounding(const struct capability_sets *caps);

/* Sets effective/permitted/inheritable, then the ambient set; call after
 * switching user (with PR_SET_KEEPCAPS on). */
int caps_apply(const struct capability_sets *caps);

#endif
