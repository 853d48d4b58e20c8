/*
 * The `lk` module's kernel modules: finit_module(2) on a .ko file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lk.h"

/*
 * finitModule(path, params): load the kernel module in the file `path` (an uncompressed .ko)
 * with finit_module(2). musl has no wrapper, hence syscall(2). EEXIST means already loaded.
 */
static int finit_module_path(const char *path, const char *params)
{
	int fd LK_AUTO_FD = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	return syscall(SYS_finit_module, fd, params ? params : "", 0) < 0 ? -1 : 0;
}

static JSValue lk_finit_module(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	const char *path = lk_opt_string(ctx, argc, argv, 0);
	const char *params = lk_opt_string(ctx, argc, argv, 1);
	JSValue ret = JS_UNDEFINED;
	if (!path)
		ret = JS_ThrowTypeError(ctx, "finitModule: path required");
	else if (finit_module_path(path, params) < 0)
		ret = lk_throw_errno(ctx, "finit_module", path);
	JS_FreeCString(ctx, path);
	JS_FreeCString(ctx, params);
	return ret;
}

const JSCFunctionListEntry lk_kmod_funcs[] = {
	JS_CFUNC_DEF("finitModule", 2, lk_finit_module),
};
const size_t lk_kmod_count = countof(lk_kmod_funcs);
