#include "config_json.h"
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

int config_error(const char *where, const char *fmt, ...)
{
	char detail[LK_ERR_MAX / 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	return fail("config", "%s: %s", where, detail);
}

int cj_type(const struct json *v, enum json_type type, const char *where)
{
	if (!v)
		return 0;
	if (v->type != type)
		return config_error(where, "expected %s, got %s", json_type_name(type),
				    json_type_name(v->type));
	return 1;
}

int cj_string(const struct json *v, const char *where, char **out)
{
	int r = cj_type(v, JSON_STRING, where);

	if (r > 0)
		*out = v->u.string.chars;
	return r;
}

int cj_bool(const struct json *v, const char *where, int *out)
{
	int r = cj_type(v, JSON_BOOL, where);

	if (r > 0)
		*out = v->u.boolean;
	return r;
}

int cj_int64(const struct json *v, const char *where, int64_t min, int64_t max, int64_t *out)
{
	int r = cj_type(v, JSON_NUMBER, where);
	int64_t value;

	if (r <= 0)
		return r;
	if (!v->u.number.is_integer)
		return config_error(where, "expected an integer");
	if (v->u.number.negative) {
		if (v->u.number.magnitude > (uint64_t)INT64_MAX + 1)
			return config_error(where, "out of range");
		value = (int64_t)(0 - v->u.number.magnitude);
	} else {
		if (v->u.number.magnitude > (uint64_t)INT64_MAX)
			return config_error(where, "out of range");
		value = (int64_t)v->u.number.magnitude;
	}
	if (value < min || value > max)
		return config_error(where, "%lld is out of range [%lld, %lld]", (long long)value,
				    (long long)min, (long long)max);
	*out = value;
	return 1;
}

int cj_uint64(const struct json *v, const char *where, uint64_t *out)
{
	int r = cj_type(v, JSON_NUMBER, where);

	if (r <= 0)
		return r;
	if (!v->u.number.is_integer || v->u.number.negative)
		return config_error(where, "expected a non-negative integer");
	*out = v->u.number.magnitude;
	return 1;
}

int cj_uint32(const struct json *v, const char *where, uint32_t *out)
{
	uint64_t value = 0;
	int r = cj_uint64(v, where, &value);

	if (r <= 0)
		return r;
	if (value > UINT32_MAX)
		return config_error(where, "out of range");
	*out = (uint32_t)value;
	return 1;
}

int cj_strings(const struct json *v, const char *where, char ***out, size_t *count)
{
	int r = cj_type(v, JSON_ARRAY, where);
	char **vec;

	if (r <= 0)
		return r;
	vec = xcalloc(v->u.array.count + 1, sizeof *vec);
	for (size_t i = 0; i < v->u.array.count; i++) {
		const struct json *item = v->u.array.items[i];
		if (item->type != JSON_STRING)
			return config_error(where, "item %zu: expected string, got %s", i,
					    json_type_name(item->type));
		vec[i] = item->u.string.chars;
	}
	*out = vec;
	if (count)
		*count = v->u.array.count;
	return 1;
}
