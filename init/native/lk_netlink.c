/*
 * The `lk` module's rtnetlink: just enough to create links and move them between
 * network namespaces (runtime.json interfaces).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lk.h"
#include "netlink.h"

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
	if (sendto(fd, m->u.buf, m->u.hdr.nlmsg_len, 0, (struct sockaddr *)&kernel,
		   sizeof(kernel)) < 0)
		goto fail;
	for (;;) {
		ssize_t n = recv(fd, reply, sizeof(reply), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		for (struct nlmsghdr *h = (struct nlmsghdr *)reply; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
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
	const char *name = lk_opt_string(ctx, argc, argv, 0);
	const char *kind = lk_opt_string(ctx, argc, argv, 1);
	const char *peer = lk_opt_string(ctx, argc, argv, 2);
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
	    !(info = nl_put(&m, IFLA_LINKINFO, NULL, 0)) ||
	    nl_put_str(&m, IFLA_INFO_KIND, kind) < 0)
		goto fail;
	if (peer && strcmp(kind, "veth") == 0) {
		if (!(data = nl_put(&m, IFLA_INFO_DATA, NULL, 0)) ||
		    !(peer_attr = nl_put(&m, VETH_INFO_PEER, NULL, 0)) ||
		    nl_put_ifinfo(&m, 0) < 0 || nl_put_str(&m, IFLA_IFNAME, peer) < 0)
			goto fail;
		nl_end(&m, peer_attr);
		nl_end(&m, data);
	}
	nl_end(&m, info);
	if (nl_talk(&m) == 0)
		goto out;
fail:
	ret = lk_throw_errno(ctx, "linkAdd", name);
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
	const char *name = lk_opt_string(ctx, argc, argv, 0);
	const char *new_name = lk_opt_string(ctx, argc, argv, 2);
	int32_t pid;
	uint32_t upid;
	unsigned index;
	JSValue ret = JS_UNDEFINED;
	struct nl_msg m;
	if (!name || lk_arg_int(ctx, argc, argv, 1, &pid) < 0 || pid <= 0 ||
	    (new_name && strlen(new_name) >= IFNAMSIZ)) {
		ret = JS_ThrowTypeError(ctx, "linkSetNs: name and pid required");
		goto out;
	}
	if ((index = if_nametoindex(name)) == 0)
		goto fail;
	upid = (uint32_t)pid;
	nl_begin(&m, RTM_NEWLINK, 0);
	if (nl_put_ifinfo(&m, (int)index) < 0 ||
	    !nl_put(&m, IFLA_NET_NS_PID, &upid, sizeof(upid)) ||
	    (new_name && nl_put_str(&m, IFLA_IFNAME, new_name) < 0))
		goto fail;
	if (nl_talk(&m) == 0)
		goto out;
fail:
	ret = lk_throw_errno(ctx, "linkSetNs", name);
out:
	JS_FreeCString(ctx, name);
	JS_FreeCString(ctx, new_name);
	return ret;
}

const JSCFunctionListEntry lk_netlink_funcs[] = {
	JS_CFUNC_DEF("linkAdd", 3, lk_link_add),
	JS_CFUNC_DEF("linkSetNs", 3, lk_link_set_ns),
};
const size_t lk_netlink_count = countof(lk_netlink_funcs);
