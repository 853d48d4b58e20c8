#include "devices.h"
#include "config_json.h"
#include "err.h"
#include "json.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* linux/bpf.h: cgroup device programs see (access << 16 | type, major, minor). */
#define DEV_ACCESS_MKNOD 1u
#define DEV_ACCESS_READ 2u
#define DEV_ACCESS_WRITE 4u
#define DEV_ACCESS_ALL 7u
#define DEVCG_BLOCK 1
#define DEVCG_CHAR 2
#define BPF_PROG_LOAD 5
#define BPF_PROG_ATTACH 8
#define BPF_PROG_TYPE_CGROUP_DEVICE 15
#define BPF_CGROUP_DEVICE 6
#define BPF_F_ALLOW_MULTI 2

/* eBPF opcodes used below. */
#define EBPF_LDX_W 0x61 /* dst = *(u32 *)(src + off) */
#define EBPF_MOV64_X 0xbf
#define EBPF_MOV64_K 0xb7
#define EBPF_AND32_K 0x54
#define EBPF_RSH32_K 0x74
#define EBPF_JNE_K 0x55
#define EBPF_JNE32_K 0x56 /* on the low 32 bits: a major past 2^31 is no negative immediate */
#define EBPF_EXIT 0x95

struct ebpf_insn {
	uint8_t code;
	uint8_t regs; /* dst in the low nibble, src in the high one */
	int16_t off;
	int32_t imm;
};

/* What the spec requires every container to reach ("Default Devices"), plus
 * mknod of any node (it is opening one that is filtered) as runc allows. */
static const struct device_rule default_rules[] = {
	{ 1, 'c', -1, -1, DEV_ACCESS_MKNOD }, { 1, 'b', -1, -1, DEV_ACCESS_MKNOD },
	{ 1, 'c', 1, 3, DEV_ACCESS_ALL }, /* null */
	{ 1, 'c', 1, 5, DEV_ACCESS_ALL }, /* zero */
	{ 1, 'c', 1, 7, DEV_ACCESS_ALL }, /* full */
	{ 1, 'c', 1, 8, DEV_ACCESS_ALL }, /* random */
	{ 1, 'c', 1, 9, DEV_ACCESS_ALL }, /* urandom */
	{ 1, 'c', 5, 0, DEV_ACCESS_ALL }, /* tty */
	{ 1, 'c', 5, 1, DEV_ACCESS_ALL }, /* console */
	{ 1, 'c', 5, 2, DEV_ACCESS_ALL }, /* ptmx */
	{ 1, 'c', 136, -1, DEV_ACCESS_ALL }, /* pts/N */
};

static void add_rule(struct device_rules *r, struct device_rule rule)
{
	r->items = xrealloc(r->items, (r->count + 1) * sizeof *r->items);
	r->items[r->count++] = rule;
}

static int parse_number(const struct json *v, const char *where, int64_t *out)
{
	*out = -1;
	if (!v || v->type == JSON_NULL)
		return 0;
	return cj_int64(v, where, -1, UINT32_MAX, out) < 0 ? -1 : 0;
}

static int parse_access(const char *text, const char *where, unsigned *out)
{
	*out = 0;
	for (const char *c = text; *c; c++) {
		const char *at = strchr("mrw", *c);
		if (!at)
			return config_error(where, "access \"%s\": only r, w and m", text);
		*out |= 1u << (at - "mrw");
	}
	return 0;
}

static int parse_resource_rule(const struct json *item, const char *where, struct device_rule *rule)
{
	char *type = NULL, *access = NULL;
	int allow = 0;

	if (cj_type(item, JSON_OBJECT, where) < 0 ||
	    cj_bool(json_get(item, "allow"), xasprintf("%s.allow", where), &allow) < 0 ||
	    cj_string(json_get(item, "type"), xasprintf("%s.type", where), &type) < 0 ||
	    cj_string(json_get(item, "access"), xasprintf("%s.access", where), &access) < 0 ||
	    parse_number(json_get(item, "major"), xasprintf("%s.major", where), &rule->major) < 0 ||
	    parse_number(json_get(item, "minor"), xasprintf("%s.minor", where), &rule->minor) < 0)
		return -1;
	if (!json_get(item, "allow"))
		return config_error(where, "allow is required");
	rule->allow = allow;
	rule->type = type && *type ? type[0] : 'a';
	if (!strchr("abc", rule->type) || (type && strlen(type) > 1))
		return config_error(where, "type \"%s\": only a, b or c", type);
	if (!access || !*access)
		rule->access = DEV_ACCESS_ALL;
	else if (parse_access(access, where, &rule->access) < 0)
		return -1;
	return 0;
}

int device_rules_parse(const struct json *linux_obj, struct device_rules *out)
{
	const struct json *resources = json_get(linux_obj, "resources");
	const struct json *list = json_get(resources, "devices");
	const struct json *devices = json_get(linux_obj, "devices");

	memset(out, 0, sizeof *out);
	if (cj_type(list, JSON_ARRAY, "linux.resources.devices") < 0)
		return -1;
	for (size_t i = 0; list && i < list->u.array.count; i++) {
		char *where = xasprintf("linux.resources.devices[%zu]", i);
		struct device_rule rule;
		if (parse_resource_rule(list->u.array.items[i], where, &rule) < 0)
			return -1;
		add_rule(out, rule);
	}
	for (size_t i = 0; i < sizeof default_rules / sizeof default_rules[0]; i++)
		add_rule(out, default_rules[i]);
	/* Nodes the config creates are the container's to use (spec.c checks them). */
	for (size_t i = 0; devices && devices->type == JSON_ARRAY && i < devices->u.array.count;
	     i++) {
		const struct json *d = devices->u.array.items[i];
		const struct json *type = json_get(d, "type");
		int64_t major = -1, minor = -1;
		if (!type || type->type != JSON_STRING || !strchr("bcu", type->u.string.chars[0]))
			continue;
		cj_int64(json_get(d, "major"), "linux.devices", 0, UINT32_MAX, &major);
		cj_int64(json_get(d, "minor"), "linux.devices", 0, UINT32_MAX, &minor);
		add_rule(out, (struct device_rule){ 1, type->u.string.chars[0] == 'b' ? 'b' : 'c',
						    major, minor, DEV_ACCESS_ALL });
	}
	return 0;
}

struct program {
	struct ebpf_insn insns[8 * 512];
	size_t count;
};

static void emit(struct program *p, uint8_t code, int dst, int src, int16_t off, int32_t imm)
{
	p->insns[p->count++] = (struct ebpf_insn){ code, (uint8_t)(dst | src << 4), off, imm };
}

/* r2 = access, r3 = type, r4 = major, r5 = minor; each rule, last first, is a
 * block that returns its verdict when everything it names matches and jumps
 * past itself otherwise. Nothing matched: deny. */
static int compile(const struct device_rules *rules, struct program *p)
{
	if (rules->count > 500)
		return fail("devices", "%zu rules, more than 500", rules->count);
	emit(p, EBPF_LDX_W, 2, 1, 0, 0);
	emit(p, EBPF_MOV64_X, 3, 2, 0, 0);
	emit(p, EBPF_AND32_K, 3, 0, 0, 0xffff);
	emit(p, EBPF_RSH32_K, 2, 0, 0, 16);
	emit(p, EBPF_LDX_W, 4, 1, 4, 0);
	emit(p, EBPF_LDX_W, 5, 1, 8, 0);
	for (size_t i = rules->count; i-- > 0;) {
		const struct device_rule *r = &rules->items[i];
		size_t jumps[4], njumps = 0;
		if (r->type != 'a')
			jumps[njumps++] = p->count,
			emit(p, EBPF_JNE_K, 3, 0, 0, r->type == 'b' ? DEVCG_BLOCK : DEVCG_CHAR);
		if (r->access != DEV_ACCESS_ALL) {
			/* Matches when every requested kind of access is in the rule. */
			emit(p, EBPF_MOV64_X, 1, 2, 0, 0);
			emit(p, EBPF_AND32_K, 1, 0, 0, (int32_t)~r->access & 0xffff);
			jumps[njumps++] = p->count, emit(p, EBPF_JNE_K, 1, 0, 0, 0);
		}
		if (r->major >= 0)
			jumps[njumps++] = p->count,
			emit(p, EBPF_JNE32_K, 4, 0, 0, (int32_t)(uint32_t)r->major);
		if (r->minor >= 0)
			jumps[njumps++] = p->count,
			emit(p, EBPF_JNE32_K, 5, 0, 0, (int32_t)(uint32_t)r->minor);
		emit(p, EBPF_MOV64_K, 0, 0, 0, r->allow);
		emit(p, EBPF_EXIT, 0, 0, 0, 0);
		/* A rule matching everything ends the program: the verifier
		 * refuses code that cannot be reached. */
		if (njumps == 0)
			return 0;
		for (size_t j = 0; j < njumps; j++)
			p->insns[jumps[j]].off = (int16_t)(p->count - jumps[j] - 1);
	}
	emit(p, EBPF_MOV64_K, 0, 0, 0, 0);
	emit(p, EBPF_EXIT, 0, 0, 0, 0);
	return 0;
}

struct bpf_prog_load_attr {
	uint32_t prog_type, insn_cnt;
	uint64_t insns, license;
	uint32_t log_level, log_size;
	uint64_t log_buf;
	uint32_t kern_version, prog_flags;
	char name[16];
	uint32_t ifindex, expected_attach_type;
};

struct bpf_prog_attach_attr {
	uint32_t target_fd, attach_bpf_fd, attach_type, attach_flags, replace_bpf_fd;
};

int device_filter_attach(const struct device_rules *rules, int cgroup_fd)
{
	static struct program p;
	static char log[4096];
	struct bpf_prog_load_attr load = { 0 };
	struct bpf_prog_attach_attr attach = { 0 };
	int prog AUTO_FD = -1;

	p.count = 0;
	if (compile(rules, &p) < 0)
		return -1;
	load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	load.insn_cnt = (uint32_t)p.count;
	load.insns = (uint64_t)(uintptr_t)p.insns;
	load.license = (uint64_t)(uintptr_t) "Apache";
	memcpy(load.name, "lk_run_devices", 15);
	prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof load);
	if (prog < 0 && errno == EACCES) {
		/* Refused by the verifier: load again for its reason. */
		load.log_level = 1;
		load.log_size = sizeof log;
		load.log_buf = (uint64_t)(uintptr_t)log;
		prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof load);
	}
	if (prog < 0)
		return fail("devices", "load the device filter: %s%s%.200s", strerror(errno),
			    log[0] ? ": " : "", log);
	attach.target_fd = (uint32_t)cgroup_fd;
	attach.attach_bpf_fd = (uint32_t)prog;
	attach.attach_type = BPF_CGROUP_DEVICE;
	attach.attach_flags = BPF_F_ALLOW_MULTI;
	/* Once attached the cgroup holds the program: our fd can go. */
	if (syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof attach) < 0)
		return fail("devices", "attach the device filter: %s", strerror(errno));
	return 0;
}
