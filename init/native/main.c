/*
 * The init host program: QuickJS plus the precompiled init modules.
 * As PID 1 it must never exit: if the JavaScript event loop ever ends,
 * it falls back to reaping zombies forever.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "quickjs-libc.h"
#include "lk.h"
#include "modules.h"

/* The kernel gives init no fds if the initramfs lacks /dev/console. */
static void ensure_console(void)
{
	if (fcntl(1, F_GETFD) >= 0)
		return;
	mkdir("/dev", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0)
		return;
	for (int i = 0; i < 3; i++)
		if (fd != i)
			dup2(fd, i);
	if (fd > 2)
		close(fd);
}

/* Loads one precompiled module; the last one (the entry) is evaluated. */
static int load_module(JSContext *ctx, const struct lk_bytecode *b, int evaluate)
{
	JSValue obj = JS_ReadObject(ctx, b->code, *b->size, JS_READ_OBJ_BYTECODE);
	if (JS_IsException(obj))
		goto error;
	if (!evaluate) {
		js_module_set_import_meta(ctx, obj, 0, 0);
		JS_FreeValue(ctx, obj); /* the runtime keeps the module */
		return 0;
	}
	if (JS_ResolveModule(ctx, obj) < 0) {
		JS_FreeValue(ctx, obj);
		goto error;
	}
	js_module_set_import_meta(ctx, obj, 0, 1);
	JSValue val = JS_EvalFunction(ctx, obj);
	if (JS_IsException(val))
		goto error;
	JS_FreeValue(ctx, val);
	return 0;
error:
	js_std_dump_error(ctx);
	return -1;
}

static void reap_forever(void)
{
	dprintf(2, "lk-init: event loop ended; only reaping zombies now\n");
	for (;;) {
		if (waitpid(-1, NULL, 0) < 0 && errno == ECHILD)
			sleep(60);
	}
}

/* A context with what the compiled TypeScript uses. No Eval: the code arrives as bytecode, so
 * the parser and compiler are never needed and --gc-sections drops them (about 90 KB); no
 * Proxy, String.prototype.normalize or BigInt either. */
static JSContext *new_context(JSRuntime *rt)
{
	JSContext *ctx = JS_NewContextRaw(rt);
	if (!ctx)
		return NULL;
	JS_AddIntrinsicBaseObjects(ctx);
	JS_AddIntrinsicDate(ctx);
	JS_AddIntrinsicRegExpCompiler(ctx);
	JS_AddIntrinsicRegExp(ctx);
	JS_AddIntrinsicJSON(ctx);
	JS_AddIntrinsicMapSet(ctx);
	JS_AddIntrinsicTypedArrays(ctx);
	JS_AddIntrinsicPromise(ctx);
	return ctx;
}

int main(int argc, char **argv)
{
	int pid1 = getpid() == 1;
	if (pid1)
		ensure_console();
	signal(SIGPIPE, SIG_IGN);

	JSRuntime *rt = JS_NewRuntime();
	if (!rt) {
		dprintf(2, "lk-init: cannot create the JavaScript runtime\n");
		if (pid1)
			reap_forever();
		return 1;
	}
	js_std_init_handlers(rt);
	JS_SetHostPromiseRejectionTracker(rt, js_std_promise_rejection_tracker, NULL);
	JSContext *ctx = new_context(rt);
	if (!ctx) {
		dprintf(2, "lk-init: cannot create the JavaScript context\n");
		if (pid1)
			reap_forever();
		return 1;
	}
	js_init_module_std(ctx, "std");
	js_init_module_os(ctx, "os");
	lk_init_module(ctx, "lk");
	js_std_add_helpers(ctx, argc, argv);

	int rc = 0;
	for (unsigned i = 0; i < lk_module_count && rc == 0; i++)
		rc = load_module(ctx, &lk_modules[i], 0);
	if (rc == 0)
		rc = load_module(ctx, &lk_main_module, 1);
	/* Even after an error, run whatever handlers the JavaScript registered. */
	js_std_loop(ctx);
	if (pid1)
		reap_forever();
	return rc == 0 ? 0 : 1;
}
