#include "mount_options.h"
#include "config_json.h"
#include "err.h"

#include <string.h>
#include <sys/mount.h>

#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
#define MOUNT_ATTR__ATIME 0x00000070
#define MOUNT_ATTR_RELATIME 0x00000000
#define MOUNT_ATTR_NOATIME 0x00000010
#define MOUNT_ATTR_STRICTATIME 0x00000020
#define MOUNT_ATTR_NODIRATIME 0x00000080
#define MOUNT_ATTR_NOSYMFOLLOW 0x00200000

struct flag_option {
	const char *name;
	int clear; /* 1: the option clears the flag */
	unsigned long flag;
};

static const struct flag_option flag_options[] = {
	{ "async", 1, MS_SYNCHRONOUS },
	{ "atime", 1, MS_NOATIME },
	{ "bind", 0, MS_BIND },
	{ "defaults", 0, 0 },
	{ "dev", 1, MS_NODEV },
	{ "diratime", 1, MS_NODIRATIME },
	{ "dirsync", 0, MS_DIRSYNC },
	{ "exec", 1, MS_NOEXEC },
	{ "iversion", 0, MS_I_VERSION },
	{ "lazytime", 0, MS_LAZYTIME },
	{ "loud", 1, MS_SILENT },
	{ "mand", 0, MS_MANDLOCK },
	{ "noatime", 0, MS_NOATIME },
	{ "nodev", 0, MS_NODEV },
	{ "nodiratime", 0, MS_NODIRATIME },
	{ "noexec", 0, MS_NOEXEC },
	{ "noiversion", 1, MS_I_VERSION },
	{ "nolazytime", 1, MS_LAZYTIME },
	{ "nomand", 1, MS_MANDLOCK },
	{ "norelatime", 1, MS_RELATIME },
	{ "nostrictatime", 1, MS_STRICTATIME },
	{ "nosuid", 0, MS_NOSUID },
	{ "nosymfollow", 0, MS_NOSYMFOLLOW },
	{ "rbind", 0, MS_BIND | MS_REC },
	{ "relatime", 0, MS_RELATIME },
	{ "remount", 0, MS_REMOUNT },
	{ "ro", 0, MS_RDONLY },
	{ "rw", 1, MS_RDONLY },
	{ "silent", 0, MS_SILENT },
	{ "strictatime", 0, MS_STRICTATIME },
	{ "suid", 1, MS_NOSUID },
	{ "sync", 0, MS_SYNCHRONOUS },
	{ "symfollow", 1, MS_NOSYMFOLLOW },
};

struct propagation_option {
	const char *name;
	unsigned long flags;
};

static const struct propagation_option propagation_options[] = {
	{ "private", MS_PRIVATE },       { "rprivate", MS_PRIVATE | MS_REC },
	{ "shared", MS_SHARED },         { "rshared", MS_SHARED | MS_REC },
	{ "slave", MS_SLAVE },           { "rslave", MS_SLAVE | MS_REC },
	{ "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
};

/* Recursive options, applied to the whole bind tree with mount_setattr(2). */
struct attr_option {
	const char *name;
	int clear;
	uint64_t attr;
};

static const struct attr_option attr_options[] = {
	{ "rro", 0, MOUNT_ATTR_RDONLY },
	{ "rrw", 1, MOUNT_ATTR_RDONLY },
	{ "rnosuid", 0, MOUNT_ATTR_NOSUID },
	{ "rsuid", 1, MOUNT_ATTR_NOSUID },
	{ "rnodev", 0, MOUNT_ATTR_NODEV },
	{ "rdev", 1, MOUNT_ATTR_NODEV },
	{ "rnoexec", 0, MOUNT_ATTR_NOEXEC },
	{ "rexec", 1, MOUNT_ATTR_NOEXEC },
	{ "rnodiratime", 0, MOUNT_ATTR_NODIRATIME },
	{ "rdiratime", 1, MOUNT_ATTR_NODIRATIME },
	{ "rnosymfollow", 0, MOUNT_ATTR_NOSYMFOLLOW },
	{ "rsymfollow", 1, MOUNT_ATTR_NOSYMFOLLOW },
};

/* The atime options set one value of a field rather than a bit. */
static const struct attr_option atime_options[] = {
	{ "rrelatime", 0, MOUNT_ATTR_RELATIME },
	{ "rnorelatime", 1, MOUNT_ATTR_RELATIME },
	{ "rnoatime", 0, MOUNT_ATTR_NOATIME },
	{ "ratime", 1, MOUNT_ATTR_NOATIME },
	{ "rstrictatime", 0, MOUNT_ATTR_STRICTATIME },
	{ "rnostrictatime", 1, MOUNT_ATTR_STRICTATIME },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

unsigned long mount_propagation_flags(const char *word)
{
	for (size_t i = 0; i < COUNT(propagation_options); i++)
		if (strcmp(word, propagation_options[i].name) == 0)
			return propagation_options[i].flags;
	return 0;
}

static void append_data(struct mount_spec *m, const char *word)
{
	if (!m->data) {
		m->data = xstrdup(word);
		return;
	}
	char *joined = xasprintf("%s,%s", m->data, word);
	m->data = joined;
}

static int parse_word(const char *word, struct mount_spec *m, const char *where)
{
	unsigned long propagation;

	for (size_t i = 0; i < COUNT(flag_options); i++) {
		const struct flag_option *o = &flag_options[i];
		if (strcmp(word, o->name) != 0)
			continue;
		if (o->clear) {
			m->flags &= ~o->flag;
			m->clear |= o->flag;
		} else {
			m->flags |= o->flag;
			m->clear &= ~o->flag;
		}
		if (o->flag & MS_BIND)
			m->bind = 1;
		return 0;
	}
	propagation = mount_propagation_flags(word);
	if (propagation) {
		m->propagation = propagation;
		return 0;
	}
	for (size_t i = 0; i < COUNT(attr_options); i++) {
		const struct attr_option *o = &attr_options[i];
		if (strcmp(word, o->name) != 0)
			continue;
		if (o->clear) {
			m->attr_set &= ~o->attr;
			m->attr_clear |= o->attr;
		} else {
			m->attr_set |= o->attr;
			m->attr_clear &= ~o->attr;
		}
		return 0;
	}
	for (size_t i = 0; i < COUNT(atime_options); i++) {
		const struct attr_option *o = &atime_options[i];
		if (strcmp(word, o->name) != 0)
			continue;
		m->attr_clear |= MOUNT_ATTR__ATIME;
		m->attr_set &= ~(uint64_t)MOUNT_ATTR__ATIME;
		if (!o->clear)
			m->attr_set |= o->attr;
		return 0;
	}
	if (strcmp(word, "idmap") == 0 || strcmp(word, "ridmap") == 0)
		return config_error(where, "mount option \"%s\" is not supported", word);
	/* A runc extension for copying image content into a tmpfs; not needed here. */
	if (strcmp(word, "tmpcopyup") == 0)
		return 0;
	if (!*word)
		return config_error(where, "empty mount option");
	append_data(m, word);
	return 0;
}

int mount_options_parse(char **options, size_t count, struct mount_spec *m, const char *where)
{
	for (size_t i = 0; i < count; i++)
		if (parse_word(options[i], m, where) < 0)
			return -1;
	return 0;
}
