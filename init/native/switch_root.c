/*
 * Makes a mount the root: chdir into it, move it over / and chroot, like
 * switch_root(8) without deleting anything. The kernel's rootfs cannot be
 * pivot_root'ed away, so containers could not pivot_root from it; a bind
 * mount of it moved over / can, because it has a parent mount. Nothing is
 * copied: the initramfs stays where the kernel unpacked it.
 */
#define _GNU_SOURCE
#include <sys/mount.h>
#include <unistd.h>

#include "lk.h"

int lk_switch_root(const char *newroot)
{
	if (chdir(newroot) < 0)
		return lk_fail("chdir", newroot);
	if (mount(newroot, "/", NULL, MS_MOVE, NULL) < 0)
		return lk_fail("move mount", newroot);
	if (chroot(".") < 0)
		return lk_fail("chroot", newroot);
	if (chdir("/") < 0)
		return lk_fail("chdir", "/");
	return 0;
}
