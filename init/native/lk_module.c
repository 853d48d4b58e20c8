/*
 * The `lk` module: system calls for PID 1 that QuickJS's std/os lack.
 * Every binding throws an Error("<call> <arg>: <strerror>") carrying
 * .errno on failure; JavaScript decides whether that is fatal.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lk.h"
#include "netlink.h"

#define countof(a) (sizeof(a) / sizeof((a)[0]))

static JSValue throw_errno(JSContext *ctx, const char *call, const char *arg)
{
    int err = errno;
    JSValue e = JS_NewError(ctx);
    char msg[512];
    snprintf(msg, sizeof(msg), "%s%s%s: %s", call, arg ? " " : "", arg ? arg : "", strerror(err));
    JS_SetPropertyStr(ctx, e, "message", JS_NewString(ctx, msg));
    JS_SetPropertyStr(ctx, e, "errno", JS_NewInt32(ctx, err));
    return JS_Throw(ctx, e);
}

/* Optional string argument: NULL when absent, null or undefined. */
static const char *opt_string(JSContext *ctx, int argc, JSValueConst *argv, int i)
{
    if (i >= argc || JS_IsNull(argv[i]) || JS_IsUndefined(argv[i]))
        return NULL;
    return JS_ToCString(ctx, argv[i]);
}

static int arg_int(JSContext *ctx, int argc, JSValueConst *argv, int i, int32_t *out)
{
    *out = 0;
    if (i >= argc || JS_IsUndefined(argv[i]))
        return 0;
    return JS_ToInt32(ctx, out, argv[i]);
}

/* mount(source, target, fstype, flags, data) */
static JSValue lk_mount(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    const char *src = opt_string(ctx, argc, argv, 0);
    const char *target = opt_string(ctx, argc, argv, 1);
    const char *fstype = opt_string(ctx, argc, argv, 2);
    const char *data = opt_string(ctx, argc, argv, 4);
    double flags = 0;
    JSValue ret = JS_UNDEFINED;
    if (!target)
        ret = JS_ThrowTypeError(ctx, "mount: target required");
    else if (argc > 3 && JS_ToFloat64(ctx, &flags, argv[3]) < 0)
        ret = JS_EXCEPTION;
    else if (mount(src, target, fstype, (unsigned long)flags, data) < 0)
        ret = throw_errno(ctx, "mount", target);
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
    const char *target = opt_string(ctx, argc, argv, 0);
    JSValue ret = JS_UNDEFINED;
    if (!target || arg_int(ctx, argc, argv, 1, &flags) < 0)
        ret = JS_ThrowTypeError(ctx, "umount: target required");
    else if (umount2(target, flags) < 0)
        ret = throw_errno(ctx, "umount", target);
    JS_FreeCString(ctx, target);
    return ret;
}

/* Calls a one-path syscall such as chroot or chdir. */
static JSValue path_call(JSContext *ctx, int argc, JSValueConst *argv,
                         const char *name, int (*fn)(const char *))
{
    const char *path = opt_string(ctx, argc, argv, 0);
    JSValue ret = JS_UNDEFINED;
    if (!path)
        ret = JS_ThrowTypeError(ctx, "%s: path required", name);
    else if (fn(path) < 0)
        ret = throw_errno(ctx, name, path);
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
    if (arg_int(ctx, argc, argv, 0, &cmd) < 0)
        return JS_EXCEPTION;
    if (reboot(cmd) < 0)
        return throw_errno(ctx, "reboot", NULL);
    return JS_UNDEFINED;
}

static JSValue lk_sync(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)ctx; (void)this_val; (void)argc; (void)argv;
    sync();
    return JS_UNDEFINED;
}

/* Seconds since boot, including suspend (CLOCK_BOOTTIME). */
static JSValue lk_uptime(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val; (void)argc; (void)argv;
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return JS_NewFloat64(ctx, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static JSValue lk_getpid(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val; (void)argc; (void)argv;
    return JS_NewInt32(ctx, getpid());
}

/* kill(pid, sig) */
static JSValue lk_kill(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    int32_t pid, sig;
    if (arg_int(ctx, argc, argv, 0, &pid) < 0 || arg_int(ctx, argc, argv, 1, &sig) < 0)
        return JS_EXCEPTION;
    if (kill(pid, sig) < 0)
        return throw_errno(ctx, "kill", NULL);
    return JS_UNDEFINED;
}

/* fsType(path): statfs f_type, e.g. 0x858458f6 for ramfs. */
static JSValue lk_fs_type(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    struct statfs sfs;
    const char *path = opt_string(ctx, argc, argv, 0);
    JSValue ret;
    if (!path)
        ret = JS_ThrowTypeError(ctx, "fsType: path required");
    else if (statfs(path, &sfs) < 0)
        ret = throw_errno(ctx, "statfs", path);
    else
        ret = JS_NewFloat64(ctx, (double)(unsigned long)sfs.f_type);
    JS_FreeCString(ctx, path);
    return ret;
}

/* ifup(name): set IFF_UP on a network interface (used for lo). */
static JSValue lk_ifup(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    const char *name = opt_string(ctx, argc, argv, 0);
    JSValue ret = JS_UNDEFINED;
    struct ifreq ifr;
    int fd = -1;
    if (!name || strlen(name) >= IFNAMSIZ) {
        ret = JS_ThrowTypeError(ctx, "ifup: interface name required");
        goto out;
    }
    memset(&ifr, 0, sizeof(ifr));
    strcpy(ifr.ifr_name, name);
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
        ret = throw_errno(ctx, "ifup", name);
        goto out;
    }
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
        ret = throw_errno(ctx, "ifup", name);
out:
    if (fd >= 0)
        close(fd);
    JS_FreeCString(ctx, name);
    return ret;
}

static JSValue lk_switch_root_js(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    char what[512] = "";
    const char *newroot = opt_string(ctx, argc, argv, 0);
    JSValue ret = JS_UNDEFINED;
    if (!newroot)
        ret = JS_ThrowTypeError(ctx, "switchRoot: new root required");
    else if (lk_switch_root(newroot, what, sizeof(what)) < 0)
        ret = throw_errno(ctx, "switchRoot", what);
    JS_FreeCString(ctx, newroot);
    return ret;
}

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
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int s = 1; s < NSIG; s++)
        signal(s, SIG_DFL);
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

/* spawn(argv, {stdin, stdout, stderr}): fork+exec in a new session, with
 * an empty signal mask; returns the pid. Unset fds are inherited
 * (stdin defaults to /dev/null). */
static JSValue lk_spawn(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    JSValue ret = JS_EXCEPTION;
    uint32_t n = 0;
    char **args = NULL;
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
    pid_t pid = fork();
    if (pid < 0) {
        ret = throw_errno(ctx, "fork", args[0]);
        goto out;
    }
    if (pid == 0)
        exec_child(args, in, out, err);
    ret = JS_NewInt32(ctx, pid);
out:
    for (uint32_t i = 0; i < n; i++)
        free(args[i]);
    free(args);
    return ret;
}

/* reap(): every exited child as {pid, code}, code = status or 128+signal. */
static JSValue lk_reap(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val; (void)argc; (void)argv;
    JSValue list = JS_NewArray(ctx);
    uint32_t i = 0;
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        int code = WIFEXITED(status) ? WEXITSTATUS(status)
                 : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 255;
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
        return throw_errno(ctx, "sigprocmask", NULL);
    int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0)
        return throw_errno(ctx, "signalfd", NULL);
    return JS_NewInt32(ctx, fd);
}

/* readSignals(fd): the signal numbers pending on a signalfd. */
static JSValue lk_read_signals(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    int32_t fd;
    struct signalfd_siginfo info;
    uint32_t i = 0;
    if (arg_int(ctx, argc, argv, 0, &fd) < 0)
        return JS_EXCEPTION;
    JSValue list = JS_NewArray(ctx);
    while (read(fd, &info, sizeof(info)) == (ssize_t)sizeof(info))
        JS_SetPropertyUint32(ctx, list, i++, JS_NewInt32(ctx, (int32_t)info.ssi_signo));
    return list;
}

/* pipe(): [readFd, writeFd], both close-on-exec. */
static JSValue lk_pipe(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val; (void)argc; (void)argv;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return throw_errno(ctx, "pipe", NULL);
    JSValue pair = JS_NewArray(ctx);
    JS_SetPropertyUint32(ctx, pair, 0, JS_NewInt32(ctx, fds[0]));
    JS_SetPropertyUint32(ctx, pair, 1, JS_NewInt32(ctx, fds[1]));
    return pair;
}

/* openAppend(path): a close-on-exec fd for appending logs. */
static JSValue lk_open_append(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    const char *path = opt_string(ctx, argc, argv, 0);
    JSValue ret;
    int fd;
    if (!path)
        ret = JS_ThrowTypeError(ctx, "openAppend: path required");
    else if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640)) < 0)
        ret = throw_errno(ctx, "open", path);
    else
        ret = JS_NewInt32(ctx, fd);
    JS_FreeCString(ctx, path);
    return ret;
}

static JSValue lk_set_nonblock(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    int32_t fd;
    if (arg_int(ctx, argc, argv, 0, &fd) < 0)
        return JS_EXCEPTION;
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return throw_errno(ctx, "fcntl", NULL);
    return JS_UNDEFINED;
}

static int write_all(int fd, const char *p, size_t n)
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

/* Writes buf to every fd in the array argv[1]; failed or full targets are skipped. */
static void write_to_targets(JSContext *ctx, int argc, JSValueConst *argv, const char *buf, size_t len)
{
    uint32_t n = 0;
    if (argc > 1 && JS_IsArray(ctx, argv[1])) {
        JSValue length = JS_GetPropertyStr(ctx, argv[1], "length");
        JS_ToUint32(ctx, &n, length);
        JS_FreeValue(ctx, length);
    }
    for (uint32_t i = 0; i < n; i++) {
        int32_t to = -1;
        JSValue v = JS_GetPropertyUint32(ctx, argv[1], i);
        JS_ToInt32(ctx, &to, v);
        JS_FreeValue(ctx, v);
        if (to >= 0)
            write_all(to, buf, len);
    }
}

/* Reads one chunk from fd argv[0] and copies it to every fd in argv[1]; *data points at it.
 * Returns bytes read (0 at EOF), -1 if nothing is ready, -2 on an error (errno set). */
static ssize_t pump_chunk(JSContext *ctx, int argc, JSValueConst *argv, const char **data)
{
    static char buf[1 << 16];
    int32_t from;
    if (arg_int(ctx, argc, argv, 0, &from) < 0) {
        errno = EBADF;
        return -2;
    }
    ssize_t got;
    do
        got = read(from, buf, sizeof(buf));
    while (got < 0 && errno == EINTR);
    if (got < 0)
        return errno == EAGAIN ? -1 : -2;
    write_to_targets(ctx, argc, argv, buf, (size_t)got);
    *data = buf;
    return got;
}

/* pump(from, targets): moves one read's worth of bytes from `from` to
 * every fd in `targets` (failed or full targets are skipped, so a slow
 * reader cannot stall PID 1). Returns bytes read, 0 at EOF, -1 if none
 * are ready. */
static JSValue lk_pump(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    const char *data;
    ssize_t got = pump_chunk(ctx, argc, argv, &data);
    if (got == -2)
        return throw_errno(ctx, "read", NULL);
    return JS_NewInt32(ctx, (int32_t)got);
}

/* tee(from, targets): as pump, but returns what it moved as a string ("" at EOF, null if
 * nothing is ready), so the init can also forward it line by line. */
static JSValue lk_tee(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    const char *data;
    ssize_t got = pump_chunk(ctx, argc, argv, &data);
    if (got == -2)
        return throw_errno(ctx, "read", NULL);
    if (got == -1)
        return JS_NULL;
    return JS_NewStringLen(ctx, data, (size_t)got);
}

/* readString(fd): up to 64 KiB as a string; "" at EOF, null if not ready. */
static JSValue lk_read_string(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    static char buf[1 << 16];
    int32_t fd;
    if (arg_int(ctx, argc, argv, 0, &fd) < 0)
        return JS_EXCEPTION;
    ssize_t got;
    do
        got = read(fd, buf, sizeof(buf));
    while (got < 0 && errno == EINTR);
    if (got < 0) {
        if (errno == EAGAIN)
            return JS_NULL;
        return throw_errno(ctx, "read", NULL);
    }
    return JS_NewStringLen(ctx, buf, (size_t)got);
}

/* writeString(fd, s): writes all of s (UTF-8). */
static JSValue lk_write_string(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    int32_t fd;
    size_t len;
    if (argc < 2 || arg_int(ctx, argc, argv, 0, &fd) < 0)
        return JS_ThrowTypeError(ctx, "writeString: fd and string required");
    const char *s = JS_ToCStringLen(ctx, &len, argv[1]);
    if (!s)
        return JS_EXCEPTION;
    int rc = write_all(fd, s, len);
    JS_FreeCString(ctx, s);
    if (rc < 0)
        return throw_errno(ctx, "write", NULL);
    return JS_UNDEFINED;
}

static int unix_address(const char *path, struct sockaddr_un *addr)
{
    memset(addr, 0, sizeof(*addr));
    addr->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(addr->sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(addr->sun_path, path);
    return 0;
}

/* listenUnix(path): a listening, non-blocking stream socket (mode 0600). */
static JSValue lk_listen_unix(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    struct sockaddr_un addr;
    const char *path = opt_string(ctx, argc, argv, 0);
    JSValue ret;
    int fd = -1;
    if (!path) {
        ret = JS_ThrowTypeError(ctx, "listenUnix: path required");
        goto out;
    }
    unlink(path);
    if (unix_address(path, &addr) < 0 ||
        (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0 ||
        bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        chmod(path, 0600) < 0 ||
        listen(fd, 16) < 0) {
        ret = throw_errno(ctx, "listen", path);
        if (fd >= 0)
            close(fd);
        goto out;
    }
    ret = JS_NewInt32(ctx, fd);
out:
    JS_FreeCString(ctx, path);
    return ret;
}

/* accept(fd): a blocking connection fd, or null if none is pending. */
static JSValue lk_accept(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    int32_t fd;
    if (arg_int(ctx, argc, argv, 0, &fd) < 0)
        return JS_EXCEPTION;
    int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0) {
        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
            return JS_NULL;
        return throw_errno(ctx, "accept", NULL);
    }
    return JS_NewInt32(ctx, conn);
}

/* connectUnix(path): a connected, blocking stream socket. */
static JSValue lk_connect_unix(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    struct sockaddr_un addr;
    const char *path = opt_string(ctx, argc, argv, 0);
    JSValue ret;
    int fd = -1;
    if (!path) {
        ret = JS_ThrowTypeError(ctx, "connectUnix: path required");
    } else if (unix_address(path, &addr) < 0 ||
               (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
               connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        ret = throw_errno(ctx, "connect", path);
        if (fd >= 0)
            close(fd);
    } else {
        ret = JS_NewInt32(ctx, fd);
    }
    JS_FreeCString(ctx, path);
    return ret;
}

/* connectInet(proto, host, port): a non-blocking, close-on-exec UDP or TCP socket connected
 * (TCP: connecting) to host:port. host may be a name: it is resolved here, once. */
static JSValue lk_connect_inet(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    const char *proto = opt_string(ctx, argc, argv, 0);
    const char *host = opt_string(ctx, argc, argv, 1);
    int32_t port = 0;
    char service[8], what[300];
    struct addrinfo hints, *found = NULL;
    JSValue ret = JS_UNDEFINED;
    int fd = -1, rc;
    if (!proto || !host || arg_int(ctx, argc, argv, 2, &port) < 0 || port < 1 || port > 65535 ||
        (strcmp(proto, "udp") != 0 && strcmp(proto, "tcp") != 0)) {
        ret = JS_ThrowTypeError(ctx, "connectInet: udp or tcp, a host and a port required");
        goto out;
    }
    snprintf(service, sizeof(service), "%d", (int)port);
    snprintf(what, sizeof(what), "%s://%s:%d", proto, host, (int)port);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = strcmp(proto, "udp") == 0 ? SOCK_DGRAM : SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if ((rc = getaddrinfo(host, service, &hints, &found)) != 0) {
        JSValue e = JS_NewError(ctx);
        char msg[400];
        snprintf(msg, sizeof(msg), "resolve %s: %s", what, gai_strerror(rc));
        JS_SetPropertyStr(ctx, e, "message", JS_NewString(ctx, msg));
        JS_SetPropertyStr(ctx, e, "errno", JS_NewInt32(ctx, EHOSTUNREACH));
        ret = JS_Throw(ctx, e);
        goto out;
    }
    fd = socket(found->ai_family, found->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || (connect(fd, found->ai_addr, found->ai_addrlen) < 0 && errno != EINPROGRESS)) {
        ret = throw_errno(ctx, "connect", what);
        if (fd >= 0)
            close(fd);
        goto out;
    }
    ret = JS_NewInt32(ctx, fd);
out:
    if (found)
        freeaddrinfo(found);
    JS_FreeCString(ctx, proto);
    JS_FreeCString(ctx, host);
    return ret;
}

/* send(fd, s, from): sends s (UTF-8) from byte `from` on, without blocking or SIGPIPE; bytes
 * sent, or -1 if the socket cannot take them now (full, or a TCP connection still being made). */
static JSValue lk_send(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    int32_t fd, from;
    size_t len;
    if (argc < 2 || arg_int(ctx, argc, argv, 0, &fd) < 0 || arg_int(ctx, argc, argv, 2, &from) < 0 || from < 0)
        return JS_ThrowTypeError(ctx, "send: fd, string and a byte offset required");
    const char *s = JS_ToCStringLen(ctx, &len, argv[1]);
    if (!s)
        return JS_EXCEPTION;
    size_t skip = (size_t)from < len ? (size_t)from : len;
    ssize_t sent;
    do
        sent = send(fd, s + skip, len - skip, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (sent < 0 && errno == EINTR);
    JS_FreeCString(ctx, s);
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return JS_NewInt32(ctx, -1);
    if (sent < 0)
        return throw_errno(ctx, "send", NULL);
    return JS_NewInt32(ctx, (int32_t)sent);
}

/* --- rtnetlink: just enough to create links and move them between
 * network namespaces (runtime.json interfaces). --- */

struct nl_msg {
    union {
        struct nlmsghdr hdr;
        char buf[1024];
    } u;
};

static struct rtattr *nl_put(struct nl_msg *m, unsigned short type, const void *data, size_t len)
{
    size_t at = NLMSG_ALIGN(m->u.hdr.nlmsg_len);
    if (at + RTA_SPACE(len) > sizeof(m->u.buf)) {
        errno = EMSGSIZE;
        return NULL;
    }
    struct rtattr *rta = (struct rtattr *)(m->u.buf + at);
    rta->rta_type = type;
    rta->rta_len = (unsigned short)RTA_LENGTH(len);
    if (len)
        memcpy(RTA_DATA(rta), data, len);
    m->u.hdr.nlmsg_len = (uint32_t)(at + RTA_SPACE(len));
    return rta;
}

static int nl_put_str(struct nl_msg *m, unsigned short type, const char *s)
{
    return nl_put(m, type, s, strlen(s) + 1) ? 0 : -1;
}

/* Closes a nested attribute opened with nl_put(m, type, NULL, 0). */
static void nl_end(struct nl_msg *m, struct rtattr *nest)
{
    nest->rta_len = (unsigned short)(m->u.buf + m->u.hdr.nlmsg_len - (char *)nest);
}

static int nl_put_ifinfo(struct nl_msg *m, int index)
{
    struct ifinfomsg ifi;
    memset(&ifi, 0, sizeof(ifi));
    ifi.ifi_family = AF_UNSPEC;
    ifi.ifi_index = index;
    size_t at = NLMSG_ALIGN(m->u.hdr.nlmsg_len);
    if (at + NLMSG_ALIGN(sizeof(ifi)) > sizeof(m->u.buf)) {
        errno = EMSGSIZE;
        return -1;
    }
    memcpy(m->u.buf + at, &ifi, sizeof(ifi));
    m->u.hdr.nlmsg_len = (uint32_t)(at + NLMSG_ALIGN(sizeof(ifi)));
    return 0;
}

static void nl_begin(struct nl_msg *m, unsigned short type, unsigned short flags)
{
    memset(m, 0, sizeof(*m));
    m->u.hdr.nlmsg_len = NLMSG_HDRLEN;
    m->u.hdr.nlmsg_type = type;
    m->u.hdr.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    m->u.hdr.nlmsg_seq = 1;
}

/* Sends one request and waits for its ack; -1 with errno on failure. */
static int nl_talk(struct nl_msg *m)
{
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    char reply[4096];
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return -1;
    if (sendto(fd, m->u.buf, m->u.hdr.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
        goto fail;
    for (;;) {
        ssize_t n = recv(fd, reply, sizeof(reply), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto fail;
        for (struct nlmsghdr *h = (struct nlmsghdr *)reply; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type != NLMSG_ERROR)
                continue;
            int err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
            close(fd);
            if (err == 0)
                return 0;
            errno = -err;
            return -1;
        }
    }
fail:;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

/* linkAdd(name, kind, peer): creates a link of `kind` ("veth" needs
 * `peer`, the name of the other end) in the init's network namespace. */
static JSValue lk_link_add(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    const char *name = opt_string(ctx, argc, argv, 0);
    const char *kind = opt_string(ctx, argc, argv, 1);
    const char *peer = opt_string(ctx, argc, argv, 2);
    JSValue ret = JS_UNDEFINED;
    struct nl_msg m;
    struct rtattr *info, *data, *peer_attr;
    if (!name || !kind || strlen(name) >= IFNAMSIZ || (peer && strlen(peer) >= IFNAMSIZ)) {
        ret = JS_ThrowTypeError(ctx, "linkAdd: name and kind required");
        goto out;
    }
    if (strcmp(kind, "veth") == 0 && !peer) {
        ret = JS_ThrowTypeError(ctx, "linkAdd: a veth pair needs a peer name");
        goto out;
    }
    nl_begin(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    if (nl_put_ifinfo(&m, 0) < 0 || nl_put_str(&m, IFLA_IFNAME, name) < 0 ||
        !(info = nl_put(&m, IFLA_LINKINFO, NULL, 0)) || nl_put_str(&m, IFLA_INFO_KIND, kind) < 0)
        goto fail;
    if (peer && strcmp(kind, "veth") == 0) {
        if (!(data = nl_put(&m, IFLA_INFO_DATA, NULL, 0)) || !(peer_attr = nl_put(&m, VETH_INFO_PEER, NULL, 0)) ||
            nl_put_ifinfo(&m, 0) < 0 || nl_put_str(&m, IFLA_IFNAME, peer) < 0)
            goto fail;
        nl_end(&m, peer_attr);
        nl_end(&m, data);
    }
    nl_end(&m, info);
    if (nl_talk(&m) == 0)
        goto out;
fail:
    ret = throw_errno(ctx, "linkAdd", name);
out:
    JS_FreeCString(ctx, name);
    JS_FreeCString(ctx, kind);
    JS_FreeCString(ctx, peer);
    return ret;
}

/* linkSetNs(name, pid, newName): moves a link into the network namespace
 * of `pid`, renaming it there when `newName` is given. */
static JSValue lk_link_set_ns(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    const char *name = opt_string(ctx, argc, argv, 0);
    const char *new_name = opt_string(ctx, argc, argv, 2);
    int32_t pid;
    uint32_t upid;
    unsigned index;
    JSValue ret = JS_UNDEFINED;
    struct nl_msg m;
    if (!name || arg_int(ctx, argc, argv, 1, &pid) < 0 || pid <= 0 || (new_name && strlen(new_name) >= IFNAMSIZ)) {
        ret = JS_ThrowTypeError(ctx, "linkSetNs: name and pid required");
        goto out;
    }
    if ((index = if_nametoindex(name)) == 0)
        goto fail;
    upid = (uint32_t)pid;
    nl_begin(&m, RTM_NEWLINK, 0);
    if (nl_put_ifinfo(&m, (int)index) < 0 || !nl_put(&m, IFLA_NET_NS_PID, &upid, sizeof(upid)) ||
        (new_name && nl_put_str(&m, IFLA_IFNAME, new_name) < 0))
        goto fail;
    if (nl_talk(&m) == 0)
        goto out;
fail:
    ret = throw_errno(ctx, "linkSetNs", name);
out:
    JS_FreeCString(ctx, name);
    JS_FreeCString(ctx, new_name);
    return ret;
}

/*
 * finitModule(path, params): load the kernel module in the file `path` (an uncompressed .ko)
 * with finit_module(2). musl has no wrapper, hence syscall(2). EEXIST means already loaded.
 */
static int finit_module_path(const char *path, const char *params)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    long rc = syscall(SYS_finit_module, fd, params ? params : "", 0);
    int err = errno;
    close(fd);
    errno = err;
    return rc < 0 ? -1 : 0;
}

static JSValue lk_finit_module(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    const char *path = opt_string(ctx, argc, argv, 0);
    const char *params = opt_string(ctx, argc, argv, 1);
    JSValue ret = JS_UNDEFINED;
    if (!path)
        ret = JS_ThrowTypeError(ctx, "finitModule: path required");
    else if (finit_module_path(path, params) < 0)
        ret = throw_errno(ctx, "finit_module", path);
    JS_FreeCString(ctx, path);
    JS_FreeCString(ctx, params);
    return ret;
}

static const JSCFunctionListEntry lk_funcs[] = {
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
    JS_CFUNC_DEF("ifup", 1, lk_ifup),
    JS_CFUNC_DEF("switchRoot", 1, lk_switch_root_js),
    JS_CFUNC_DEF("spawn", 2, lk_spawn),
    JS_CFUNC_DEF("reap", 0, lk_reap),
    JS_CFUNC_DEF("signalfd", 1, lk_signalfd),
    JS_CFUNC_DEF("readSignals", 1, lk_read_signals),
    JS_CFUNC_DEF("pipe", 0, lk_pipe),
    JS_CFUNC_DEF("openAppend", 1, lk_open_append),
    JS_CFUNC_DEF("setNonBlock", 1, lk_set_nonblock),
    JS_CFUNC_DEF("pump", 2, lk_pump),
    JS_CFUNC_DEF("tee", 2, lk_tee),
    JS_CFUNC_DEF("readString", 1, lk_read_string),
    JS_CFUNC_DEF("writeString", 2, lk_write_string),
    JS_CFUNC_DEF("listenUnix", 1, lk_listen_unix),
    JS_CFUNC_DEF("accept", 1, lk_accept),
    JS_CFUNC_DEF("connectUnix", 1, lk_connect_unix),
    JS_CFUNC_DEF("connectInet", 3, lk_connect_inet),
    JS_CFUNC_DEF("send", 3, lk_send),
    JS_CFUNC_DEF("linkAdd", 3, lk_link_add),
    JS_CFUNC_DEF("linkSetNs", 3, lk_link_set_ns),
    JS_CFUNC_DEF("finitModule", 2, lk_finit_module),
    JS_PROP_INT32_DEF("MS_RDONLY", MS_RDONLY, 0),
    JS_PROP_INT32_DEF("MS_NOSUID", MS_NOSUID, 0),
    JS_PROP_INT32_DEF("MS_NODEV", MS_NODEV, 0),
    JS_PROP_INT32_DEF("MS_NOEXEC", MS_NOEXEC, 0),
    JS_PROP_INT32_DEF("MS_RELATIME", MS_RELATIME, 0),
    JS_PROP_INT32_DEF("MS_REMOUNT", MS_REMOUNT, 0),
    JS_PROP_INT32_DEF("MS_BIND", MS_BIND, 0),
    JS_PROP_INT32_DEF("MS_REC", MS_REC, 0),
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

static int lk_module_init(JSContext *ctx, JSModuleDef *m)
{
    return JS_SetModuleExportList(ctx, m, lk_funcs, countof(lk_funcs));
}

JSModuleDef *lk_init_module(JSContext *ctx, const char *name)
{
    JSModuleDef *m = JS_NewCModule(ctx, name, lk_module_init);
    if (!m)
        return NULL;
    JS_AddModuleExportList(ctx, m, lk_funcs, countof(lk_funcs));
    return m;
}
