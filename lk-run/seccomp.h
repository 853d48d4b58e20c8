/* Compiles the OCI seccomp section to a classic BPF program (x86_64) and
 * installs it. */
#ifndef LK_SECCOMP_H
#define LK_SECCOMP_H

#include "spec.h"

struct json;

int seccomp_compile(const struct json *seccomp, struct seccomp_program **out);
int seccomp_install(const struct seccomp_program *program);

#endif
