/* Shared declarations of the init's native side. */
#ifndef LK_H
#define LK_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "quickjs.h"

#define countof(a) (sizeof(a) / sizeof((a)[0]))

/*
 * One error idiom for all of init/native: a failing step calls
 * lk_fail(step, arg), which records "step arg" in lk_err, keeps errno and
 * returns -1. A binding then throws lk_throw(ctx): an Error whose message is
 * "step arg: strerror(errno)" and whose .errno is errno; JavaScript decides
 * whether that is fatal. Bad arguments are a TypeError instead.
 */
extern char lk_err[512];
int lk_fail(const char *step, const char *arg);
JSValue lk_throw(JSContext *ctx);
/* lk_fail then lk_throw, for a call that failed right here. */
JSValue lk_throw_errno(JSContext *ctx, const char *step, const char *arg);

/* Optional string argument i: NULL when absent, null or undefined. */
const char *lk_opt_string(JSContext *ctx, int argc, JSValueConst *argv, int i);
/* Integer argument i (0 when absent); -1 with an exception pending. */
int lk_arg_int(JSContext *ctx, int argc, JSValueConst *argv, int i, int32_t *out);
/* `int fd LK_AUTO_FD = ...`: closed when it goes out of scope (errno kept), so
 * an early return never leaks it; set it to -1 to hand the fd on. */
static inline void lk_close_fd(int *fd)
{
	int saved = errno;

	if (*fd >= 0)
		close(*fd);
	errno = saved;
}
#define LK_AUTO_FD __attribute__((cleanup(lk_close_fd)))

/* `char *buf LK_AUTO_FREE = NULL;`: freed when it goes out of scope. */
static inline void lk_free_ptr(void *p)
{
	free(*(void **)p);
}
#define LK_AUTO_FREE __attribute__((cleanup(lk_free_ptr)))

/* Writes all n bytes (retrying EINTR and short writes); -1 with errno. */
int lk_write_all(int fd, const char *p, size_t n);

/* The `lk` JavaScript module: the system calls that QuickJS's std/os lack.
 * Its functions come in tables, one per concern (lk_sys.c, lk_proc.c, ...). */
JSModuleDef *lk_init_module(JSContext *ctx, const char *name);
extern const JSCFunctionListEntry lk_sys_funcs[], lk_proc_funcs[], lk_fd_funcs[], lk_socket_funcs[],
	lk_netlink_funcs[], lk_kmod_funcs[], lk_dm_funcs[];
extern const size_t lk_sys_count, lk_proc_count, lk_fd_count, lk_socket_count, lk_netlink_count,
	lk_kmod_count, lk_dm_count;

/*
 * Makes the mount at `newroot` the root: MS_MOVEs it over / and chroots
 * into it. Returns 0, or -1 (lk_fail).
 */
int lk_switch_root(const char *newroot);

#endif
