#include "json.h"
#include "err.h"

#include <stdio.h>
#include <string.h>

#define JSON_MAX_DEPTH 64

struct parser {
	const char *step;
	const char *text;
	size_t len;
	size_t pos;
};

static int parse_value(struct parser *p, struct json **out, int depth);

static int syntax_error(struct parser *p, const char *what)
{
	size_t line = 1, column = 1;

	for (size_t i = 0; i < p->pos && i < p->len; i++) {
		if (p->text[i] == '\n') {
			line++;
			column = 1;
		} else {
			column++;
		}
	}
	return fail(p->step, "line %zu column %zu: %s", line, column, what);
}

static void skip_space(struct parser *p)
{
	while (p->pos < p->len) {
		char c = p->text[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static int peek(struct parser *p)
{
	return p->pos < p->len ? (unsigned char)p->text[p->pos] : -1;
}

static int expect_word(struct parser *p, const char *word)
{
	size_t n = strlen(word);

	if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n) != 0)
		return syntax_error(p, "invalid literal");
	p->pos += n;
	return 0;
}

static struct json *new_node(enum json_type type)
{
	struct json *node = xcalloc(1, sizeof *node);

	node->type = type;
	return node;
}

static int hex4(struct parser *p, unsigned *out)
{
	unsigned v = 0;

	if (p->len - p->pos < 4)
		return syntax_error(p, "truncated \\u escape");
	for (int i = 0; i < 4; i++) {
		char c = p->text[p->pos++];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return syntax_error(p, "invalid \\u escape");
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *dst, unsigned cp)
{
	if (cp < 0x80) {
		dst[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		dst[0] = (char)(0xc0 | (cp >> 6));
		dst[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		dst[0] = (char)(0xe0 | (cp >> 12));
		dst[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		dst[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	dst[0] = (char)(0xf0 | (cp >> 18));
	dst[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	dst[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	dst[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static int parse_escape(struct parser *p, char *dst, size_t *written)
{
	char c = p->text[p->pos++];
	unsigned cp, low;

	switch (c) {
	case '"':
	case '\\':
	case '/':
		*dst = c;
		*written = 1;
		return 0;
	case 'b':
		*dst = '\b';
		*written = 1;
		return 0;
	case 'f':
		*dst = '\f';
		*written = 1;
		return 0;
	case 'n':
		*dst = '\n';
		*written = 1;
		return 0;
	case 'r':
		*dst = '\r';
		*written = 1;
		return 0;
	case 't':
		*dst = '\t';
		*written = 1;
		return 0;
	case 'u':
		break;
	default:
		p->pos--;
		return syntax_error(p, "invalid escape");
	}
	if (hex4(p, &cp) < 0)
		return -1;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (p->len - p->pos < 2 || p->text[p->pos] != '\\' || p->text[p->pos + 1] != 'u')
			return syntax_error(p, "unpaired surrogate");
		p->pos += 2;
		if (hex4(p, &low) < 0)
			return -1;
		if (low < 0xdc00 || low > 0xdfff)
			return syntax_error(p, "unpaired surrogate");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
	} else if (cp >= 0xdc00 && cp <= 0xdfff) {
		return syntax_error(p, "unpaired surrogate");
	}
	if (cp == 0)
		return syntax_error(p, "\\u0000 is not supported");
	*written = put_utf8(dst, cp);
	return 0;
}

static int parse_string(struct parser *p, char **out, size_t *out_len)
{
	size_t start = ++p->pos, cap, n = 0;
	char *buf;

	/* Escapes never expand beyond their own length, so the raw span bounds the result. */
	while (p->pos < p->len && p->text[p->pos] != '"') {
		if (p->text[p->pos] == '\\')
			p->pos++;
		p->pos++;
	}
	if (p->pos >= p->len)
		return syntax_error(p, "unterminated string");
	cap = p->pos - start + 1;
	buf = xmalloc(cap);
	p->pos = start;
	while (p->text[p->pos] != '"') {
		unsigned char c = (unsigned char)p->text[p->pos];
		if (c < 0x20)
			return syntax_error(p, "control character in string");
		if (c == '\\') {
			size_t w = 0;
			p->pos++;
			if (parse_escape(p, buf + n, &w) < 0)
				return -1;
			n += w;
		} else {
			buf[n++] = (char)c;
			p->pos++;
		}
	}
	p->pos++;
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	return 0;
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int parse_number(struct parser *p, struct json **out)
{
	struct json *node = new_node(JSON_NUMBER);
	int negative = 0, integer = 1, overflow = 0;
	uint64_t magnitude = 0;
	double value = 0, scale;
	int exp_sign = 1;
	long exponent = 0;

	if (peek(p) == '-') {
		negative = 1;
		p->pos++;
	}
	if (!is_digit(peek(p)))
		return syntax_error(p, "invalid number");
	if (peek(p) == '0' && p->pos + 1 < p->len && is_digit(p->text[p->pos + 1]))
		return syntax_error(p, "leading zero in number");
	while (is_digit(peek(p))) {
		unsigned d = (unsigned)(p->text[p->pos++] - '0');
		if (magnitude > (UINT64_MAX - d) / 10)
			overflow = 1;
		else
			magnitude = magnitude * 10 + d;
		value = value * 10 + d;
	}
	if (peek(p) == '.') {
		integer = 0;
		p->pos++;
		if (!is_digit(peek(p)))
			return syntax_error(p, "invalid number");
		scale = 0.1;
		while (is_digit(peek(p))) {
			value += (p->text[p->pos++] - '0') * scale;
			scale /= 10;
		}
	}
	if (peek(p) == 'e' || peek(p) == 'E') {
		integer = 0;
		p->pos++;
		if (peek(p) == '+' || peek(p) == '-')
			exp_sign = p->text[p->pos++] == '-' ? -1 : 1;
		if (!is_digit(peek(p)))
			return syntax_error(p, "invalid number");
		while (is_digit(peek(p))) {
			if (exponent < 10000)
				exponent = exponent * 10 + (p->text[p->pos] - '0');
			p->pos++;
		}
		/* Stops once the value is 0 or infinite: a few hundred steps at most,
		 * so a long run of 1e99999 costs linear time. */
		for (long i = 0; i < exponent && value != 0 && value - value == 0; i++)
			value = exp_sign > 0 ? value * 10 : value / 10;
	}
	node->u.number.value = negative ? -value : value;
	node->u.number.is_integer = integer && !overflow;
	node->u.number.negative = negative && magnitude != 0;
	node->u.number.magnitude = magnitude;
	*out = node;
	return 0;
}

static int parse_array(struct parser *p, struct json **out, int depth)
{
	struct json *node = new_node(JSON_ARRAY);
	size_t cap = 0;

	p->pos++;
	skip_space(p);
	if (peek(p) == ']') {
		p->pos++;
		*out = node;
		return 0;
	}
	for (;;) {
		struct json *item;
		if (parse_value(p, &item, depth + 1) < 0)
			return -1;
		if (node->u.array.count == cap) {
			cap = cap ? cap * 2 : 4;
			node->u.array.items = xrealloc(node->u.array.items, cap * sizeof item);
		}
		node->u.array.items[node->u.array.count++] = item;
		skip_space(p);
		if (peek(p) == ',') {
			p->pos++;
			continue;
		}
		if (peek(p) == ']') {
			p->pos++;
			break;
		}
		return syntax_error(p, "expected ',' or ']'");
	}
	*out = node;
	return 0;
}

static int parse_object(struct parser *p, struct json **out, int depth)
{
	struct json *node = new_node(JSON_OBJECT);
	size_t cap = 0;

	p->pos++;
	skip_space(p);
	if (peek(p) == '}') {
		p->pos++;
		*out = node;
		return 0;
	}
	for (;;) {
		char *key;
		size_t key_len;
		struct json *value;

		skip_space(p);
		if (peek(p) != '"')
			return syntax_error(p, "expected a string key");
		if (parse_string(p, &key, &key_len) < 0)
			return -1;
		skip_space(p);
		if (peek(p) != ':')
			return syntax_error(p, "expected ':'");
		p->pos++;
		if (parse_value(p, &value, depth + 1) < 0)
			return -1;
		if (node->u.object.count == cap) {
			cap = cap ? cap * 2 : 8;
			node->u.object.keys = xrealloc(node->u.object.keys, cap * sizeof key);
			node->u.object.values = xrealloc(node->u.object.values, cap * sizeof value);
		}
		node->u.object.keys[node->u.object.count] = key;
		node->u.object.values[node->u.object.count++] = value;
		skip_space(p);
		if (peek(p) == ',') {
			p->pos++;
			continue;
		}
		if (peek(p) == '}') {
			p->pos++;
			break;
		}
		return syntax_error(p, "expected ',' or '}'");
	}
	*out = node;
	return 0;
}

static int parse_value(struct parser *p, struct json **out, int depth)
{
	struct json *node;

	if (depth > JSON_MAX_DEPTH)
		return syntax_error(p, "nesting too deep");
	skip_space(p);
	switch (peek(p)) {
	case '{':
		return parse_object(p, out, depth);
	case '[':
		return parse_array(p, out, depth);
	case '"':
		node = new_node(JSON_STRING);
		if (parse_string(p, &node->u.string.chars, &node->u.string.len) < 0)
			return -1;
		*out = node;
		return 0;
	case 't':
	case 'f':
		node = new_node(JSON_BOOL);
		node->u.boolean = peek(p) == 't';
		if (expect_word(p, node->u.boolean ? "true" : "false") < 0)
			return -1;
		*out = node;
		return 0;
	case 'n':
		if (expect_word(p, "null") < 0)
			return -1;
		*out = new_node(JSON_NULL);
		return 0;
	case -1:
		return syntax_error(p, "unexpected end of input");
	default:
		if (peek(p) == '-' || is_digit(peek(p)))
			return parse_number(p, out);
		return syntax_error(p, "unexpected character");
	}
}

int json_parse(const char *step, const char *text, size_t len, struct json **out)
{
	struct parser p = { step, text, len, 0 };

	if (parse_value(&p, out, 0) < 0)
		return -1;
	skip_space(&p);
	if (p.pos != p.len)
		return syntax_error(&p, "trailing characters after the document");
	return 0;
}

const struct json *json_get(const struct json *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	/* Last duplicate wins, as in most JSON readers. */
	for (size_t i = obj->u.object.count; i-- > 0;)
		if (strcmp(obj->u.object.keys[i], key) == 0)
			return obj->u.object.values[i];
	return NULL;
}

const char *json_type_name(enum json_type type)
{
	static const char *const names[] = { "null",   "boolean", "number",
					     "string", "array",   "object" };

	return names[type];
}

/* A JSON string literal for s (or null). */
char *json_quote(const char *s)
{
	char *out, *o;

	if (!s)
		return xstrdup("null");
	out = o = xmalloc(strlen(s) * 6 + 3);
	*o++ = '"';
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\') {
			*o++ = '\\';
			*o++ = (char)*c;
		} else if (*c < 0x20) {
			o += sprintf(o, "\\u%04x", *c);
		} else {
			*o++ = (char)*c;
		}
	}
	*o++ = '"';
	*o = '\0';
	return out;
}
