/*
 * A TCP client socket with a deadline, for the metadata client (HTTP to a link-local
 * metadata server). Blocking I/O afterwards, bounded by SO_RCVTIMEO/SO_SNDTIMEO, so a
 * server that stops answering cannot hang the caller.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "lk.h"

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}

int lk_tcp_connect(const char *ipv4, int port, int timeout_ms)
{
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (port <= 0 || port > 65535 || timeout_ms <= 0 || inet_pton(AF_INET, ipv4, &addr.sin_addr) != 1) {
        errno = EINVAL;
        return -1;
    }
    __attribute__((cleanup(close_fd))) int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        if (errno != EINPROGRESS)
            return -1;
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        int ready;
        do
            ready = poll(&p, 1, timeout_ms);
        while (ready < 0 && errno == EINTR);
        if (ready < 0)
            return -1;
        if (ready == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            return -1;
        if (err) {
            errno = err;
            return -1;
        }
    }
    struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
        return -1;
    int ok = fd;
    fd = -1; /* handed to the caller */
    return ok;
}
