/* A small JSON reader: parses a whole document into a tree. Integers keep
 * their exact 64-bit value (seccomp arguments need every bit). */
#ifndef LK_JSON_H
#define LK_JSON_H

#include <stddef.h>
#include <stdint.h>

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
	enum json_type type;
	union {
		int boolean;
		struct {
			double value;
			int is_integer; /* no fraction or exponent, and fits in 64 bits */
			int negative;
			uint64_t magnitude;
		} number;
		struct {
			char *chars; /* NUL-terminated UTF-8; \u0000 is rejected */
			size_t len;
		} string;
		struct {
			struct json **items;
			size_t count;
		} array;
		struct {
			char **keys;
			struct json **values;
			size_t count;
		} object;
	} u;
};

/* Parses text; on failure records "<step>: line L column C: message". */
int json_parse(const char *step, const char *text, size_t len, struct json **out);

/* Member of an object by key, or NULL (also when obj is NULL or not an object). */
const struct json *json_get(const struct json *obj, const char *key);

const char *json_type_name(enum json_type type);

/* s as a JSON string literal ("null" for NULL), newly allocated. */
char *json_quote(const char *s);

#endif
