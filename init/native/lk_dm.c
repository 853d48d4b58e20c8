/*
 * The `lk` module's device mapper: one read-only target made through the
 * ioctls on /dev/mapper/control (what dmsetup does, without libdevmapper),
 * and a full read of a block device that names the first block it cannot read.
 * The verified root uses both: a dm-verity target, then every data block once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lk.h"

/* The kernel's device-mapper ioctl ABI (linux/dm-ioctl.h, which musl does not ship). */
#define DM_NAME_LEN 128
#define DM_UUID_LEN 129
#define DM_MAX_TYPE_NAME 16
#define DM_READONLY_FLAG (1u << 0)

struct dm_ioctl {
	uint32_t version[3];
	uint32_t data_size;
	uint32_t data_start;
	uint32_t target_count;
	int32_t open_count;
	uint32_t flags;
	uint32_t event_nr;
	uint32_t padding;
	uint64_t dev;
	char name[DM_NAME_LEN];
	char uuid[DM_UUID_LEN];
	char data[7];
};

struct dm_target_spec {
	uint64_t sector_start;
	uint64_t length;
	int32_t status;
	uint32_t next;
	char target_type[DM_MAX_TYPE_NAME];
};

enum { DM_VERSION_CMD = 0, DM_DEV_CREATE_CMD = 3, DM_DEV_REMOVE_CMD = 4, DM_DEV_SUSPEND_CMD = 6, DM_TABLE_LOAD_CMD = 9 };
#define DM_IOCTL_NR(cmd) _IOWR(0xfd, cmd, struct dm_ioctl)
#define DM_CONTROL "/dev/mapper/control"

/* One request: the header plus (for a table) one target spec and its parameters. */
struct dm_request {
	struct dm_ioctl io;
	struct dm_target_spec spec;
	char params[4096];
};

static void dm_header(struct dm_request *r, const char *name, uint32_t flags)
{
	memset(&r->io, 0, sizeof(r->io));
	r->io.version[0] = 4; /* the interface's major version; any minor is fine */
	r->io.data_size = sizeof(r->io);
	r->io.data_start = sizeof(r->io);
	r->io.flags = flags;
	if (name)
		snprintf(r->io.name, sizeof(r->io.name), "%s", name);
}

static int dm_call(int control, unsigned long cmd, struct dm_request *r, const char *what, const char *name)
{
	if (ioctl(control, cmd, &r->io) < 0)
		return lk_fail(what, name);
	return 0;
}

/* Undoes DM_DEV_CREATE unless the device was handed on (name set to NULL). */
static void dm_remove_unless_kept(const char **name)
{
	int saved = errno;
	if (*name) {
		int control LK_AUTO_FD = open(DM_CONTROL, O_RDWR | O_CLOEXEC);
		struct dm_request r;
		dm_header(&r, *name, 0);
		if (control >= 0)
			ioctl(control, DM_IOCTL_NR(DM_DEV_REMOVE_CMD), &r.io);
	}
	errno = saved;
}

/*
 * Creates device `name` with one read-only target of `sectors` sectors, then resumes it
 * (DM_DEV_SUSPEND without the suspend flag). Stores its device number; 0, or -1 (lk_fail).
 */
static int dm_create_target(const char *name, const char *type, uint64_t sectors, const char *params,
			    uint64_t *dev)
{
	struct dm_request r;
	if (strlen(name) >= DM_NAME_LEN || strlen(type) >= DM_MAX_TYPE_NAME ||
	    strlen(params) >= sizeof(r.params)) {
		errno = EINVAL;
		return lk_fail("device mapper: too long", name);
	}
	int control LK_AUTO_FD = open(DM_CONTROL, O_RDWR | O_CLOEXEC);
	if (control < 0)
		return lk_fail("open", DM_CONTROL);
	dm_header(&r, NULL, 0);
	if (dm_call(control, DM_IOCTL_NR(DM_VERSION_CMD), &r, "DM_VERSION", DM_CONTROL) < 0)
		return -1;
	dm_header(&r, name, 0);
	if (dm_call(control, DM_IOCTL_NR(DM_DEV_CREATE_CMD), &r, "DM_DEV_CREATE", name) < 0)
		return -1;
	const char *created __attribute__((cleanup(dm_remove_unless_kept))) = name;

	dm_header(&r, name, DM_READONLY_FLAG);
	memset(&r.spec, 0, sizeof(r.spec));
	r.spec.length = sectors;
	snprintf(r.spec.target_type, sizeof(r.spec.target_type), "%s", type);
	size_t plen = strlen(params) + 1;
	memcpy(r.params, params, plen);
	r.io.target_count = 1;
	/* The parameters end NUL-terminated, padded to 8 bytes as the kernel expects. */
	r.io.data_size = (uint32_t)((sizeof(r.io) + sizeof(r.spec) + plen + 7) & ~(size_t)7);
	if (dm_call(control, DM_IOCTL_NR(DM_TABLE_LOAD_CMD), &r, "DM_TABLE_LOAD", name) < 0)
		return -1;
	dm_header(&r, name, 0);
	if (dm_call(control, DM_IOCTL_NR(DM_DEV_SUSPEND_CMD), &r, "DM_DEV_SUSPEND (resume)", name) < 0)
		return -1;
	*dev = r.io.dev;
	created = NULL;
	return 0;
}

/* dmCreate(name, type, sectors, params): {major, minor} of the new read-only device. */
static JSValue lk_dm_create(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	const char *name = lk_opt_string(ctx, argc, argv, 0);
	const char *type = lk_opt_string(ctx, argc, argv, 1);
	const char *params = lk_opt_string(ctx, argc, argv, 3);
	int64_t sectors = 0;
	uint64_t dev = 0;
	JSValue ret = JS_UNDEFINED;
	if (!name || !type || !params || argc < 3 || JS_ToInt64(ctx, &sectors, argv[2]) < 0 || sectors <= 0)
		ret = JS_ThrowTypeError(ctx, "dmCreate: name, type, sectors > 0 and params required");
	else if (dm_create_target(name, type, (uint64_t)sectors, params, &dev) < 0)
		ret = lk_throw(ctx);
	else {
		/* huge_encode_dev: minor's low 8 bits, major, then the minor's high bits. */
		ret = JS_NewObject(ctx);
		JS_SetPropertyStr(ctx, ret, "major", JS_NewUint32(ctx, (uint32_t)((dev >> 8) & 0xfff)));
		JS_SetPropertyStr(ctx, ret, "minor",
				  JS_NewUint32(ctx, (uint32_t)((dev & 0xff) | ((dev >> 12) & 0xfff00))));
	}
	JS_FreeCString(ctx, name);
	JS_FreeCString(ctx, type);
	JS_FreeCString(ctx, params);
	return ret;
}

enum { READ_CHUNK_BLOCKS = 256 };

/* Reads blocks [first, first+count) of `size` bytes; on failure, *bad is the first unreadable one. */
static int read_range(int fd, void *buf, uint32_t size, uint64_t first, uint64_t count, uint64_t *bad)
{
	size_t want = (size_t)(count * size);
	ssize_t n;
	do
		n = pread(fd, buf, want, (off_t)(first * size));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)want)
		return 0;
	if (n >= 0)
		errno = EIO; /* the device ends before the blocks it should hold */
	if (count == 1) {
		*bad = first;
		return -1;
	}
	/* Which block? Block by block through the chunk that failed. */
	for (uint64_t b = first; b < first + count; b++)
		if (read_range(fd, buf, size, b, 1, bad) < 0)
			return -1;
	return 0; /* failed as a whole, yet every block reads: a transient error */
}

/*
 * readBlocks(path, blockSize, count): reads blocks 0..count-1 of `path` once, bypassing the
 * page cache (O_DIRECT), so every block comes from the device (through dm-verity's check).
 * Throws "block N: <error>" (with .errno) for the first block that cannot be read.
 */
static JSValue lk_read_blocks(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	const char *path = lk_opt_string(ctx, argc, argv, 0);
	int32_t size = 0;
	int64_t count = 0;
	JSValue ret = JS_UNDEFINED;
	if (!path || lk_arg_int(ctx, argc, argv, 1, &size) < 0 || argc < 3 ||
	    JS_ToInt64(ctx, &count, argv[2]) < 0 || size < 512 || (size & (size - 1)) || count < 0) {
		JS_FreeCString(ctx, path);
		return JS_ThrowTypeError(ctx, "readBlocks: path, a power-of-two block size and a count required");
	}
	int fd LK_AUTO_FD = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	void *buf LK_AUTO_FREE = NULL;
	if (fd < 0)
		ret = lk_throw_errno(ctx, "open", path);
	else if (posix_memalign(&buf, 4096, (size_t)size * READ_CHUNK_BLOCKS) != 0)
		ret = JS_ThrowOutOfMemory(ctx);
	else {
		for (uint64_t b = 0, bad = 0; b < (uint64_t)count; b += READ_CHUNK_BLOCKS) {
			uint64_t n = (uint64_t)count - b < READ_CHUNK_BLOCKS ? (uint64_t)count - b : READ_CHUNK_BLOCKS;
			if (read_range(fd, buf, (uint32_t)size, b, n, &bad) < 0) {
				int err = errno;
				char where[24];
				snprintf(where, sizeof(where), "%llu", (unsigned long long)bad);
				errno = err;
				ret = lk_throw_errno(ctx, "block", where);
				break;
			}
		}
	}
	JS_FreeCString(ctx, path);
	return ret;
}

const JSCFunctionListEntry lk_dm_funcs[] = {
	JS_CFUNC_DEF("dmCreate", 4, lk_dm_create),
	JS_CFUNC_DEF("readBlocks", 3, lk_read_blocks),
};
const size_t lk_dm_count = countof(lk_dm_funcs);
