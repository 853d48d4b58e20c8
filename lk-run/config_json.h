/* Typed access to config.json values. Each getter names the field by its
 * JSON path in the error, e.g. "config: process.user.uid: expected number". */
#ifndef LK_CONFIG_JSON_H
#define LK_CONFIG_JSON_H

#include <stdint.h>

#include "json.h"

/* Records "config: <where>: <detail>"; returns -1. */
int config_error(const char *where, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* All getters return 0 when the value is absent (out untouched), 1 when
 * present and valid, -1 on a wrong type or range. */
int cj_type(const struct json *v, enum json_type type, const char *where);
int cj_string(const struct json *v, const char *where, char **out);
int cj_bool(const struct json *v, const char *where, int *out);
int cj_int64(const struct json *v, const char *where, int64_t min, int64_t max, int64_t *out);
int cj_uint64(const struct json *v, const char *where, uint64_t *out);
int cj_uint32(const struct json *v, const char *where, uint32_t *out);
/* An array of strings as a NULL-terminated vector. */
int cj_strings(const struct json *v, const char *where, char ***out, size_t *count);

#endif
