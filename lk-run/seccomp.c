#include "seccomp.h"
#include "config_json.h"
#include "err.h"
#include "json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

struct syscall_name {
	const char *name;
	int nr;
	unsigned char narrow; /* bit i: argument i is a 32-bit integer */
};

#include "syscalls_x86_64.h"

/* Classic BPF (linux/filter.h) and seccomp (linux/seccomp.h) constants. */
#define BPF_LD_W_ABS 0x20
#define BPF_JMP_JA 0x05
#define BPF_JEQ_K 0x15
#define BPF_JGT_K 0x25
#define BPF_JGE_K 0x35
#define BPF_AND_K 0x54
#define BPF_RET_K 0x06
#define BPF_MAXINSNS 4096

#define SECCOMP_SET_MODE_FILTER 1
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#define SECCOMP_RET_KILL_THREAD 0x00000000U
#define SECCOMP_RET_TRAP 0x00030000U
#define SECCOMP_RET_ERRNO 0x00050000U
#define SECCOMP_RET_TRACE 0x7ff00000U
#define SECCOMP_RET_LOG 0x7ffc0000U
#define SECCOMP_RET_ALLOW 0x7fff0000U

#define AUDIT_ARCH_X86_64 0xc000003eU
#define X32_SYSCALL_BIT 0x40000000U

/* struct seccomp_data offsets */
#define OFFSET_NR 0
#define OFFSET_ARCH 4
#define OFFSET_ARG_LOW(i) (16 + 8 * (i))
#define OFFSET_ARG_HIGH(i) (20 + 8 * (i))

enum compare { CMP_NE, CMP_LT, CMP_LE, CMP_EQ, CMP_GE, CMP_GT, CMP_MASKED_EQ };

struct condition {
	unsigned index;
	enum compare op;
	uint64_t value, value_two;
};

/* One syscall number with its conditions (all must hold) and verdict. */
struct rule {
	int nr;
	size_t order; /* position in the config, to keep first-match order */
	struct condition *conds;
	size_t nconds;
	uint32_t action;
	unsigned narrow; /* the syscall's 32-bit arguments (syscall_name.narrow) */
};

struct rules {
	struct rule *items;
	size_t count, cap;
};

static const struct syscall_name *lookup_syscall(const char *name)
{
	size_t lo = 0, hi = sizeof syscalls_x86_64 / sizeof syscalls_x86_64[0];

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, syscalls_x86_64[mid].name);
		if (c == 0)
			return &syscalls_x86_64[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int parse_action(const struct json *obj, const char *action_key, const char *errno_key,
			const char *where, uint32_t *out)
{
	char *name = NULL;
	uint32_t data = EPERM;
	int has_errno;

	if (cj_string(json_get(obj, action_key), where, &name) < 0)
		return -1;
	if (!name)
		return config_error(where, "missing %s", action_key);
	has_errno = cj_uint32(json_get(obj, errno_key), where, &data);
	if (has_errno < 0)
		return -1;
	if (data > 4095)
		return config_error(where, "%s %u is out of range", errno_key, data);
	if (strcmp(name, "SCMP_ACT_ALLOW") == 0)
		*out = SECCOMP_RET_ALLOW;
	else if (strcmp(name, "SCMP_ACT_ERRNO") == 0)
		*out = SECCOMP_RET_ERRNO | data;
	else if (strcmp(name, "SCMP_ACT_KILL") == 0 || strcmp(name, "SCMP_ACT_KILL_THREAD") == 0)
		*out = SECCOMP_RET_KILL_THREAD;
	else if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0)
		*out = SECCOMP_RET_KILL_PROCESS;
	else if (strcmp(name, "SCMP_ACT_TRAP") == 0)
		*out = SECCOMP_RET_TRAP;
	else if (strcmp(name, "SCMP_ACT_TRACE") == 0)
		*out = SECCOMP_RET_TRACE | data;
	else if (strcmp(name, "SCMP_ACT_LOG") == 0)
		*out = SECCOMP_RET_LOG;
	else if (strcmp(name, "SCMP_ACT_NOTIFY") == 0)
		return config_error(where, "SCMP_ACT_NOTIFY is not supported");
	else
		return config_error(where, "unknown action \"%s\"", name);
	return 0;
}

static int parse_op(const char *name, enum compare *out)
{
	static const char *const names[] = {
		"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",        "SCMP_CMP_EQ",
		"SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcmp(name, names[i]) == 0) {
			*out = (enum compare)i;
			return 0;
		}
	}
	return -1;
}

static int parse_conditions(const struct json *args, const char *where, struct condition **out,
			    size_t *count)
{
	if (cj_type(args, JSON_ARRAY, where) <= 0)
		return args ? -1 : 0;
	*out = xcalloc(args->u.array.count, sizeof **out);
	for (size_t i = 0; i < args->u.array.count; i++) {
		const struct json *a = args->u.array.items[i];
		struct condition *c = &(*out)[i];
		uint32_t index = 0;
		char *op = NULL;

		if (cj_type(a, JSON_OBJECT, where) < 0 ||
		    cj_uint32(json_get(a, "index"), where, &index) < 0 ||
		    cj_uint64(json_get(a, "value"), where, &c->value) < 0 ||
		    cj_uint64(json_get(a, "valueTwo"), where, &c->value_two) < 0 ||
		    cj_string(json_get(a, "op"), where, &op) < 0)
			return -1;
		if (index > 5)
			return config_error(where, "argument index %u is out of range", index);
		if (!op || parse_op(op, &c->op) < 0)
			return config_error(where, "unknown op \"%s\"", op ? op : "");
		c->index = index;
	}
	*count = args->u.array.count;
	return 0;
}

static void add_rule(struct rules *rules, struct rule rule)
{
	if (rules->count == rules->cap) {
		rules->cap = rules->cap ? rules->cap * 2 : 64;
		rules->items = xrealloc(rules->items, rules->cap * sizeof *rules->items);
	}
	rule.order = rules->count;
	rules->items[rules->count++] = rule;
}

/* Conditions on distinct arguments must all hold; several on the same
 * argument are alternatives (as runc treats them), so each becomes a rule. */
static int conditions_repeat_an_index(const struct condition *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (c[i].index == c[j].index)
				return 1;
	return 0;
}

static int parse_syscalls(const struct json *list, uint32_t default_action, struct rules *rules)
{
	if (cj_type(list, JSON_ARRAY, "linux.seccomp.syscalls") <= 0)
		return list ? -1 : 0;
	for (size_t i = 0; i < list->u.array.count; i++) {
		const struct json *entry = list->u.array.items[i];
		char *where = xasprintf("linux.seccomp.syscalls[%zu]", i);
		char **names = NULL;
		size_t nnames = 0, nconds = 0;
		struct condition *conds = NULL;
		uint32_t action;

		if (cj_type(entry, JSON_OBJECT, where) < 0 ||
		    cj_strings(json_get(entry, "names"), where, &names, &nnames) < 0 ||
		    parse_action(entry, "action", "errnoRet", where, &action) < 0 ||
		    parse_conditions(json_get(entry, "args"), where, &conds, &nconds) < 0)
			return -1;
		/* The default already applies; libseccomp refuses such rules too. */
		if (action == default_action)
			continue;
		for (size_t n = 0; n < nnames; n++) {
			/* Names of other architectures' syscalls are skipped, as runc does. */
			const struct syscall_name *sc = lookup_syscall(names[n]);
			if (!sc)
				continue;
			if (nconds > 1 && conditions_repeat_an_index(conds, nconds)) {
				for (size_t c = 0; c < nconds; c++)
					add_rule(rules, (struct rule){ sc->nr, 0, &conds[c], 1,
								       action, sc->narrow });
			} else {
				add_rule(rules, (struct rule){ sc->nr, 0, conds, nconds, action,
							       sc->narrow });
			}
		}
	}
	return 0;
}

/* Groups by number; within a number conditional rules come first, each group in config order. */
static int compare_rules(const void *pa, const void *pb)
{
	const struct rule *a = pa, *b = pb;

	if (a->nr != b->nr)
		return a->nr < b->nr ? -1 : 1;
	if ((a->nconds == 0) != (b->nconds == 0))
		return a->nconds == 0 ? 1 : -1;
	return a->order < b->order ? -1 : a->order > b->order;
}

struct emitter {
	struct seccomp_program *prog;
	size_t cap;
};

static size_t emit(struct emitter *e, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
	if (e->prog->count == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 256;
		e->prog->insns = xrealloc(e->prog->insns, e->cap * sizeof *e->prog->insns);
	}
	e->prog->insns[e->prog->count] = (struct bpf_insn_lk){ code, jt, jf, k };
	return e->prog->count++;
}

/* Marks the jt (which = 0) or jf (which = 1) of insn as a jump to the rule's failure exit. */
struct pending {
	size_t insn;
	int which;
};

#define FAIL 0xff /* placeholder until the failure target is known */

/* A 32-bit argument: the kernel ignores the high half the caller passes, so
 * only the low half is compared (else socket(0x100000028) is AF_VSOCK to the
 * kernel but "greater than 40" to the filter). */
static void emit_condition_low(struct emitter *e, const struct condition *c, struct pending *p,
			       size_t *np)
{
	uint32_t lo = (uint32_t)c->value, lo2 = (uint32_t)c->value_two;
	static const uint16_t jump[] = {
		[CMP_EQ] = BPF_JEQ_K,       [CMP_NE] = BPF_JEQ_K, [CMP_GT] = BPF_JGT_K,
		[CMP_GE] = BPF_JGE_K,       [CMP_LT] = BPF_JGE_K, [CMP_LE] = BPF_JGT_K,
		[CMP_MASKED_EQ] = BPF_JEQ_K
	};
	/* NE, LT, LE hold when the jump is not taken. */
	int fail_when_taken = c->op == CMP_NE || c->op == CMP_LT || c->op == CMP_LE;
	size_t at;

	emit(e, BPF_LD_W_ABS, 0, 0, OFFSET_ARG_LOW(c->index));
	if (c->op == CMP_MASKED_EQ)
		emit(e, BPF_AND_K, 0, 0, lo);
	at = emit(e, jump[c->op], fail_when_taken ? FAIL : 0, fail_when_taken ? 0 : FAIL,
		  c->op == CMP_MASKED_EQ ? lo2 : lo);
	p[(*np)++] = (struct pending){ at, fail_when_taken ? 0 : 1 };
}

/* Emits code that falls through when the condition holds and jumps to the
 * rule's failure exit when it does not. 64-bit values are compared as two
 * 32-bit halves, high half first. */
static void emit_condition(struct emitter *e, const struct condition *c, unsigned narrow,
			   struct pending *p, size_t *np)
{
	uint32_t hi = (uint32_t)(c->value >> 32), lo = (uint32_t)c->value;
	uint32_t hi2 = (uint32_t)(c->value_two >> 32), lo2 = (uint32_t)c->value_two;
	size_t at;

	if (narrow & (1u << c->index)) {
		emit_condition_low(e, c, p, np);
		return;
	}
	switch (c->op) {
	case CMP_EQ:
		emit(e, BPF_LD_W_ABS, 0, 0, OFFSET_ARG_HIGH(c->index));
		at = emit(e, BPF_JEQ_K, 0, FAIL, hi);
		p[(*np)++] = (struct pending){ at, 1 };
		emit(e, BPF_LD_W_ABS, 0, 0, OFFSET_ARG_LOW(c->index));
		at = emit(e, BPF_JEQ_K, 0, FAIL, lo);
		p[(*np)++] = (struct pending){ at, 1 };
		break;
	case CMP_NE:
		emit(e, BPF_LD_W_ABS, 0, 0, OFFSET_ARG_HIGH(c->index));
		emit(e, BPF_JEQ_K, 0, 2, hi); /* high differs: holds */
		emit(e, BPF_LD_W_ABS, 0, 0, OFFSET_ARG_LOW(c->index));
		at = emit(e, BPF_JEQ_K, FAIL, 0, lo);
		p[(*np)++] = (struct pending){ at, 0 };
		break;
	case CMP_GT:
	case CMP_GE:
		emit(e, BPF_LD_W_ABS, 0, 0, OFFSET_ARG_HIGH(c->index));
		emit(e, BPF_JGT_K, 3, 0, hi); /* high above: holds */
		at = emit(e, BPF_JEQ_K, 0, FAIL, hi); /* high below: fails */
		p[(*np)++] = (struct pending){ at, 1 };
		emit(e, BPF_LD_W_ABS, 0, 0, OFFSET_ARG_LOW(c->index));
		at = emit(e, c->op == CMP_GT ? BPF_JGT_K : BPF_JGE_K, 0, FAIL, lo);
		p[(*np)++] = (struct pending){ at, 1 };
		break;
	case CMP_LT:
	case CMP_LE:
		emit(e, BPF_LD_W_ABS, 0, 0, OFFSET_ARG_HIGH(c->index));
		emit(e, BPF_JGE_K, 0, 3, hi); /* high below: holds */
		at = emit(e, BPF_JEQ_K, 0, FAIL, hi); /* high above: fails */
		p[(*np)++] = (struct pending){ at, 1 };
		emit(e, BPF_LD_W_ABS, 0, 0, OFFSET_ARG_LOW(c->index));
		at = emit(e, c->op == CMP_LT ? BPF_JGE_K : BPF_JGT_K, FAIL, 0, lo);
		p[(*np)++] = (struct pending){ at, 0 };
		break;
	case CMP_MASKED_EQ:
		emit(e, BPF_LD_W_ABS, 0, 0, OFFSET_ARG_HIGH(c->index));
		emit(e, BPF_AND_K, 0, 0, hi);
		at = emit(e, BPF_JEQ_K, 0, FAIL, hi2);
		p[(*np)++] = (struct pending){ at, 1 };
		emit(e, BPF_LD_W_ABS, 0, 0, OFFSET_ARG_LOW(c->index));
		emit(e, BPF_AND_K, 0, 0, lo);
		at = emit(e, BPF_JEQ_K, 0, FAIL, lo2);
		p[(*np)++] = (struct pending){ at, 1 };
		break;
	}
}

/* The body of one syscall number's group: each conditional rule in turn,
 * then the unconditional rule or the default. Always ends in RET. */
static void emit_group_body(struct emitter *e, const struct rule *rules, size_t n,
			    uint32_t default_action)
{
	for (size_t i = 0; i < n; i++) {
		struct pending pending[6 * 2];
		size_t npending = 0, target;

		if (rules[i].nconds == 0) {
			emit(e, BPF_RET_K, 0, 0, rules[i].action);
			return;
		}
		for (size_t c = 0; c < rules[i].nconds; c++)
			emit_condition(e, &rules[i].conds[c], rules[i].narrow, pending, &npending);
		emit(e, BPF_RET_K, 0, 0, rules[i].action);
		/* A rule spans at most 6 conditions of 6 instructions: short jumps reach. */
		target = e->prog->count;
		for (size_t k = 0; k < npending; k++) {
			struct bpf_insn_lk *insn = &e->prog->insns[pending[k].insn];
			uint8_t offset = (uint8_t)(target - pending[k].insn - 1);
			if (pending[k].which == 0)
				insn->jt = offset;
			else
				insn->jf = offset;
		}
	}
	emit(e, BPF_RET_K, 0, 0, default_action);
}

/* One syscall number's rules; A holds the number and keeps it unless the
 * number matches (then the code ends in RET). */
static void emit_group(struct emitter *e, const struct rule *rules, size_t n,
		       uint32_t default_action)
{
	size_t ja;

	if (rules[0].nconds == 0) {
		/* One RET: skip it unless the number matches. */
		emit(e, BPF_JEQ_K, 0, 1, (uint32_t)rules[0].nr);
		emit(e, BPF_RET_K, 0, 0, rules[0].action);
		return;
	}
	/* Bodies can be long; JA's 32-bit offset jumps over any of them. */
	emit(e, BPF_JEQ_K, 1, 0, (uint32_t)rules[0].nr);
	ja = emit(e, BPF_JMP_JA, 0, 0, 0);
	emit_group_body(e, rules, n, default_action);
	e->prog->insns[ja].k = (uint32_t)(e->prog->count - ja - 1);
}

struct group {
	size_t first, count; /* a run of rules with one number */
};

#define LINEAR_GROUPS 4

/* A binary search over the sorted numbers, so a long list costs a few
 * comparisons; small ranges are scanned. Always ends in RET. */
static void emit_tree(struct emitter *e, const struct rules *rules, const struct group *groups,
		      size_t n, uint32_t default_action)
{
	size_t mid, ja;

	if (n <= LINEAR_GROUPS) {
		for (size_t i = 0; i < n; i++)
			emit_group(e, &rules->items[groups[i].first], groups[i].count,
				   default_action);
		emit(e, BPF_RET_K, 0, 0, default_action);
		return;
	}
	mid = n / 2;
	/* nr >= pivot: take the JA to the upper half; else skip it. */
	emit(e, BPF_JGE_K, 0, 1, (uint32_t)rules->items[groups[mid].first].nr);
	ja = emit(e, BPF_JMP_JA, 0, 0, 0);
	emit_tree(e, rules, groups, mid, default_action);
	e->prog->insns[ja].k = (uint32_t)(e->prog->count - ja - 1);
	emit_tree(e, rules, groups + mid, n - mid, default_action);
}

static void emit_program(struct emitter *e, struct rules *rules, uint32_t default_action)
{
	struct group *groups = xcalloc(rules->count, sizeof *groups);
	size_t ngroups = 0;

	for (size_t i = 0; i < rules->count;) {
		size_t end = i;
		while (end < rules->count && rules->items[end].nr == rules->items[i].nr)
			end++;
		groups[ngroups++] = (struct group){ i, end - i };
		i = end;
	}
	emit(e, BPF_LD_W_ABS, 0, 0, OFFSET_ARCH);
	emit(e, BPF_JEQ_K, 1, 0, AUDIT_ARCH_X86_64);
	emit(e, BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS);
	emit(e, BPF_LD_W_ABS, 0, 0, OFFSET_NR);
	/* x32 calls share the arch value; kill them so they cannot bypass the rules. */
	emit(e, BPF_JGE_K, 0, 1, X32_SYSCALL_BIT);
	emit(e, BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS);
	emit_tree(e, rules, groups, ngroups, default_action);
	xfree(groups);
}

static int parse_flags(const struct json *list, unsigned *out)
{
	static const struct {
		const char *name;
		unsigned value;
	} flags[] = {
		{ "SECCOMP_FILTER_FLAG_TSYNC", 1 },
		{ "SECCOMP_FILTER_FLAG_LOG", 2 },
		{ "SECCOMP_FILTER_FLAG_SPEC_ALLOW", 4 },
	};
	char **names = NULL;
	size_t n = 0;

	if (cj_strings(list, "linux.seccomp.flags", &names, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		size_t k;
		for (k = 0; k < sizeof flags / sizeof flags[0]; k++)
			if (strcmp(names[i], flags[k].name) == 0)
				break;
		if (k == sizeof flags / sizeof flags[0])
			return config_error("linux.seccomp.flags", "unknown flag \"%s\"", names[i]);
		*out |= flags[k].value;
	}
	return 0;
}

int seccomp_compile(const struct json *seccomp, struct seccomp_program **out)
{
	const char *where = "linux.seccomp";
	struct seccomp_program *prog = xcalloc(1, sizeof *prog);
	struct emitter e = { prog, 0 };
	struct rules rules = { 0 };
	uint32_t default_action;
	char **arches = NULL;
	size_t narches = 0;

	if (cj_type(seccomp, JSON_OBJECT, where) < 0)
		return -1;
	if (parse_action(seccomp, "defaultAction", "defaultErrnoRet", where, &default_action) < 0)
		return -1;
	if (cj_strings(json_get(seccomp, "architectures"), "linux.seccomp.architectures", &arches,
		       &narches) < 0)
		return -1;
	for (size_t i = 0; i < narches; i++)
		if (strncmp(arches[i], "SCMP_ARCH_", 10) != 0)
			return config_error("linux.seccomp.architectures",
					    "unknown architecture \"%s\"", arches[i]);
	if (parse_flags(json_get(seccomp, "flags"), &prog->flags) < 0)
		return -1;
	if (parse_syscalls(json_get(seccomp, "syscalls"), default_action, &rules) < 0)
		return -1;
	if (rules.count) /* qsort(NULL, 0) is undefined */
		qsort(rules.items, rules.count, sizeof *rules.items, compare_rules);
	emit_program(&e, &rules, default_action);
	if (prog->count > BPF_MAXINSNS)
		return config_error(where,
				    "the filter needs %zu instructions, more than the "
				    "kernel's limit of %d",
				    prog->count, BPF_MAXINSNS);
	*out = prog;
	return 0;
}

struct sock_fprog_lk {
	unsigned short len;
	const struct bpf_insn_lk *filter;
};

int seccomp_install(const struct seccomp_program *program)
{
	struct sock_fprog_lk fprog = { (unsigned short)program->count, program->insns };

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, program->flags, &fprog) < 0)
		return fail("seccomp", "install filter: %s", strerror(errno));
	return 0;
}
