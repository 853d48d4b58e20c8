#include "process.h"
#include "caps.h"
#include "config_json.h"
#include "err.h"
#include "seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

int process_parse_personality(const struct json *obj, struct spec *s)
{
	const struct json *flags = json_get(obj, "flags");
	char *domain = NULL;

	if (cj_type(obj, JSON_OBJECT, "linux.personality") <= 0)
		return obj ? -1 : 0;
	if (cj_string(json_get(obj, "domain"), "linux.personality.domain", &domain) < 0 ||
	    cj_type(flags, JSON_ARRAY, "linux.personality.flags") < 0)
		return -1;
	if (!domain)
		return config_error("linux.personality", "missing domain");
	if (strcmp(domain, "LINUX") == 0)
		s->personality = PER_LINUX;
	else if (strcmp(domain, "LINUX32") == 0)
		s->personality = PER_LINUX32;
	else
		return config_error("linux.personality.domain",
				    "unknown domain \"%s\" (LINUX or LINUX32)", domain);
	if (flags && flags->u.array.count)
		return config_error("linux.personality.flags", "no flag is supported");
	s->has_personality = 1;
	return 0;
}

int process_set_oom_score_adj(const struct spec *s)
{
	const char *path = "/proc/self/oom_score_adj";
	char buf[16];
	int fd, len;

	if (!s->has_oom_score_adj)
		return 0;
	len = snprintf(buf, sizeof buf, "%d", s->oom_score_adj);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fail_errno("oomScoreAdj", path);
	if (write(fd, buf, (size_t)len) != len) {
		fail_errno("oomScoreAdj", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int process_prepare(const struct spec *s)
{
	/* Before seccomp: a profile may allow personality(2) for few personas. */
	if (s->has_personality && personality(s->personality) < 0)
		return fail("linux.personality", "%s", strerror(errno));
	for (size_t i = 0; i < s->nrlimits; i++) {
		struct rlimit rl = { (rlim_t)s->rlimits[i].soft, (rlim_t)s->rlimits[i].hard };
		if (setrlimit(s->rlimits[i].resource, &rl) < 0)
			return fail("rlimits", "%s: %s", s->rlimits[i].name, strerror(errno));
	}
	if (s->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail("noNewPrivileges", "prctl: %s", strerror(errno));
	if (s->seccomp && !s->no_new_privileges && seccomp_install(s->seccomp) < 0)
		return -1;
	return 0;
}

int process_become_user(const struct spec *s)
{
	if (caps_drop_bounding(&s->caps) < 0)
		return -1;
	/* Keep the permitted set across the uid change; caps_apply trims it. */
	if (s->caps.present && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return fail("user", "keepcaps: %s", strerror(errno));
	if (setgroups(s->n_additional_gids, s->additional_gids) < 0 &&
	    !(errno == EPERM && s->n_additional_gids == 0))
		return fail("user", "setgroups: %s", strerror(errno));
	if (setresgid(s->gid, s->gid, s->gid) < 0)
		return fail("user", "setgid %u: %s", (unsigned)s->gid, strerror(errno));
	if (setresuid(s->uid, s->uid, s->uid) < 0)
		return fail("user", "setuid %u: %s", (unsigned)s->uid, strerror(errno));
	if (s->caps.present && prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return fail("user", "keepcaps: %s", strerror(errno));
	return caps_apply(&s->caps);
}

static const char *env_lookup(char **env, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; env[i]; i++)
		if (strncmp(env[i], name, len) == 0 && env[i][len] == '=')
			return env[i] + len + 1;
	return NULL;
}

static int exec_failed(const char *program, int *exit_code)
{
	*exit_code = errno == ENOENT ? 127 : 126;
	return fail_errno("exec", program);
}

/* execvpe with the container's PATH rather than ours. */
static int exec_program(const struct spec *s, int *exit_code)
{
	const char *program = s->args[0];
	const char *path = env_lookup(s->env, "PATH");
	int saw_eacces = 0;

	if (strchr(program, '/')) {
		execve(program, s->args, s->env);
		return exec_failed(program, exit_code);
	}
	if (!path)
		path = DEFAULT_PATH;
	while (*path) {
		char candidate[PATH_MAX];
		size_t n = strcspn(path, ":");
		int len = snprintf(candidate, sizeof candidate, "%.*s%s%s", (int)n, path,
				   n ? "/" : "", program);
		path += n + (path[n] == ':');
		if (len < 0 || (size_t)len >= sizeof candidate)
			continue;
		execve(candidate, s->args, s->env);
		if (errno == EACCES)
			saw_eacces = 1;
		else if (errno != ENOENT && errno != ENOTDIR)
			return exec_failed(candidate, exit_code);
	}
	errno = saw_eacces ? EACCES : ENOENT;
	return exec_failed(program, exit_code);
}

int process_exec(const struct spec *s, int *exit_code)
{
	*exit_code = LK_EXIT_SETUP;
	umask(s->umask >= 0 ? (mode_t)s->umask : 022);
	if (chdir(s->cwd) < 0)
		return fail_errno("cwd", s->cwd);
	if (s->seccomp && s->no_new_privileges && seccomp_install(s->seccomp) < 0)
		return -1;
	return exec_program(s, exit_code);
}
