/* Shared declarations of the init's native side. */
#ifndef LK_H
#define LK_H

#include "quickjs.h"

/* The `lk` JavaScript module: the system calls that QuickJS's std/os lack. */
JSModuleDef *lk_init_module(JSContext *ctx, const char *name);

/*
 * Moves every file of the root filesystem (same device only) into
 * `newroot`, which must already be a mounted tmpfs, then MS_MOVEs
 * `newroot` over / and chroots into it. Returns 0, or -1 with errno set
 * and `what` naming the failed step and path.
 */
int lk_switch_root(const char *newroot, char *what, size_t what_size);

/*
 * Connects to ipv4:port within timeout_ms; the socket is blocking afterwards with reads and
 * writes bounded by the same timeout. Returns the fd, or -1 with errno set.
 */
int lk_tcp_connect(const char *ipv4, int port, int timeout_ms);

#endif
