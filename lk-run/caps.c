#include "caps.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
#ifndef PR_CAPBSET_DROP
#define PR_CAPBSET_DROP 24
#endif

#define LINUX_CAPABILITY_VERSION_3 0x20080522

struct cap_header {
	uint32_t version;
	int pid;
};

struct cap_data {
	uint32_t effective, permitted, inheritable;
};

/* Index = capability number (linux/capability.h). */
static const char *const cap_names[] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

#define CAP_COUNT ((int)(sizeof cap_names / sizeof cap_names[0]))

const char *cap_name_of(int cap)
{
	return cap >= 0 && cap < CAP_COUNT ? cap_names[cap] : NULL;
}

/* Names come in upper case (the spec's spelling): an exact match first, because musl's
 * strcasecmp folds each character through a call, the case-blind one for the rest. */
int cap_from_name(const char *name)
{
	for (int i = 0; i < CAP_COUNT; i++)
		if (strcmp(name, cap_names[i]) == 0)
			return i;
	for (int i = 0; i < CAP_COUNT; i++)
		if (strcasecmp(name, cap_names[i]) == 0)
			return i;
	return -1;
}

/* The running kernel's last capability: it may know fewer than our table, or
 * more (newer ones must still leave the bounding set). Without /proc, probe
 * the bounding set itself, which answers EINVAL past the last one. */
static int last_cap(void)
{
	static int cached = -1;
	char buf[16] = { 0 };
	int fd;

	if (cached >= 0)
		return cached;
	fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, buf, sizeof buf - 1) > 0) {
			int v = atoi(buf);
			if (v > 0 && v < 64)
				cached = v;
		}
		close(fd);
	}
	if (cached < 0) {
		cached = 0;
		while (cached < 63 && prctl(PR_CAPBSET_READ, cached + 1, 0, 0, 0) >= 0)
			cached++;
	}
	return cached;
}

static const char *cap_name(int cap)
{
	static char number[16];

	if (cap < CAP_COUNT)
		return cap_names[cap];
	snprintf(number, sizeof number, "%d", cap);
	return number;
}

static uint64_t known_mask(void)
{
	int last = last_cap();

	return last >= 63 ? ~0ULL : (1ULL << (last + 1)) - 1;
}

int caps_drop_bounding(const struct capability_sets *caps)
{
	if (!caps->present)
		return 0;
	for (int cap = 0; cap <= last_cap(); cap++) {
		if (caps->bounding & (1ULL << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return fail("capabilities", "drop %s from the bounding set: %s",
				    cap_name(cap), strerror(errno));
	}
	return 0;
}

int caps_apply(const struct capability_sets *caps)
{
	struct cap_header header = { LINUX_CAPABILITY_VERSION_3, 0 };
	struct cap_data data[2];
	uint64_t mask = known_mask();
	uint64_t eff = caps->effective & mask, prm = caps->permitted & mask;
	uint64_t inh = caps->inheritable & mask;

	if (!caps->present)
		return 0;
	data[0].effective = (uint32_t)eff;
	data[1].effective = (uint32_t)(eff >> 32);
	data[0].permitted = (uint32_t)prm;
	data[1].permitted = (uint32_t)(prm >> 32);
	data[0].inheritable = (uint32_t)inh;
	data[1].inheritable = (uint32_t)(inh >> 32);
	if (syscall(SYS_capset, &header, data) < 0)
		return fail("capabilities", "capset: %s", strerror(errno));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return fail("capabilities", "clear ambient set: %s", strerror(errno));
	/* The kernel only lets a capability be ambient when it is permitted and
	 * inheritable; like runc and crun, others in the ambient list are skipped
	 * (`runc spec` lists ambient capabilities without inheritable ones). */
	for (int cap = 0; cap <= last_cap(); cap++) {
		if (!(caps->ambient & prm & inh & (1ULL << cap)))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return fail("capabilities", "raise ambient %s: %s", cap_names[cap],
				    strerror(errno));
	}
	return 0;
}
