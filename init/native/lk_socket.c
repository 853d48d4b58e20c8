/*
 * The `lk` module's sockets: the control socket (unix stream) and bringing a link up.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "lk.h"

/* ifup(name): set IFF_UP on a network interface (used for lo). */
static JSValue lk_ifup(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	const char *name = lk_opt_string(ctx, argc, argv, 0);
	JSValue ret = JS_UNDEFINED;
	struct ifreq ifr;
	int fd LK_AUTO_FD = -1;
	if (!name || strlen(name) >= IFNAMSIZ) {
		ret = JS_ThrowTypeError(ctx, "ifup: interface name required");
		goto out;
	}
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, name);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		goto fail;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) == 0)
		goto out;
fail:
	ret = lk_throw_errno(ctx, "ifup", name);
out:
	JS_FreeCString(ctx, name);
	return ret;
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

/* A unix stream socket listening at path (non-blocking, mode 0600) or
 * connected to it (blocking); -1 (lk_fail) on failure. */
static int unix_socket(const char *path, int listening)
{
	const char *step = listening ? "listen" : "connect";
	struct sockaddr_un addr;
	int fd LK_AUTO_FD = -1, ready;

	if (listening)
		unlink(path);
	if (unix_address(path, &addr) < 0)
		return lk_fail(step, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (listening ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return lk_fail(step, path);
	if (listening ? bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
				chmod(path, 0600) < 0 || listen(fd, 16) < 0
		      : connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return lk_fail(step, path);
	ready = fd;
	fd = -1;
	return ready;
}

static JSValue unix_binding(JSContext *ctx, int argc, JSValueConst *argv, const char *name,
			    int listening)
{
	const char *path = lk_opt_string(ctx, argc, argv, 0);
	JSValue ret;
	int fd;

	if (!path)
		ret = JS_ThrowTypeError(ctx, "%s: path required", name);
	else if ((fd = unix_socket(path, listening)) < 0)
		ret = lk_throw(ctx);
	else
		ret = JS_NewInt32(ctx, fd);
	JS_FreeCString(ctx, path);
	return ret;
}

/* listenUnix(path): a listening, non-blocking stream socket (mode 0600). */
static JSValue lk_listen_unix(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	return unix_binding(ctx, argc, argv, "listenUnix", 1);
}

/* connectUnix(path): a connected, blocking stream socket. */
static JSValue lk_connect_unix(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	return unix_binding(ctx, argc, argv, "connectUnix", 0);
}

/* accept(fd): a blocking connection fd, or null if none is pending. */
static JSValue lk_accept(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	int32_t fd;
	if (lk_arg_int(ctx, argc, argv, 0, &fd) < 0)
		return JS_EXCEPTION;
	int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0) {
		if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
			return JS_NULL;
		return lk_throw_errno(ctx, "accept", NULL);
	}
	return JS_NewInt32(ctx, conn);
}

/*
 * A TCP client socket to ipv4:port connected within connect_ms, blocking afterwards with reads
 * and writes bounded by io_ms (SO_RCVTIMEO/SO_SNDTIMEO), so a metadata server that stops
 * answering cannot hang the caller. Returns the fd, or -1 (lk_fail).
 */
static int tcp_connect(const char *ipv4, int port, int connect_ms, int io_ms)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (port <= 0 || port > 65535 || connect_ms <= 0 || io_ms <= 0 ||
	    inet_pton(AF_INET, ipv4, &addr.sin_addr) != 1) {
		errno = EINVAL;
		return lk_fail("connect", ipv4);
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return lk_fail("socket", ipv4);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int err = errno, ready = 0;
		socklen_t len = sizeof(err);
		if (err == EINPROGRESS) {
			do
				ready = poll(&p, 1, connect_ms);
			while (ready < 0 && errno == EINTR);
			err = ready < 0 ? errno : ready == 0 ? ETIMEDOUT : 0;
			if (ready > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
				err = errno;
		}
		if (err) {
			close(fd);
			errno = err;
			return lk_fail("connect", ipv4);
		}
	}
	struct timeval tv = { .tv_sec = io_ms / 1000, .tv_usec = (io_ms % 1000) * 1000 };
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		int err = errno;
		close(fd);
		errno = err;
		return lk_fail("setsockopt", ipv4);
	}
	return fd;
}

/* connectTcp(ipv4, port, connectMs, ioMs): reads then time out with readString -> null. */
static JSValue lk_connect_tcp(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	const char *host = lk_opt_string(ctx, argc, argv, 0);
	int32_t port, connect_ms, io_ms;
	JSValue ret;
	if (!host) {
		ret = JS_ThrowTypeError(ctx, "connectTcp: address required");
	} else if (lk_arg_int(ctx, argc, argv, 1, &port) < 0 ||
		   lk_arg_int(ctx, argc, argv, 2, &connect_ms) < 0 ||
		   lk_arg_int(ctx, argc, argv, 3, &io_ms) < 0) {
		ret = JS_EXCEPTION;
	} else {
		int fd = tcp_connect(host, port, connect_ms, io_ms);
		ret = fd < 0 ? lk_throw(ctx) : JS_NewInt32(ctx, fd);
	}
	JS_FreeCString(ctx, host);
	return ret;
}

const JSCFunctionListEntry lk_socket_funcs[] = {
	JS_CFUNC_DEF("ifup", 1, lk_ifup),
	JS_CFUNC_DEF("listenUnix", 1, lk_listen_unix),
	JS_CFUNC_DEF("accept", 1, lk_accept),
	JS_CFUNC_DEF("connectUnix", 1, lk_connect_unix),
	JS_CFUNC_DEF("connectTcp", 4, lk_connect_tcp),
};
const size_t lk_socket_count = countof(lk_socket_funcs);
