/* libFuzzer target for lk-run's config reader: JSON parsing and every
 * section of config.json (mounts, capabilities, seccomp compilation, cgroup
 * resources, device rules, sysctl, ...). Built with ASan and UBSan by
 * `make -C lk-run fuzz`; allocations are freed between inputs (LK_FUZZ). */
#include "../err.h"
#include "../spec.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xmalloc(size + 1);
	struct spec spec;

	memcpy(text, data, size);
	text[size] = '\0';
	memset(&spec, 0, sizeof spec);
	spec.umask = -1;
	spec.bundle = xstrdup("/bundle");
	lk_err[0] = '\0';
	spec_parse(text, size, "fuzz", "fuzz-id", &spec);
	lk_arena_free();
	return 0;
}
