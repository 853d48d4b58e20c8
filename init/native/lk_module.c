/*
 * The `lk` module: system calls for PID 1 that QuickJS's std/os lack, one
 * table per concern, plus the error idiom and argument helpers they share.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lk.h"

char lk_err[512];

int lk_fail(const char *step, const char *arg)
{
	int saved = errno;
	snprintf(lk_err, sizeof(lk_err), "%s%s%s", step, arg ? " " : "", arg ? arg : "");
	errno = saved;
	return -1;
}

JSValue lk_throw(JSContext *ctx)
{
	int err = errno;
	char msg[sizeof(lk_err) + 64];
	JSValue e = JS_NewError(ctx);
	snprintf(msg, sizeof(msg), "%s: %s", lk_err, strerror(err));
	JS_SetPropertyStr(ctx, e, "message", JS_NewString(ctx, msg));
	JS_SetPropertyStr(ctx, e, "errno", JS_NewInt32(ctx, err));
	return JS_Throw(ctx, e);
}

JSValue lk_throw_errno(JSContext *ctx, const char *step, const char *arg)
{
	lk_fail(step, arg);
	return lk_throw(ctx);
}

const char *lk_opt_string(JSContext *ctx, int argc, JSValueConst *argv, int i)
{
	if (i >= argc || JS_IsNull(argv[i]) || JS_IsUndefined(argv[i]))
		return NULL;
	return JS_ToCString(ctx, argv[i]);
}

int lk_arg_int(JSContext *ctx, int argc, JSValueConst *argv, int i, int32_t *out)
{
	*out = 0;
	if (i >= argc || JS_IsUndefined(argv[i]))
		return 0;
	return JS_ToInt32(ctx, out, argv[i]);
}

int lk_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

struct lk_table {
	const JSCFunctionListEntry *funcs;
	const size_t *count;
};

static const struct lk_table lk_tables[] = {
	{ lk_sys_funcs, &lk_sys_count },         { lk_proc_funcs, &lk_proc_count },
	{ lk_fd_funcs, &lk_fd_count },           { lk_socket_funcs, &lk_socket_count },
	{ lk_netlink_funcs, &lk_netlink_count }, { lk_kmod_funcs, &lk_kmod_count },
	{ lk_dm_funcs, &lk_dm_count },
};

static int lk_module_init(JSContext *ctx, JSModuleDef *m)
{
	for (size_t i = 0; i < countof(lk_tables); i++)
		if (JS_SetModuleExportList(ctx, m, lk_tables[i].funcs, (int)*lk_tables[i].count) <
		    0)
			return -1;
	return 0;
}

JSModuleDef *lk_init_module(JSContext *ctx, const char *name)
{
	JSModuleDef *m = JS_NewCModule(ctx, name, lk_module_init);
	if (!m)
		return NULL;
	for (size_t i = 0; i < countof(lk_tables); i++)
		if (JS_AddModuleExportList(ctx, m, lk_tables[i].funcs, (int)*lk_tables[i].count) <
		    0)
			return NULL;
	return m;
}
