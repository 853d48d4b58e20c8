/* The container's filesystem: mounts, device nodes, pivot_root and the
 * final read-only/masked views. Runs in the child, in its mount namespace. */
#ifndef LK_ROOTFS_H
#define LK_ROOTFS_H

#include "spec.h"

/* Before pivot: propagation, rootfs bind, mounts, devices, /dev links. */
int rootfs_prepare(const struct spec *s);

/* pivot_root into the rootfs, or MS_MOVE + chroot where pivot_root is
 * impossible (the root is the initramfs). */
int rootfs_pivot(const struct spec *s);

/* pivot_root into rootfs: 0, -1 (lk_err), or 1 where it is impossible. */
int rootfs_pivot_at(const char *rootfs);

/* Where it is impossible (move_root.c): out of the launcher's own chroot and
 * pivot_root from the namespace's root; failing that (an initramfs) the
 * host's mounts detached, the rootfs's ancestors made read-only, then
 * MS_MOVE + chroot. Refused when any of that fails. */
int rootfs_move_root(const struct spec *s);

/* No mount namespace: sysctl, then chroot into the rootfs (no mounts). */
int rootfs_enter_without_mounts(const struct spec *s);

/* After pivot: rootfsPropagation, sysctl, readonlyPaths, maskedPaths,
 * read-only root. */
int rootfs_finalize(const struct spec *s);

#endif
