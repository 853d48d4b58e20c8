/*
 * The `lk` module's plain system calls: mounts, root, hostname, reboot, signals.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "lk.h"

/* mount(source, target, fstype, flags, data) */
static JSValue lk_mount(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	const char *src = lk_opt_string(ctx, argc, argv, 0);
	const char *target = lk_opt_string(ctx, argc, argv, 1);
	const char *fstype = lk_opt_string(ctx, argc, argv, 2);
	const char *data = lk_opt_string(ctx, argc, argv, 4);
	double flags = 0;
	JSValue ret = JS_UNDEFINED;
	if (!target)
		ret = JS_ThrowTypeError(ctx, "mount: target required");
	else if (argc > 3 && JS_ToFloat64(ctx, &flags, argv[3]) < 0)
		ret = JS_EXCEPTION;
	else if (mount(src, target, fstype, (unsigned long)flags, data) < 0)
		ret = lk_throw_errno(ctx, "mount", target);
	JS_FreeCString(ctx, src);
	JS_FreeCString(ctx, target);
	JS_FreeCString(ctx, fstype);
	JS_FreeCString(ctx, data);
	return ret;
}

/* umount(target, flags) */
static JSValue lk_umount(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	int32_t flags;
	const char *target = lk_opt_string(ctx, argc, argv, 0);
	JSValue ret = JS_UNDEFINED;
	if (!target || lk_arg_int(ctx, argc, argv, 1, &flags) < 0)
		ret = JS_ThrowTypeError(ctx, "umount: target required");
	else if (umount2(target, flags) < 0)
		ret = lk_throw_errno(ctx, "umount", target);
	JS_FreeCString(ctx, target);
	return ret;
}

/* Calls a one-path syscall such as chroot or chdir. */
static JSValue path_call(JSContext *ctx, int argc, JSValueConst *argv, const char *name,
			 int (*fn)(const char *))
{
	const char *path = lk_opt_string(ctx, argc, argv, 0);
	JSValue ret = JS_UNDEFINED;
	if (!path)
		ret = JS_ThrowTypeError(ctx, "%s: path required", name);
	else if (fn(path) < 0)
		ret = lk_throw_errno(ctx, name, path);
	JS_FreeCString(ctx, path);
	return ret;
}

static JSValue lk_chroot(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	return path_call(ctx, argc, argv, "chroot", chroot);
}

static JSValue lk_chdir(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	return path_call(ctx, argc, argv, "chdir", chdir);
}

static int set_hostname(const char *name)
{
	return sethostname(name, strlen(name));
}

static JSValue lk_sethostname(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	return path_call(ctx, argc, argv, "sethostname", set_hostname);
}

/* reboot(cmd): one of the RB_* constants. Only returns on failure. */
static JSValue lk_reboot(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	int32_t cmd;
	if (lk_arg_int(ctx, argc, argv, 0, &cmd) < 0)
		return JS_EXCEPTION;
	if (reboot(cmd) < 0)
		return lk_throw_errno(ctx, "reboot", NULL);
	return JS_UNDEFINED;
}

static JSValue lk_sync(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)ctx;
	(void)this_val;
	(void)argc;
	(void)argv;
	sync();
	return JS_UNDEFINED;
}

/* Seconds since boot, including suspend (CLOCK_BOOTTIME). */
static JSValue lk_uptime(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	(void)argc;
	(void)argv;
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return JS_NewFloat64(ctx, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static JSValue lk_getpid(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	(void)argc;
	(void)argv;
	return JS_NewInt32(ctx, getpid());
}

/* kill(pid, sig) */
static JSValue lk_kill(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	int32_t pid, sig;
	if (lk_arg_int(ctx, argc, argv, 0, &pid) < 0 || lk_arg_int(ctx, argc, argv, 1, &sig) < 0)
		return JS_EXCEPTION;
	if (kill(pid, sig) < 0)
		return lk_throw_errno(ctx, "kill", NULL);
	return JS_UNDEFINED;
}

/* fsType(path): statfs f_type, e.g. 0x858458f6 for ramfs. */
static JSValue lk_fs_type(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	struct statfs sfs;
	const char *path = lk_opt_string(ctx, argc, argv, 0);
	JSValue ret;
	if (!path)
		ret = JS_ThrowTypeError(ctx, "fsType: path required");
	else if (statfs(path, &sfs) < 0)
		ret = lk_throw_errno(ctx, "statfs", path);
	else
		ret = JS_NewFloat64(ctx, (double)(unsigned long)sfs.f_type);
	JS_FreeCString(ctx, path);
	return ret;
}

static JSValue lk_switch_root_js(JSContext *ctx, JSValueConst this_val, int argc,
				 JSValueConst *argv)
{
	(void)this_val;
	const char *newroot = lk_opt_string(ctx, argc, argv, 0);
	JSValue ret = JS_UNDEFINED;
	if (!newroot)
		ret = JS_ThrowTypeError(ctx, "switchRoot: new root required");
	else if (lk_switch_root(newroot) < 0)
		ret = lk_throw(ctx);
	JS_FreeCString(ctx, newroot);
	return ret;
}

/* chmod(path, mode): the exact mode, whatever the umask. */
static JSValue lk_chmod(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	const char *path = lk_opt_string(ctx, argc, argv, 0);
	int32_t mode;
	JSValue ret = JS_UNDEFINED;
	if (!path)
		ret = JS_ThrowTypeError(ctx, "chmod: path required");
	else if (lk_arg_int(ctx, argc, argv, 1, &mode) < 0)
		ret = JS_EXCEPTION;
	else if (chmod(path, (mode_t)mode) < 0)
		ret = lk_throw_errno(ctx, "chmod", path);
	JS_FreeCString(ctx, path);
	return ret;
}

const JSCFunctionListEntry lk_sys_funcs[] = {
	JS_CFUNC_DEF("mount", 5, lk_mount),
	JS_CFUNC_DEF("umount", 2, lk_umount),
	JS_CFUNC_DEF("chroot", 1, lk_chroot),
	JS_CFUNC_DEF("chdir", 1, lk_chdir),
	JS_CFUNC_DEF("sethostname", 1, lk_sethostname),
	JS_CFUNC_DEF("reboot", 1, lk_reboot),
	JS_CFUNC_DEF("sync", 0, lk_sync),
	JS_CFUNC_DEF("uptime", 0, lk_uptime),
	JS_CFUNC_DEF("getpid", 0, lk_getpid),
	JS_CFUNC_DEF("kill", 2, lk_kill),
	JS_CFUNC_DEF("fsType", 1, lk_fs_type),
	JS_CFUNC_DEF("switchRoot", 1, lk_switch_root_js),
	JS_CFUNC_DEF("chmod", 2, lk_chmod),
	JS_PROP_INT32_DEF("MS_RDONLY", MS_RDONLY, 0),
	JS_PROP_INT32_DEF("MS_NOSUID", MS_NOSUID, 0),
	JS_PROP_INT32_DEF("MS_NODEV", MS_NODEV, 0),
	JS_PROP_INT32_DEF("MS_NOEXEC", MS_NOEXEC, 0),
	JS_PROP_INT32_DEF("MS_RELATIME", MS_RELATIME, 0),
	JS_PROP_INT32_DEF("MS_REMOUNT", MS_REMOUNT, 0),
	JS_PROP_INT32_DEF("MS_BIND", MS_BIND, 0),
	JS_PROP_INT32_DEF("MS_REC", MS_REC, 0),
	JS_PROP_INT32_DEF("MS_MOVE", MS_MOVE, 0),
	JS_PROP_INT32_DEF("MS_SHARED", MS_SHARED, 0),
	JS_PROP_INT32_DEF("MNT_DETACH", MNT_DETACH, 0),
	JS_PROP_INT32_DEF("RB_POWER_OFF", (int32_t)RB_POWER_OFF, 0),
	JS_PROP_INT32_DEF("RB_AUTOBOOT", (int32_t)RB_AUTOBOOT, 0),
	JS_PROP_INT32_DEF("RB_HALT_SYSTEM", (int32_t)RB_HALT_SYSTEM, 0),
	JS_PROP_INT32_DEF("RB_DISABLE_CAD", (int32_t)RB_DISABLE_CAD, 0),
	JS_PROP_INT32_DEF("SIGHUP", SIGHUP, 0),
	JS_PROP_INT32_DEF("SIGINT", SIGINT, 0),
	JS_PROP_INT32_DEF("SIGKILL", SIGKILL, 0),
	JS_PROP_INT32_DEF("SIGUSR1", SIGUSR1, 0),
	JS_PROP_INT32_DEF("SIGUSR2", SIGUSR2, 0),
	JS_PROP_INT32_DEF("SIGPIPE", SIGPIPE, 0),
	JS_PROP_INT32_DEF("SIGTERM", SIGTERM, 0),
	JS_PROP_INT32_DEF("SIGCHLD", SIGCHLD, 0),
	JS_PROP_INT32_DEF("SIGPWR", SIGPWR, 0),
	JS_PROP_INT32_DEF("EEXIST", EEXIST, 0),
};
const size_t lk_sys_count = countof(lk_sys_funcs);
