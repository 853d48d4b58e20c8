/* linux.resources (the OCI LinuxResources object) onto cgroup v2 files, as the
 * runtime-spec's config-linux.md describes it and runc converts the v1-era
 * fields. Pure: nothing here touches the filesystem (cgroup.c writes). */
#include "cgroup.h"
#include "config_json.h"
#include "err.h"
#include "json.h"

#include <inttypes.h>
#include <string.h>

struct files {
	const char *prefix; /* "linux.resources" or, for update, "resources" */
	struct cgroup_file *items;
	size_t count, cap;
};

static char *at(const struct files *f, const char *field)
{
	return xasprintf("%s.%s", f->prefix, field);
}

static struct cgroup_file *add(struct files *f, const char *key, char *value, char *origin)
{
	if (f->count == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->items = xrealloc(f->items, f->cap * sizeof *f->items);
	}
	f->items[f->count] = (struct cgroup_file){ xstrdup(key), value, origin, NULL, NULL, 0 };
	return &f->items[f->count++];
}

static char *limit_text(int64_t value)
{
	return value < 0 ? xstrdup("max") : xasprintf("%" PRId64, value);
}

/* A v1-only setting: an error unless absent or at its "unset" value. */
static int refuse_int(const struct json *v, const char *where, int64_t unset_a, int64_t unset_b,
		      const char *why)
{
	int64_t value = unset_a;
	int r = cj_int64(v, where, INT64_MIN, INT64_MAX, &value);

	if (r < 0)
		return -1;
	if (r && value != unset_a && value != unset_b)
		return config_error(where, "%s", why);
	return 0;
}

/* Memory sizes: bytes, -1 for no limit, 0 (as runc reads it) for unset. */
static int memory_value(const struct json *mem, const char *key, struct files *f, int64_t *out)
{
	char *where = at(f, xasprintf("memory.%s", key));

	return cj_int64(json_get(mem, key), where, -1, INT64_MAX, out) < 0 ? -1 : 0;
}

/* The spec's swap is memory+swap; memory.swap.max is swap alone (runc's
 * conversion, including "no limit at all" when only limit -1 is given). */
static int memory_swap(struct files *f, int64_t limit, int64_t swap)
{
	char *where = at(f, "memory.swap");

	if (limit == -1 && swap == 0)
		add(f, "memory.swap.max", xstrdup("max"), where)->optional = 1;
	else if (swap == -1)
		add(f, "memory.swap.max", xstrdup("max"), where);
	else if (swap == 0)
		return 0;
	else if (limit <= 0)
		return config_error(where, "needs a memory limit");
	else if (swap < limit)
		return config_error(where, "must be at least the memory limit");
	else
		add(f, "memory.swap.max", xasprintf("%" PRId64, swap - limit), where);
	return 0;
}

static int parse_memory(const struct json *mem, struct files *f, int *check_before_update)
{
	int64_t limit = 0, low = 0, swap = 0;
	uint64_t swappiness;
	int flag = 0, r;

	if (cj_type(mem, JSON_OBJECT, at(f, "memory")) <= 0)
		return mem ? -1 : 0;
	if (memory_value(mem, "limit", f, &limit) < 0 ||
	    memory_value(mem, "reservation", f, &low) < 0 ||
	    memory_value(mem, "swap", f, &swap) < 0 ||
	    refuse_int(json_get(mem, "kernel"), at(f, "memory.kernel"), 0, -1,
		       "cgroup v2 has no separate kernel memory limit") < 0 ||
	    refuse_int(json_get(mem, "kernelTCP"), at(f, "memory.kernelTCP"), 0, -1,
		       "cgroup v2 has no separate kernel TCP memory limit") < 0)
		return -1;
	if ((r = cj_uint64(json_get(mem, "swappiness"), at(f, "memory.swappiness"), &swappiness)) <
	    0)
		return -1;
	if (r)
		return config_error(at(f, "memory.swappiness"), "cgroup v2 has no swappiness");
	if ((r = cj_bool(json_get(mem, "disableOOMKiller"), at(f, "memory.disableOOMKiller"),
			 &flag)) < 0)
		return -1;
	if (r && flag)
		return config_error(at(f, "memory.disableOOMKiller"),
				    "cgroup v2 cannot disable the OOM killer");
	if ((r = cj_bool(json_get(mem, "useHierarchy"), at(f, "memory.useHierarchy"), &flag)) < 0)
		return -1;
	if (r && !flag)
		return config_error(at(f, "memory.useHierarchy"), "cgroup v2 is always hierarchical");
	if (cj_bool(json_get(mem, "checkBeforeUpdate"), at(f, "memory.checkBeforeUpdate"),
		    check_before_update) < 0)
		return -1;
	if (limit != 0)
		add(f, "memory.max", limit_text(limit), at(f, "memory.limit"));
	if (low != 0)
		add(f, "memory.low", limit_text(low), at(f, "memory.reservation"));
	return memory_swap(f, limit, swap);
}

/* log2(x), x >= 1: the bit length, then the fraction bit by bit by squaring
 * (no libm: its pow and log tables would add 10 KiB to the binary). */
static double log2_of(uint64_t x)
{
	int whole = 63 - __builtin_clzll(x);
	double m = (double)x / (double)(1ULL << whole), fraction = 0, bit = 0.5;

	for (int i = 0; i < 53 && m != 1; i++, bit /= 2) {
		m *= m;
		if (m >= 2) {
			m /= 2;
			fraction += bit;
		}
	}
	return whole + fraction;
}

/* 10^y, 0 <= y < 5: 10^whole times the series of e^(fraction * ln 10). */
static double pow10_of(double y)
{
	int whole = (int)y;
	double z = (y - whole) * 2.302585092994045684, term = 1, result = 1;

	for (int i = 1; i < 40; i++) {
		term *= z / i;
		result += term;
	}
	while (whole-- > 0)
		result *= 10;
	return result;
}

/* v1 shares [2, 262144] onto v2 weight [1, 10000]: the quadratic fit in
 * log2(shares) that runc uses (opencontainers/cgroups), which keeps the
 * defaults matched (1024 -> 100) where the older linear map did not. Equal
 * to libm's ceil(pow(10, ...)) for every share value (checked exhaustively). */
static uint64_t shares_to_weight(uint64_t shares)
{
	double l, weight;
	uint64_t whole;

	if (shares <= 2)
		return 1;
	if (shares >= 262144)
		return 10000;
	l = log2_of(shares);
	weight = pow10_of((l * l + 125 * l) / 612.0 - 7.0 / 34.0);
	whole = (uint64_t)weight;
	return whole + (weight > (double)whole);
}

static int parse_cpu_max(const struct json *cpu, struct files *f)
{
	uint64_t period = 100000, burst = 0;
	int64_t quota = -1;
	int has_period, has_quota, has_burst;

	if ((has_period = cj_uint64(json_get(cpu, "period"), at(f, "cpu.period"), &period)) < 0 ||
	    (has_quota = cj_int64(json_get(cpu, "quota"), at(f, "cpu.quota"), INT64_MIN, INT64_MAX,
				  &quota)) < 0 ||
	    (has_burst = cj_uint64(json_get(cpu, "burst"), at(f, "cpu.burst"), &burst)) < 0)
		return -1;
	/* 0 is runc's "unset": the kernel's default period. */
	if (period == 0)
		period = 100000;
	if (has_quota || has_period)
		add(f, "cpu.max",
		    quota > 0 ? xasprintf("%" PRId64 " %" PRIu64, quota, period)
			      : xasprintf("max %" PRIu64, period),
		    at(f, has_quota ? "cpu.quota" : "cpu.period"));
	if (has_burst) {
		if (quota > 0 && burst > (uint64_t)quota)
			return config_error(at(f, "cpu.burst"), "must not exceed the quota");
		add(f, "cpu.max.burst", xasprintf("%" PRIu64, burst), at(f, "cpu.burst"));
	}
	return 0;
}

static int parse_cpu(const struct json *cpu, struct files *f)
{
	uint64_t shares = 0;
	int64_t idle = 0;
	char *cpus = NULL, *mems = NULL;
	int has_idle;

	if (cj_type(cpu, JSON_OBJECT, at(f, "cpu")) <= 0)
		return cpu ? -1 : 0;
	if (cj_uint64(json_get(cpu, "shares"), at(f, "cpu.shares"), &shares) < 0 ||
	    (has_idle = cj_int64(json_get(cpu, "idle"), at(f, "cpu.idle"), 0, 1, &idle)) < 0 ||
	    cj_string(json_get(cpu, "cpus"), at(f, "cpu.cpus"), &cpus) < 0 ||
	    cj_string(json_get(cpu, "mems"), at(f, "cpu.mems"), &mems) < 0 ||
	    refuse_int(json_get(cpu, "realtimeRuntime"), at(f, "cpu.realtimeRuntime"), 0, 0,
		       "cgroup v2 has no realtime CPU limits") < 0 ||
	    refuse_int(json_get(cpu, "realtimePeriod"), at(f, "cpu.realtimePeriod"), 0, 0,
		       "cgroup v2 has no realtime CPU limits") < 0)
		return -1;
	/* cpuset first: it is the one most likely to be refused. */
	if (cpus && *cpus)
		add(f, "cpuset.cpus", xstrdup(cpus), at(f, "cpu.cpus"));
	if (mems && *mems)
		add(f, "cpuset.mems", xstrdup(mems), at(f, "cpu.mems"));
	if (shares)
		add(f, "cpu.weight", xasprintf("%" PRIu64, shares_to_weight(shares)),
		    at(f, "cpu.shares"));
	if (parse_cpu_max(cpu, f) < 0)
		return -1;
	if (has_idle)
		add(f, "cpu.idle", xasprintf("%" PRId64, idle), at(f, "cpu.idle"));
	return 0;
}

static int parse_pids(const struct json *pids, struct files *f)
{
	int64_t limit = 0;
	int r;

	if (cj_type(pids, JSON_OBJECT, at(f, "pids")) <= 0)
		return pids ? -1 : 0;
	r = cj_int64(json_get(pids, "limit"), at(f, "pids.limit"), INT64_MIN, INT64_MAX, &limit);
	if (r < 0)
		return -1;
	/* The spec: 0 is a real limit (no new tasks), a negative value none. */
	if (r)
		add(f, "pids.max", limit_text(limit), at(f, "pids.limit"));
	return 0;
}

/* blkio weights [10, 1000] are io.bfq.weight's own scale; io.weight's is
 * [1, 10000], linearly (runc and crun). */
static void add_io_weight(struct files *f, const char *device, uint64_t weight, char *origin)
{
	struct cgroup_file *file =
		add(f, "io.bfq.weight", xasprintf("%s%" PRIu64, device, weight), origin);

	file->fallback_key = xstrdup("io.weight");
	file->fallback_value = xasprintf("%s%" PRIu64, device, 1 + (weight - 10) * 9999 / 990);
}

static int io_weight(const struct json *v, const char *where, uint64_t *out)
{
	int r = cj_uint64(v, where, out);

	if (r > 0 && *out != 0 && (*out < 10 || *out > 1000))
		return config_error(where, "must be in [10, 1000]");
	return r < 0 ? -1 : 0;
}

/* "major:minor " of a blockIO device entry, or NULL with the error set. */
static char *io_device(const struct json *entry, const char *where)
{
	int64_t major = 0, minor = 0;
	int has_major, has_minor;

	if (cj_type(entry, JSON_OBJECT, where) < 0 ||
	    (has_major = cj_int64(json_get(entry, "major"), xasprintf("%s.major", where), 0,
				  UINT32_MAX, &major)) < 0 ||
	    (has_minor = cj_int64(json_get(entry, "minor"), xasprintf("%s.minor", where), 0,
				  UINT32_MAX, &minor)) < 0)
		return NULL;
	if (!has_major || !has_minor) {
		config_error(where, "needs major and minor");
		return NULL;
	}
	return xasprintf("%" PRId64 ":%" PRId64 " ", major, minor);
}

static int parse_weight_devices(const struct json *list, struct files *f)
{
	char *where = at(f, "blockIO.weightDevice");

	if (cj_type(list, JSON_ARRAY, where) <= 0)
		return list ? -1 : 0;
	for (size_t i = 0; i < list->u.array.count; i++) {
		const struct json *entry = list->u.array.items[i];
		char *item = xasprintf("%s[%zu]", where, i), *device;
		uint64_t weight = 0, leaf = 0;

		if (!(device = io_device(entry, item)) ||
		    io_weight(json_get(entry, "weight"), xasprintf("%s.weight", item), &weight) < 0 ||
		    io_weight(json_get(entry, "leafWeight"), xasprintf("%s.leafWeight", item),
			      &leaf) < 0)
			return -1;
		if (leaf)
			return config_error(xasprintf("%s.leafWeight", item),
					    "cgroup v2 has no leaf weight");
		if (!weight)
			return config_error(item, "needs a weight");
		add_io_weight(f, device, weight, item);
	}
	return 0;
}

static int parse_throttle(const struct json *io, const char *field, const char *key,
			  struct files *f)
{
	const struct json *list = json_get(io, field);
	char *where = at(f, xasprintf("blockIO.%s", field));

	if (cj_type(list, JSON_ARRAY, where) <= 0)
		return list ? -1 : 0;
	for (size_t i = 0; i < list->u.array.count; i++) {
		const struct json *entry = list->u.array.items[i];
		char *item = xasprintf("%s[%zu]", where, i), *device;
		uint64_t rate = 0;
		int r;

		if (!(device = io_device(entry, item)) ||
		    (r = cj_uint64(json_get(entry, "rate"), xasprintf("%s.rate", item), &rate)) < 0)
			return -1;
		if (!r)
			return config_error(item, "needs a rate");
		/* v1 removes a rule with 0; v2 spells that "max". */
		add(f, "io.max",
		    rate ? xasprintf("%s%s=%" PRIu64, device, key, rate)
			 : xasprintf("%s%s=max", device, key),
		    item);
	}
	return 0;
}

static int parse_block_io(const struct json *io, struct files *f)
{
	uint64_t weight = 0, leaf = 0;

	if (cj_type(io, JSON_OBJECT, at(f, "blockIO")) <= 0)
		return io ? -1 : 0;
	if (io_weight(json_get(io, "weight"), at(f, "blockIO.weight"), &weight) < 0 ||
	    io_weight(json_get(io, "leafWeight"), at(f, "blockIO.leafWeight"), &leaf) < 0)
		return -1;
	if (leaf)
		return config_error(at(f, "blockIO.leafWeight"), "cgroup v2 has no leaf weight");
	if (weight)
		add_io_weight(f, "", weight, at(f, "blockIO.weight"));
	return parse_weight_devices(json_get(io, "weightDevice"), f) < 0 ||
			       parse_throttle(io, "throttleReadBpsDevice", "rbps", f) < 0 ||
			       parse_throttle(io, "throttleWriteBpsDevice", "wbps", f) < 0 ||
			       parse_throttle(io, "throttleReadIOPSDevice", "riops", f) < 0 ||
			       parse_throttle(io, "throttleWriteIOPSDevice", "wiops", f) < 0
		       ? -1
		       : 0;
}

/* "<size><KB|MB|GB>" as the hugetlb.<size>.max files spell it. */
static int valid_page_size(const char *s)
{
	size_t digits = strspn(s, "0123456789");

	return digits > 0 && s[0] != '0' && (s[digits] == 'K' || s[digits] == 'M' ||
					     s[digits] == 'G') && strcmp(s + digits + 1, "B") == 0;
}

static int parse_hugepages(const struct json *list, struct files *f)
{
	char *where = at(f, "hugepageLimits");

	if (cj_type(list, JSON_ARRAY, where) <= 0)
		return list ? -1 : 0;
	for (size_t i = 0; i < list->u.array.count; i++) {
		const struct json *entry = list->u.array.items[i];
		char *item = xasprintf("%s[%zu]", where, i), *size = NULL;
		uint64_t limit = 0;
		int r;

		if (cj_type(entry, JSON_OBJECT, item) < 0 ||
		    cj_string(json_get(entry, "pageSize"), xasprintf("%s.pageSize", item), &size) <
			    0 ||
		    (r = cj_uint64(json_get(entry, "limit"), xasprintf("%s.limit", item), &limit)) <
			    0)
			return -1;
		if (!size || !valid_page_size(size))
			return config_error(xasprintf("%s.pageSize", item),
					    "expected a size like 2MB or 1GB");
		if (!r)
			return config_error(item, "needs a limit");
		add(f, xasprintf("hugetlb.%s.max", size), xasprintf("%" PRIu64, limit), item);
		/* Reservations too, where the kernel accounts them (the spec's preference). */
		add(f, xasprintf("hugetlb.%s.rsvd.max", size), xasprintf("%" PRIu64, limit), item)
			->optional = 1;
	}
	return 0;
}

static int parse_rdma(const struct json *rdma, struct files *f)
{
	if (cj_type(rdma, JSON_OBJECT, at(f, "rdma")) <= 0)
		return rdma ? -1 : 0;
	for (size_t i = 0; i < rdma->u.object.count; i++) {
		const char *device = rdma->u.object.keys[i];
		const struct json *v = rdma->u.object.values[i];
		char *item = at(f, xasprintf("rdma.%s", device)), *value = xstrdup(device);
		uint32_t handles = 0, objects = 0;
		int has_handles, has_objects;

		if (!*device || device[strcspn(device, " \t\n=")])
			return config_error(item, "not an RDMA device name");
		if (cj_type(v, JSON_OBJECT, item) < 0 ||
		    (has_handles = cj_uint32(json_get(v, "hcaHandles"),
					     xasprintf("%s.hcaHandles", item), &handles)) < 0 ||
		    (has_objects = cj_uint32(json_get(v, "hcaObjects"),
					     xasprintf("%s.hcaObjects", item), &objects)) < 0)
			return -1;
		if (!has_handles && !has_objects)
			return config_error(item, "needs hcaHandles or hcaObjects");
		if (has_handles)
			value = xasprintf("%s hca_handle=%" PRIu32, value, handles);
		if (has_objects)
			value = xasprintf("%s hca_object=%" PRIu32, value, objects);
		add(f, "rdma.max", value, item);
	}
	return 0;
}

static int parse_network(const struct json *net, struct files *f)
{
	const struct json *priorities = json_get(net, "priorities");

	if (cj_type(net, JSON_OBJECT, at(f, "network")) <= 0)
		return net ? -1 : 0;
	if (refuse_int(json_get(net, "classID"), at(f, "network.classID"), 0, 0,
		       "cgroup v2 has no net_cls controller") < 0 ||
	    cj_type(priorities, JSON_ARRAY, at(f, "network.priorities")) < 0)
		return -1;
	if (priorities && priorities->u.array.count)
		return config_error(at(f, "network.priorities"), "cgroup v2 has no net_prio controller");
	return 0;
}

/* "controller.file": no path separators, no "..", a controller name first. */
static int valid_unified_key(const char *key)
{
	size_t name = strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_");

	return name > 0 && key[name] == '.' && key[name + 1] && !strchr(key, '/') &&
	       !strstr(key, "..");
}

static int parse_unified(const struct json *unified, struct files *f)
{
	if (cj_type(unified, JSON_OBJECT, at(f, "unified")) <= 0)
		return unified ? -1 : 0;
	for (size_t i = 0; i < unified->u.object.count; i++) {
		const char *key = unified->u.object.keys[i];
		char *where = at(f, xasprintf("unified.%s", key)), *value = NULL;

		if (!valid_unified_key(key))
			return config_error(where, "not a cgroup file name (controller.file)");
		if (cj_string(unified->u.object.values[i], where, &value) < 0)
			return -1;
		add(f, key, xstrdup(value), where);
	}
	return 0;
}

int cgroup_resources_parse(const struct json *resources, const char *prefix,
			   struct cgroup_spec *out)
{
	struct files f = { prefix, NULL, 0, 0 };

	if (cj_type(resources, JSON_OBJECT, prefix) < 0)
		return -1;
	/* unified last: its values override the converted ones, as in runc. */
	if (parse_cpu(json_get(resources, "cpu"), &f) < 0 ||
	    parse_memory(json_get(resources, "memory"), &f, &out->check_before_update) < 0 ||
	    parse_pids(json_get(resources, "pids"), &f) < 0 ||
	    parse_block_io(json_get(resources, "blockIO"), &f) < 0 ||
	    parse_hugepages(json_get(resources, "hugepageLimits"), &f) < 0 ||
	    parse_rdma(json_get(resources, "rdma"), &f) < 0 ||
	    parse_network(json_get(resources, "network"), &f) < 0 ||
	    parse_unified(json_get(resources, "unified"), &f) < 0)
		return -1;
	out->files = f.items;
	out->nfiles = f.count;
	return 0;
}
