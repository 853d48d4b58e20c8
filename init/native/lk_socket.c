/*
 * The `lk` module's sockets: the control socket (unix stream), bringing a link up, and the
 * remote syslog's UDP or TCP socket.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
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

/* A non-blocking, close-on-exec socket of `type` connected (TCP: connecting) to host:port;
 * host may be a name, resolved here. -1 with lk_fail. */
static int inet_connect(const char *host, int port, int type, const char *what)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = type, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *found = NULL;
	char service[8];
	snprintf(service, sizeof(service), "%d", port);
	int rc = getaddrinfo(host, service, &hints, &found);
	if (rc != 0) {
		errno = rc == EAI_SYSTEM ? errno : EHOSTUNREACH;
		return lk_fail("resolve", what);
	}
	int fd = socket(found->ai_family, found->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, found->ai_addr, found->ai_addrlen) < 0 && errno != EINPROGRESS) {
		int err = errno;
		close(fd);
		fd = -1;
		errno = err;
	}
	freeaddrinfo(found);
	return fd < 0 ? lk_fail("connect", what) : fd;
}

/* connectInet(proto, host, port): the remote syslog's socket, "udp" or "tcp"; never blocks
 * but for resolving a host name. */
static JSValue lk_connect_inet(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	const char *proto = lk_opt_string(ctx, argc, argv, 0);
	const char *host = lk_opt_string(ctx, argc, argv, 1);
	int32_t port = 0;
	char what[300];
	JSValue ret;
	if (!proto || !host || (strcmp(proto, "udp") != 0 && strcmp(proto, "tcp") != 0)) {
		ret = JS_ThrowTypeError(ctx, "connectInet: udp or tcp and a host required");
	} else if (lk_arg_int(ctx, argc, argv, 2, &port) < 0) {
		ret = JS_EXCEPTION;
	} else if (port < 1 || port > 65535) {
		ret = JS_ThrowRangeError(ctx, "connectInet: port %d is not between 1 and 65535", (int)port);
	} else {
		snprintf(what, sizeof(what), "%s://%s:%d", proto, host, (int)port);
		int fd = inet_connect(host, port, strcmp(proto, "udp") == 0 ? SOCK_DGRAM : SOCK_STREAM, what);
		ret = fd < 0 ? lk_throw(ctx) : JS_NewInt32(ctx, fd);
	}
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
	if (argc < 2 || lk_arg_int(ctx, argc, argv, 0, &fd) < 0 || lk_arg_int(ctx, argc, argv, 2, &from) < 0 || from < 0)
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
	return sent < 0 ? lk_throw_errno(ctx, "send", NULL) : JS_NewInt32(ctx, (int32_t)sent);
}

const JSCFunctionListEntry lk_socket_funcs[] = {
	JS_CFUNC_DEF("ifup", 1, lk_ifup),
	JS_CFUNC_DEF("listenUnix", 1, lk_listen_unix),
	JS_CFUNC_DEF("accept", 1, lk_accept),
	JS_CFUNC_DEF("connectUnix", 1, lk_connect_unix),
	JS_CFUNC_DEF("connectTcp", 4, lk_connect_tcp),
	JS_CFUNC_DEF("connectInet", 3, lk_connect_inet),
	JS_CFUNC_DEF("send", 3, lk_send),
};
const size_t lk_socket_count = countof(lk_socket_funcs);
