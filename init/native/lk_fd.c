/*
 * The `lk` module's file descriptors: pipes, log files, non-blocking reads and the log pump.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include "lk.h"

/* pipe(): [readFd, writeFd], both close-on-exec. */
static JSValue lk_pipe(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	(void)argc;
	(void)argv;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return lk_throw_errno(ctx, "pipe", NULL);
	JSValue pair = JS_NewArray(ctx);
	JS_SetPropertyUint32(ctx, pair, 0, JS_NewInt32(ctx, fds[0]));
	JS_SetPropertyUint32(ctx, pair, 1, JS_NewInt32(ctx, fds[1]));
	return pair;
}

/* path argv[0] opened close-on-exec with `flags`: the fd, or a thrown error naming `what`. */
static JSValue open_js(JSContext *ctx, int argc, JSValueConst *argv, const char *what, int flags)
{
	const char *path = lk_opt_string(ctx, argc, argv, 0);
	JSValue ret;
	int fd;
	if (!path)
		ret = JS_ThrowTypeError(ctx, "%s: path required", what);
	else if ((fd = open(path, flags | O_CLOEXEC, 0640)) < 0)
		ret = lk_throw_errno(ctx, "open", path);
	else
		ret = JS_NewInt32(ctx, fd);
	JS_FreeCString(ctx, path);
	return ret;
}

/* openAppend(path): a close-on-exec fd for appending logs. */
static JSValue lk_open_append(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	return open_js(ctx, argc, argv, "openAppend", O_WRONLY | O_CREAT | O_APPEND);
}

/* openRead(path): a close-on-exec, non-blocking fd for reading (device events). */
static JSValue lk_open_read(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	return open_js(ctx, argc, argv, "openRead", O_RDONLY | O_NONBLOCK);
}

static JSValue lk_set_nonblock(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	int32_t fd;
	if (lk_arg_int(ctx, argc, argv, 0, &fd) < 0)
		return JS_EXCEPTION;
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return lk_throw_errno(ctx, "fcntl", NULL);
	return JS_UNDEFINED;
}

/* Reads one chunk from fd argv[0] and copies it to every fd in argv[1] (failed or full
 * targets are skipped, so a slow reader cannot stall PID 1); *data points at it.
 * Returns bytes read (0 at EOF), -1 if nothing is ready, -2 on an error (lk_fail). */
static ssize_t pump_chunk(JSContext *ctx, int argc, JSValueConst *argv, const char **data)
{
	static char buf[1 << 16];
	int32_t from;
	uint32_t n = 0;
	if (lk_arg_int(ctx, argc, argv, 0, &from) < 0) {
		errno = EBADF;
		lk_fail("read", NULL);
		return -2;
	}
	ssize_t got;
	do
		got = read(from, buf, sizeof(buf));
	while (got < 0 && errno == EINTR);
	if (got < 0 && errno == EAGAIN)
		return -1;
	if (got < 0) {
		lk_fail("read", NULL);
		return -2;
	}
	if (argc > 1 && JS_IsArray(ctx, argv[1])) {
		JSValue len = JS_GetPropertyStr(ctx, argv[1], "length");
		JS_ToUint32(ctx, &n, len);
		JS_FreeValue(ctx, len);
	}
	for (uint32_t i = 0; i < n; i++) {
		int32_t to = -1;
		JSValue v = JS_GetPropertyUint32(ctx, argv[1], i);
		JS_ToInt32(ctx, &to, v);
		JS_FreeValue(ctx, v);
		if (to >= 0)
			lk_write_all(to, buf, (size_t)got);
	}
	*data = buf;
	return got;
}

/* pump(from, targets): moves one read's worth of bytes from `from` to every fd in `targets`.
 * Returns bytes read, 0 at EOF, -1 if none are ready. */
static JSValue lk_pump(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	const char *data;
	ssize_t got = pump_chunk(ctx, argc, argv, &data);
	return got == -2 ? lk_throw(ctx) : JS_NewInt32(ctx, (int32_t)got);
}

/* tee(from, targets): as pump, but returns what it moved as a string ("" at EOF, null if
 * nothing is ready), so the init can also forward it line by line. */
static JSValue lk_tee(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	const char *data;
	ssize_t got = pump_chunk(ctx, argc, argv, &data);
	if (got == -2)
		return lk_throw(ctx);
	return got == -1 ? JS_NULL : JS_NewStringLen(ctx, data, (size_t)got);
}

/* readString(fd): up to 64 KiB as a string; "" at EOF, null if not ready. */
static JSValue lk_read_string(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	static char buf[1 << 16];
	int32_t fd;
	if (lk_arg_int(ctx, argc, argv, 0, &fd) < 0)
		return JS_EXCEPTION;
	ssize_t got;
	do
		got = read(fd, buf, sizeof(buf));
	while (got < 0 && errno == EINTR);
	if (got < 0) {
		if (errno == EAGAIN)
			return JS_NULL;
		return lk_throw_errno(ctx, "read", NULL);
	}
	return JS_NewStringLen(ctx, buf, (size_t)got);
}

/* readFile(path): the whole file as a string (UTF-8), or null if it cannot be read. One
 * read(2) loop into one buffer: a FILE and a getc per byte, as std's readAsString does, cost
 * boot time in the init, which reads dozens of small /proc and /sys files. /proc files report
 * size 0, so the buffer grows as it fills. */
static JSValue lk_read_file(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	const char *path = lk_opt_string(ctx, argc, argv, 0);
	if (!path)
		return JS_ThrowTypeError(ctx, "readFile: path required");
	LK_AUTO_FD int fd = open(path, O_RDONLY | O_CLOEXEC);
	JS_FreeCString(ctx, path);
	if (fd < 0)
		return JS_NULL;
	char *buf LK_AUTO_FREE = NULL;
	size_t cap = 0, len = 0;
	for (;;) {
		if (len == cap) {
			size_t grown = cap ? cap * 2 : 4096;
			char *more = realloc(buf, grown);
			if (!more)
				return JS_ThrowOutOfMemory(ctx);
			buf = more;
			cap = grown;
		}
		ssize_t got = read(fd, buf + len, cap - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return JS_NULL; /* a directory, a /sys attribute that refuses reads */
		if (got == 0)
			break;
		len += (size_t)got;
	}
	return JS_NewStringLen(ctx, buf ? buf : "", len);
}

/* writeString(fd, s): writes all of s (UTF-8). */
static JSValue lk_write_string(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	int32_t fd;
	size_t len;
	if (argc < 2 || lk_arg_int(ctx, argc, argv, 0, &fd) < 0)
		return JS_ThrowTypeError(ctx, "writeString: fd and string required");
	const char *s = JS_ToCStringLen(ctx, &len, argv[1]);
	if (!s)
		return JS_EXCEPTION;
	int rc = lk_write_all(fd, s, len);
	JS_FreeCString(ctx, s);
	if (rc < 0)
		return lk_throw_errno(ctx, "write", NULL);
	return JS_UNDEFINED;
}

/* drain(fd): waits until what was written to the terminal `fd` has gone out (tcdrain). */
static JSValue lk_drain(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	int32_t fd;
	if (lk_arg_int(ctx, argc, argv, 0, &fd) < 0)
		return JS_EXCEPTION;
	if (tcdrain(fd) < 0)
		return lk_throw_errno(ctx, "tcdrain", NULL);
	return JS_UNDEFINED;
}

const JSCFunctionListEntry lk_fd_funcs[] = {
	JS_CFUNC_DEF("drain", 1, lk_drain),
	JS_CFUNC_DEF("pipe", 0, lk_pipe),
	JS_CFUNC_DEF("openAppend", 1, lk_open_append),
	JS_CFUNC_DEF("openRead", 1, lk_open_read),
	JS_CFUNC_DEF("setNonBlock", 1, lk_set_nonblock),
	JS_CFUNC_DEF("pump", 2, lk_pump),
	JS_CFUNC_DEF("tee", 2, lk_tee),
	JS_CFUNC_DEF("readString", 1, lk_read_string),
	JS_CFUNC_DEF("readFile", 1, lk_read_file),
	JS_CFUNC_DEF("writeString", 2, lk_write_string),
};
const size_t lk_fd_count = countof(lk_fd_funcs);
