/* lk-run features: the runtime-spec features.json (features.md,
 * features-linux.md). Each list is what lk-run's own parsers accept: every
 * name the spec defines is tried on them, so the answer cannot drift from the
 * code. As the spec asks, this describes the build, not the host. */
#include "caps.h"
#include "cmd.h"
#include "err.h"
#include "json.h"
#include "mount_options.h"
#include "seccomp.h"
#include "spec.h"

#include <stdio.h>
#include <string.h>

/* The spec's vocabularies (schema/defs-linux.json, features.md). */
static const char *const namespace_types[] = { "cgroup", "ipc",  "mount", "network",
					       "pid",    "time", "user",  "uts",     NULL };
static const char *const seccomp_actions[] = {
	"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
	"SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE",
	"SCMP_ACT_TRAP", NULL
};
static const char *const seccomp_operators[] = {
	"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
	"SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE", NULL
};
static const char *const seccomp_archs[] = {
	"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",
	"SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
	"SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64",
	"SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_RISCV64",
	"SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB", "SCMP_ARCH_X32",
	"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", NULL
};
static const char *const seccomp_flags[] = {
	"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC",
	"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL
};
static const char *const mount_words[] = {
	"acl", "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec",
	"iversion", "lazytime", "loud", "mand", "noacl", "noatime", "nodev", "nodiratime",
	"noexec", "noiversion", "nolazytime", "nomand", "norelatime", "nostrictatime", "nosuid",
	"nosymfollow", "private", "ratime", "rbind", "rdev", "rdiratime", "relatime", "remount",
	"rexec", "rnoatime", "rnodev", "rnodiratime", "rnoexec", "rnorelatime", "rnostrictatime",
	"rnosuid", "rnosymfollow", "ro", "rprivate", "rrelatime", "rro", "rrw", "rshared",
	"rslave", "rstrictatime", "rsuid", "rsymfollow", "runbindable", "rw", "shared", "silent",
	"slave", "strictatime", "suid", "symfollow", "sync", "tmpcopyup", "unbindable", NULL
};
/* Run by spec.c's hooks support (config.md's POSIX hooks). */
static const char *const hook_names[] = { "prestart",        "createRuntime", "createContainer",
					  "startContainer", "poststart",     "poststop",
					  NULL };

typedef int (*probe_fn)(const char *name);

static int config_accepts(const char *linux_section)
{
	char *text = xasprintf("{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"/bin/true\"],"
			       "\"cwd\":\"/\"},\"root\":{\"path\":\"rootfs\"},\"linux\":%s}",
			       linux_section);
	struct spec spec;

	memset(&spec, 0, sizeof spec);
	spec.umask = -1;
	spec.bundle = xstrdup("/features");
	return spec_parse(text, strlen(text), "features", "features", &spec) == 0;
}

static int namespace_ok(const char *name)
{
	/* A new user namespace needs mappings; the others ignore them. */
	return config_accepts(
		xasprintf("{\"namespaces\":[{\"type\":\"%s\"}],"
			  "\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}],"
			  "\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]}",
			  name));
}

static int seccomp_accepts(const char *text)
{
	struct json *doc;
	struct seccomp_program *prog;

	return json_parse("features", text, strlen(text), &doc) == 0 &&
	       seccomp_compile(doc, &prog) == 0;
}

static int action_ok(const char *name)
{
	return seccomp_accepts(xasprintf("{\"defaultAction\":\"%s\"}", name));
}

static int operator_ok(const char *name)
{
	return seccomp_accepts(xasprintf(
		"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
		"\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,\"valueTwo\":1,"
		"\"op\":\"%s\"}]}]}",
		name));
}

static int arch_ok(const char *name)
{
	return seccomp_accepts(
		xasprintf("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"%s\"]}", name));
}

static int flag_ok(const char *name)
{
	return seccomp_accepts(
		xasprintf("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"%s\"]}", name));
}

static int mount_option_ok(const char *name)
{
	struct mount_spec m;
	char *words[] = { (char *)name, NULL };

	memset(&m, 0, sizeof m);
	/* A word lk-run does not know goes to the filesystem as data: not "recognized". */
	return mount_options_parse(words, 1, &m, "features") == 0 && (!m.data || !*m.data);
}

static int yes(const char *name)
{
	(void)name;
	return 1;
}

static void print_list(const char *indent, const char *key, const char *const *names,
		       probe_fn ok, const char *end)
{
	int first = 1;

	printf("%s\"%s\": [", indent, key);
	for (size_t i = 0; names[i]; i++) {
		if (!ok(names[i]))
			continue;
		printf("%s\n%s  \"%s\"", first ? "" : ",", indent, names[i]);
		first = 0;
	}
	printf("\n%s]%s\n", indent, end);
}

static void print_capabilities(void)
{
	const char *names[65], *name;
	size_t n = 0;

	for (int cap = 0; cap < 64 && (name = cap_name_of(cap)); cap++)
		names[n++] = name;
	names[n] = NULL;
	print_list("    ", "capabilities", names, yes, ",");
}

int cmd_features(int argc, char **argv)
{
	if (argc) {
		fail("usage", "features: unexpected argument %s", argv[0]);
		return 2;
	}
	printf("{\n  \"ociVersionMin\": \"1.0.0\",\n  \"ociVersionMax\": \"1.2.1\",\n");
	print_list("  ", "hooks", hook_names, yes, ",");
	print_list("  ", "mountOptions", mount_words, mount_option_ok, ",");
	printf("  \"linux\": {\n");
	print_list("    ", "namespaces", namespace_types, namespace_ok, ",");
	print_capabilities();
	printf("    \"cgroup\": {\n      \"v1\": false,\n      \"v2\": true,\n      \"systemd\": false,\n"
	       "      \"systemdUser\": false,\n      \"rdma\": true\n    },\n");
	printf("    \"seccomp\": {\n      \"enabled\": true,\n");
	print_list("      ", "actions", seccomp_actions, action_ok, ",");
	print_list("      ", "operators", seccomp_operators, operator_ok, ",");
	print_list("      ", "archs", seccomp_archs, arch_ok, ",");
	print_list("      ", "knownFlags", seccomp_flags, flag_ok, ",");
	print_list("      ", "supportedFlags", seccomp_flags, flag_ok, "");
	printf("    },\n    \"apparmor\": {\n      \"enabled\": false\n    },\n"
	       "    \"selinux\": {\n      \"enabled\": false\n    },\n"
	       "    \"intelRdt\": {\n      \"enabled\": false\n    }\n  },\n");
	/* The filter itself is compiled for x86_64; calls of the other x86 ABIs are killed. */
	printf("  \"annotations\": {\n    \"org.lkbuild.lk-run.seccomp.filtered-arch\": "
	       "\"SCMP_ARCH_X86_64\"\n  }\n}\n");
	lk_err[0] = '\0';
	return 0;
}
