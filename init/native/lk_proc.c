/*
 * The `lk` module's processes: spawn in a new session, reap, signals as an fd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lk.h"

/* Reads fd property `key` of `opts`, or `fallback` when absent. */
static int opt_fd(JSContext *ctx, JSValueConst opts, const char *key, int fallback)
{
	int32_t fd = fallback;
	JSValue v = JS_GetPropertyStr(ctx, opts, key);
	if (!JS_IsUndefined(v) && !JS_IsNull(v))
		JS_ToInt32(ctx, &fd, v);
	JS_FreeValue(ctx, v);
	return fd;
}

/* The child side of spawn: never returns. */
static void exec_child(char **args, int in, int out, int err)
{
	/* Defaults before unblocking: no handler may run here, in the init's memory. */
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	if (in < 0)
		in = open("/dev/null", O_RDONLY);
	/* Move the sources above 2 first so the dup2 calls cannot clobber them. */
	int fds[3] = { in, out, err };
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0 && fds[i] <= 2)
			fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			dup2(fds[i], i);
	execv(args[0], args);
	dprintf(2, "lk-init: exec %s: %s\n", args[0], strerror(errno));
	_exit(127);
}

struct spawn_request {
	char **args;
	int in, out, err;
};

static int spawn_child_main(void *arg)
{
	struct spawn_request *r = arg;
	exec_child(r->args, r->in, r->out, r->err);
	return 127;
}

/* The child runs on its own stack in our memory until it execs (as posix_spawn does): no
 * page tables copied and no copy-on-write faults in the init afterwards, which under TCG
 * made each fork cost milliseconds. */
enum { SPAWN_STACK_BYTES = 64 * 1024 };

/* spawn(argv, {stdin, stdout, stderr}): clone+exec in a new session, with
 * an empty signal mask; returns the pid. Unset fds are inherited
 * (stdin defaults to /dev/null). */
static JSValue lk_spawn(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	JSValue ret = JS_EXCEPTION;
	uint32_t n = 0;
	char **args = NULL;
	char *stack = NULL;
	if (argc < 1 || !JS_IsArray(ctx, argv[0]))
		return JS_ThrowTypeError(ctx, "spawn: argv array required");
	JSValue len = JS_GetPropertyStr(ctx, argv[0], "length");
	int lenerr = JS_ToUint32(ctx, &n, len);
	JS_FreeValue(ctx, len);
	if (lenerr < 0)
		return JS_EXCEPTION;
	if (n == 0)
		return JS_ThrowTypeError(ctx, "spawn: empty argv");
	args = calloc(n + 1, sizeof(*args));
	if (!args)
		return JS_ThrowOutOfMemory(ctx);
	for (uint32_t i = 0; i < n; i++) {
		JSValue v = JS_GetPropertyUint32(ctx, argv[0], i);
		const char *s = JS_ToCString(ctx, v);
		JS_FreeValue(ctx, v);
		if (!s)
			goto out;
		args[i] = strdup(s);
		JS_FreeCString(ctx, s);
		if (!args[i]) {
			ret = JS_ThrowOutOfMemory(ctx);
			goto out;
		}
	}
	JSValueConst opts = argc > 1 ? argv[1] : JS_UNDEFINED;
	int in = -1, out = 1, err = 2;
	if (JS_IsObject(opts)) {
		in = opt_fd(ctx, opts, "stdin", -1);
		out = opt_fd(ctx, opts, "stdout", 1);
		err = opt_fd(ctx, opts, "stderr", 2);
	}
	stack = malloc(SPAWN_STACK_BYTES);
	if (!stack) {
		ret = JS_ThrowOutOfMemory(ctx);
		goto out;
	}
	struct spawn_request request = { args, in, out, err };
	pid_t pid = clone(spawn_child_main, stack + SPAWN_STACK_BYTES, CLONE_VM | CLONE_VFORK | SIGCHLD, &request);
	if (pid < 0) {
		ret = lk_throw_errno(ctx, "clone", args[0]);
		goto out;
	}
	ret = JS_NewInt32(ctx, pid);
out:
	free(stack);
	for (uint32_t i = 0; i < n; i++)
		free(args[i]);
	free(args);
	return ret;
}

/* reap(): every exited child as {pid, code}, code = status or 128+signal. */
static JSValue lk_reap(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	(void)argc;
	(void)argv;
	JSValue list = JS_NewArray(ctx);
	uint32_t i = 0;
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		int code = WIFEXITED(status)     ? WEXITSTATUS(status)
			   : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
						 : 255;
		JSValue o = JS_NewObject(ctx);
		JS_SetPropertyStr(ctx, o, "pid", JS_NewInt32(ctx, pid));
		JS_SetPropertyStr(ctx, o, "code", JS_NewInt32(ctx, code));
		JS_SetPropertyUint32(ctx, list, i++, o);
	}
	return list;
}

/* signalfd(signals): blocks them and returns a non-blocking signalfd. */
static JSValue lk_signalfd(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	sigset_t set;
	uint32_t n = 0;
	sigemptyset(&set);
	if (argc < 1 || !JS_IsArray(ctx, argv[0]))
		return JS_ThrowTypeError(ctx, "signalfd: signal list required");
	JSValue len = JS_GetPropertyStr(ctx, argv[0], "length");
	JS_ToUint32(ctx, &n, len);
	JS_FreeValue(ctx, len);
	for (uint32_t i = 0; i < n; i++) {
		int32_t sig = 0;
		JSValue v = JS_GetPropertyUint32(ctx, argv[0], i);
		JS_ToInt32(ctx, &sig, v);
		JS_FreeValue(ctx, v);
		sigaddset(&set, sig);
	}
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return lk_throw_errno(ctx, "sigprocmask", NULL);
	int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return lk_throw_errno(ctx, "signalfd", NULL);
	return JS_NewInt32(ctx, fd);
}

/* readSignals(fd): the signal numbers pending on a signalfd. */
static JSValue lk_read_signals(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	int32_t fd;
	struct signalfd_siginfo info;
	uint32_t i = 0;
	if (lk_arg_int(ctx, argc, argv, 0, &fd) < 0)
		return JS_EXCEPTION;
	JSValue list = JS_NewArray(ctx);
	while (read(fd, &info, sizeof(info)) == (ssize_t)sizeof(info))
		JS_SetPropertyUint32(ctx, list, i++, JS_NewInt32(ctx, (int32_t)info.ssi_signo));
	return list;
}

const JSCFunctionListEntry lk_proc_funcs[] = {
	JS_CFUNC_DEF("spawn", 2, lk_spawn),
	JS_CFUNC_DEF("reap", 0, lk_reap),
	JS_CFUNC_DEF("signalfd", 1, lk_signalfd),
	JS_CFUNC_DEF("readSignals", 1, lk_read_signals),
};
const size_t lk_proc_count = countof(lk_proc_funcs);
