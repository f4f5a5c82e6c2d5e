/*
 * The strict, non-allocating JSON scanner (json_scan.h). One recursive
 * descent validates the text and records each value as a node. The
 * accessors below read nodes of a validated document only, so they need no
 * error paths of their own.
 *
 * The scanning functions take the read position p and return the position
 * after what they consumed, or NULL after recording the error. Passing p
 * by value keeps it in a register.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_scan.h"

struct scanner {
	const unsigned char *text, *end;
	struct hu_json_node *nodes;
	size_t count;
	size_t values;               /* counted as hu_json_within_bounds() does */
	int depth;
	struct hu_json_error *error;
};

/* Error paths and rare escapes are kept out of line, so that the hot loops
 * stay small enough to inline. */
#define COLD __attribute__((cold, noinline))

static COLD const unsigned char *fail(struct scanner *s, const unsigned char *p,
    const char *message)
{
	s->error->offset = (size_t)(p - s->text);
	s->error->message = message;
	s->error->over_bounds = 0;
	return NULL;
}

static COLD const unsigned char *fail_bounds(struct scanner *s,
    const unsigned char *p, const char *message)
{
	fail(s, p, message);
	s->error->over_bounds = 1;
	return NULL;
}

static inline const unsigned char *skip_space(const unsigned char *p,
    const unsigned char *end)
{
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	return p;
}

static int hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads the 4 hex digits at p. Returns the code unit or -1. */
static long read_hex4(const unsigned char *p, const unsigned char *end)
{
	long value = 0;
	int i, digit;

	if (end - p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		digit = hex_digit(p[i]);
		if (digit < 0)
			return -1;
		value = value << 4 | digit;
	}
	return value;
}

/* Checks the escape whose backslash is at p. */
static COLD const unsigned char *scan_escape(struct scanner *s,
    const unsigned char *p)
{
	long unit, low;

	p++;
	if (p == s->end)
		return fail(s, p, "unterminated string");
	switch (*p) {
	case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
		return p + 1;
	case 'u':
		break;
	default:
		return fail(s, p, "invalid escape");
	}

	unit = read_hex4(p + 1, s->end);
	if (unit < 0)
		return fail(s, p, "invalid \\u escape");
	if (unit == 0)
		return fail(s, p, "\\u0000 is not allowed");
	if (unit >= 0xdc00 && unit <= 0xdfff)
		return fail(s, p, "lone low surrogate");
	p += 5;
	if (unit >= 0xd800 && unit <= 0xdbff) {
		if (s->end - p < 6 || p[0] != '\\' || p[1] != 'u')
			return fail(s, p, "lone high surrogate");
		low = read_hex4(p + 2, s->end);
		if (low < 0xdc00 || low > 0xdfff)
			return fail(s, p, "lone high surrogate");
		p += 6;
	}
	return p;
}

/* Checks one UTF-8 sequence of 2 to 4 bytes at p (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF). */
static COLD const unsigned char *scan_utf8(struct scanner *s,
    const unsigned char *p)
{
	size_t left = (size_t)(s->end - p), need, i;
	unsigned char c = p[0], low = 0x80, high = 0xbf;

	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		if (c == 0xe0)
			low = 0xa0;
		else if (c == 0xed)
			high = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		if (c == 0xf0)
			low = 0x90;
		else if (c == 0xf4)
			high = 0x8f;
	} else {
		return fail(s, p, "invalid UTF-8");
	}
	if (left <= need || p[1] < low || p[1] > high)
		return fail(s, p, "invalid UTF-8");
	for (i = 2; i <= need; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return fail(s, p, "invalid UTF-8");
	return p + need + 1;
}

/* 1 for the bytes a string may contain as they are: printable ASCII other
 * than '"' and '\\'. */
static const unsigned char plain_string_byte[256] = {
#define ROW16(x) x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x
	ROW16(0), ROW16(0),
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  /* 0x20: '"' */
	ROW16(1), ROW16(1),
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,  /* 0x50: '\\' */
	ROW16(1), ROW16(1),
	ROW16(0), ROW16(0), ROW16(0), ROW16(0),
	ROW16(0), ROW16(0), ROW16(0), ROW16(0),
#undef ROW16
};

/* Scans a string whose opening quote is at p. Stores the span between the
 * quotes and sets *escaped when it contains a backslash. */
static inline const unsigned char *scan_string(struct scanner *s,
    const unsigned char *p, uint16_t *offset, uint16_t *len, int *escaped)
{
	const unsigned char *start, *end = s->end;

	if (++s->values > HU_MAX_JSON_VALUES)
		return fail_bounds(s, p, "more values than allowed");
	start = ++p;
	*escaped = 0;
	for (;;) {
		while (p < end && plain_string_byte[*p])
			p++;
		if (p == end)
			return fail(s, p, "unterminated string");
		if (*p == '"')
			break;
		if (*p < 0x20)
			return fail(s, p, "control character in a string");
		if (*p == '\\') {
			*escaped = 1;
			p = scan_escape(s, p);
		} else if (*p < 0x80) {
			p++; /* 0x7f, which JSON allows as it is */
		} else {
			p = scan_utf8(s, p);
		}
		if (p == NULL)
			return NULL;
	}
	*offset = (uint16_t)(start - s->text);
	*len = (uint16_t)(p - start);
	return p + 1;
}

/*
 * Returns nonzero when the real number text[0..len), already checked
 * against the JSON grammar, is beyond the double range, where strtod()
 * returns HUGE_VAL and jansson rejects the document.
 */
static int real_overflows(const unsigned char *text, size_t len);

static const unsigned char *skip_digits(const unsigned char *p,
    const unsigned char *end)
{
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p;
}

/* Returns 1 when the digits of an integer (after any '-') exceed int64_t,
 * whose range jansson requires. */
static int integer_too_big(const unsigned char *digits, size_t count,
    int negative)
{
	static const char max_digits[] = "9223372036854775807";
	int last;

	/* 18 digits always fit and 20 never do; 19 compare with the limit. */
	if (count != 19)
		return count > 19;
	if (memcmp(digits, max_digits, 18) != 0)
		return memcmp(digits, max_digits, 18) > 0;
	last = digits[18] - '0';
	return last > 7 + negative;
}

/* Scans a number at p (a '-' or a digit). */
static const unsigned char *scan_number(struct scanner *s, const unsigned char *p,
    uint8_t *type)
{
	const unsigned char *start = p, *digits, *end = s->end;
	int negative = *p == '-', real = 0;

	p += negative;
	digits = p;
	if (p == end || *p < '0' || *p > '9')
		return fail(s, p, "invalid number");
	if (*p == '0') {
		p++;
		if (p < end && *p >= '0' && *p <= '9')
			return fail(s, p, "number with a leading zero");
	} else {
		p = skip_digits(p, end);
	}
	if (p < end && *p == '.') {
		real = 1;
		p++;
		if (p == end || *p < '0' || *p > '9')
			return fail(s, p, "invalid number");
		p = skip_digits(p, end);
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		real = 1;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p == end || *p < '0' || *p > '9')
			return fail(s, p, "invalid number");
		p = skip_digits(p, end);
	}

	if (!real && integer_too_big(digits, (size_t)(p - digits), negative))
		return fail(s, start, "integer beyond the 64-bit range");
	if (real && real_overflows(start, (size_t)(p - start)))
		return fail(s, start, "real number beyond the double range");
	*type = real ? HU_JSON_REAL : HU_JSON_INTEGER;
	return p;
}

static const unsigned char *scan_literal(struct scanner *s,
    const unsigned char *p, const char *word, size_t len)
{
	if ((size_t)(s->end - p) < len || memcmp(p, word, len) != 0)
		return fail(s, p, "invalid literal");
	return p + len;
}

static int bytes_equal(const unsigned char *a, size_t a_len,
    const unsigned char *b, size_t b_len)
{
	return a_len == b_len && memcmp(a, b, a_len) == 0;
}

/* Returns 1 when the member names of a and b in text are equal once
 * unescaped. */
static int names_equal(const unsigned char *text, const struct hu_json_node *a,
    const struct hu_json_node *b);

/* Returns the index of a fresh node, or HU_JSON_NONE when all are used. */
static uint16_t new_node(struct scanner *s)
{
	struct hu_json_node *node;

	if (s->count >= HU_JSON_MAX_NODES)
		return HU_JSON_NONE;
	node = &s->nodes[s->count];
	node->key_offset = node->key_len = 0;
	node->first_child = node->next_sibling = HU_JSON_NONE;
	node->flags = node->key_hash = 0;
	return (uint16_t)s->count++;
}

static const unsigned char *scan_container(struct scanner *s,
    const unsigned char *p, uint16_t index, int is_object);

/* Returns 1 when an earlier member of the object has the name of child.
 * Names without escapes go through a 64-bit set of hashes first, so the
 * pairwise comparison runs only on a hash collision or once any name of the
 * object has escapes. */
static int is_duplicate(struct scanner *s, uint16_t object, uint16_t child,
    uint64_t *seen_hashes, int *any_escaped)
{
	struct hu_json_node *node = &s->nodes[child];
	uint64_t hash;
	uint16_t other;

	node->key_hash = hu_json_name_hash(s->text + node->key_offset, node->key_len);
	hash = (uint64_t)1 << node->key_hash;

	*any_escaped |= node->flags & HU_JSON_KEY_ESCAPED;
	if (*any_escaped || (*seen_hashes & hash)) {
		for (other = s->nodes[object].first_child; other != HU_JSON_NONE;
		    other = s->nodes[other].next_sibling)
			if (names_equal(s->text, &s->nodes[other], node))
				return 1;
	}
	*seen_hashes |= hash;
	return 0;
}

static inline const unsigned char *scan_value(struct scanner *s,
    const unsigned char *p, uint16_t index)
{
	const unsigned char *start = p;
	uint8_t type = 0;
	int escaped = 0;

	if (p == s->end)
		return fail(s, p, "expected a value");
	switch (*p) {
	case '{':
	case '[':
		type = *p == '{' ? HU_JSON_OBJECT : HU_JSON_ARRAY;
		s->nodes[index].type = type;
		p = scan_container(s, p, index, type == HU_JSON_OBJECT);
		break;
	case '"':
		p = scan_string(s, p, &s->nodes[index].value_offset,
		    &s->nodes[index].value_len, &escaped);
		if (p == NULL)
			return NULL;
		s->nodes[index].type = HU_JSON_STRING;
		if (escaped)
			s->nodes[index].flags |= HU_JSON_VALUE_ESCAPED;
		return p;
	case 't':
		type = HU_JSON_TRUE;
		p = scan_literal(s, p, "true", 4);
		break;
	case 'f':
		type = HU_JSON_FALSE;
		p = scan_literal(s, p, "false", 5);
		break;
	case 'n':
		type = HU_JSON_NULL;
		p = scan_literal(s, p, "null", 4);
		break;
	default:
		if (*p != '-' && (*p < '0' || *p > '9'))
			return fail(s, p, "expected a value");
		p = scan_number(s, p, &type);
		break;
	}
	if (p == NULL)
		return NULL;
	s->nodes[index].type = type;
	s->nodes[index].value_offset = (uint16_t)(start - s->text);
	s->nodes[index].value_len = (uint16_t)(p - start);
	return p;
}

/* Scans an object or an array whose opening bracket is at p. */
static const unsigned char *scan_container(struct scanner *s,
    const unsigned char *p, uint16_t index, int is_object)
{
	const unsigned char *end = s->end;
	unsigned char close = is_object ? '}' : ']';
	uint16_t last = HU_JSON_NONE, child;
	uint64_t seen_hashes = 0;
	int escaped = 0, any_escaped = 0;

	if (++s->values > HU_MAX_JSON_VALUES)
		return fail_bounds(s, p, "more values than allowed");
	if (++s->depth > HU_MAX_JSON_DEPTH)
		return fail_bounds(s, p, "nested deeper than allowed");
	p = skip_space(p + 1, end);
	if (p < end && *p == close) {
		s->depth--;
		return p + 1;
	}

	for (;;) {
		child = new_node(s);
		if (child == HU_JSON_NONE)
			return fail_bounds(s, p, "more values than allowed");
		if (is_object) {
			struct hu_json_node *node = &s->nodes[child];

			if (p == end || *p != '"')
				return fail(s, p, "expected a member name");
			p = scan_string(s, p, &node->key_offset, &node->key_len, &escaped);
			if (p == NULL)
				return NULL;
			if (escaped)
				node->flags |= HU_JSON_KEY_ESCAPED;
			if (is_duplicate(s, index, child, &seen_hashes, &any_escaped))
				return fail(s, p, "duplicate member name");
			p = skip_space(p, end);
			if (p == end || *p != ':')
				return fail(s, p, "expected ':'");
			p = skip_space(p + 1, end);
		}
		p = scan_value(s, p, child);
		if (p == NULL)
			return NULL;
		if (last == HU_JSON_NONE)
			s->nodes[index].first_child = child;
		else
			s->nodes[last].next_sibling = child;
		last = child;

		p = skip_space(p, end);
		if (p < end && *p == ',') {
			if (++s->values > HU_MAX_JSON_VALUES)
				return fail_bounds(s, p, "more values than allowed");
			p = skip_space(p + 1, end);
			continue;
		}
		if (p < end && *p == close) {
			s->depth--;
			return p + 1;
		}
		return fail(s, p, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

int hu_json_scan(struct hu_json_doc *doc, const unsigned char *text,
    size_t len, struct hu_json_node *nodes, struct hu_json_error *error)
{
	struct scanner s;
	const unsigned char *p = text;

	memset(&s, 0, sizeof s);
	s.text = text;
	s.end = text + len;
	s.nodes = nodes;
	s.error = error;
	doc->text = text;
	doc->len = len;
	doc->nodes = nodes;
	doc->count = 0;

	if (len > HU_JSON_MAX_TEXT) {
		fail_bounds(&s, p, "document too large");
		return -1;
	}
	p = skip_space(p, s.end);
	if (p == s.end || (*p != '{' && *p != '[')) {
		fail(&s, p, "expected '{' or '['");
		return -1;
	}
	p = scan_value(&s, p, new_node(&s));
	if (p == NULL)
		return -1;
	p = skip_space(p, s.end);
	if (p != s.end) {
		fail(&s, p, "bytes after the end of the document");
		return -1;
	}
	doc->count = s.count;
	return 0;
}

/* Reads the unescaped bytes of a validated string one at a time. */
struct cursor {
	const unsigned char *p, *end;
	unsigned char pending[4];
	unsigned pending_at, pending_len;
};

static void cursor_init(struct cursor *c, const unsigned char *text, size_t len)
{
	c->p = text;
	c->end = text + len;
	c->pending_at = c->pending_len = 0;
}

/* Returns the next byte, or -1 at the end. */
static int cursor_next(struct cursor *c)
{
	unsigned long code;
	unsigned char e;

	if (c->pending_at < c->pending_len)
		return c->pending[c->pending_at++];
	if (c->p == c->end)
		return -1;
	if (*c->p != '\\')
		return *c->p++;

	e = c->p[1];
	c->p += 2;
	switch (e) {
	case 'b': return '\b';
	case 'f': return '\f';
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	case 'u': break;
	default: return e;
	}

	code = (unsigned long)read_hex4(c->p, c->end);
	c->p += 4;
	if (code >= 0xd800 && code <= 0xdbff) {
		code = 0x10000 + ((code - 0xd800) << 10) +
		    ((unsigned long)read_hex4(c->p + 2, c->end) - 0xdc00);
		c->p += 6;
	}
	if (code < 0x80)
		return (int)code;
	if (code < 0x800) {
		c->pending[0] = (unsigned char)(0xc0 | code >> 6);
		c->pending[1] = (unsigned char)(0x80 | (code & 0x3f));
		c->pending_len = 2;
	} else if (code < 0x10000) {
		c->pending[0] = (unsigned char)(0xe0 | code >> 12);
		c->pending[1] = (unsigned char)(0x80 | (code >> 6 & 0x3f));
		c->pending[2] = (unsigned char)(0x80 | (code & 0x3f));
		c->pending_len = 3;
	} else {
		c->pending[0] = (unsigned char)(0xf0 | code >> 18);
		c->pending[1] = (unsigned char)(0x80 | (code >> 12 & 0x3f));
		c->pending[2] = (unsigned char)(0x80 | (code >> 6 & 0x3f));
		c->pending[3] = (unsigned char)(0x80 | (code & 0x3f));
		c->pending_len = 4;
	}
	c->pending_at = 1;
	return c->pending[0];
}

/* Compares a raw string span (escaped when escaped is set) with plain bytes. */
static int span_equals(const unsigned char *raw, size_t raw_len, int escaped,
    const unsigned char *value, size_t len)
{
	struct cursor c;
	size_t i;
	int byte;

	if (!escaped)
		return bytes_equal(raw, raw_len, value, len);
	if (raw_len < len)
		return 0; /* escapes only ever shorten a string */
	cursor_init(&c, raw, raw_len);
	for (i = 0; i < len; i++) {
		byte = cursor_next(&c);
		if (byte != value[i])
			return 0;
	}
	return cursor_next(&c) == -1;
}

static int names_equal(const unsigned char *text, const struct hu_json_node *a,
    const struct hu_json_node *b)
{
	struct cursor ca, cb;
	int x, y;

	if (!((a->flags | b->flags) & HU_JSON_KEY_ESCAPED))
		return bytes_equal(text + a->key_offset, a->key_len,
		    text + b->key_offset, b->key_len);
	cursor_init(&ca, text + a->key_offset, a->key_len);
	cursor_init(&cb, text + b->key_offset, b->key_len);
	do {
		x = cursor_next(&ca);
		y = cursor_next(&cb);
		if (x != y)
			return 0;
	} while (x != -1);
	return 1;
}

uint16_t hu_json_member(const struct hu_json_doc *doc, uint16_t object,
    const char *name, size_t len)
{
	uint16_t i;

	if (object == HU_JSON_NONE || doc->nodes[object].type != HU_JSON_OBJECT)
		return HU_JSON_NONE;
	for (i = doc->nodes[object].first_child; i != HU_JSON_NONE;
	    i = doc->nodes[i].next_sibling) {
		const struct hu_json_node *n = &doc->nodes[i];

		if (span_equals(doc->text + n->key_offset, n->key_len,
		        n->flags & HU_JSON_KEY_ESCAPED, (const unsigned char *)name, len))
			return i;
	}
	return HU_JSON_NONE;
}

/* Compares the name of member n with every name, unescaping it. */
static uint16_t match_any(const struct hu_json_doc *doc,
    const struct hu_json_node *n, const struct hu_json_name *names, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (span_equals(doc->text + n->key_offset, n->key_len,
		        n->flags & HU_JSON_KEY_ESCAPED,
		        (const unsigned char *)names[i].text, names[i].len))
			return (uint16_t)i;
	return HU_JSON_NONE;
}

void hu_json_members(const struct hu_json_doc *doc, uint16_t object,
    const struct hu_json_name *names, size_t count, uint16_t *out)
{
	unsigned char first_by_hash[64], next_same_hash[32];
	uint64_t present = 0;
	size_t i;
	uint16_t child;

	for (i = 0; i < count; i++)
		out[i] = HU_JSON_NONE;
	if (object == HU_JSON_NONE || doc->nodes[object].type != HU_JSON_OBJECT ||
	    count > sizeof next_same_hash)
		return;

	/* first_by_hash maps a name hash to a name with that hash, and
	 * next_same_hash chains the others. An entry is valid only where
	 * present has its bit, which spares clearing the table. */
	for (i = 0; i < count; i++) {
		uint8_t hash = hu_json_name_hash((const unsigned char *)names[i].text,
		    names[i].len);

		next_same_hash[i] = present >> hash & 1 ? first_by_hash[hash] : 0xff;
		first_by_hash[hash] = (unsigned char)i;
		present |= (uint64_t)1 << hash;
	}

	for (child = doc->nodes[object].first_child; child != HU_JSON_NONE;
	    child = doc->nodes[child].next_sibling) {
		const struct hu_json_node *n = &doc->nodes[child];
		uint16_t found = HU_JSON_NONE;
		unsigned char candidate;

		if (n->flags & HU_JSON_KEY_ESCAPED) {
			found = match_any(doc, n, names, count);
		} else if (present >> n->key_hash & 1) {
			for (candidate = first_by_hash[n->key_hash]; candidate != 0xff;
			    candidate = next_same_hash[candidate]) {
				if (bytes_equal(doc->text + n->key_offset, n->key_len,
				        (const unsigned char *)names[candidate].text,
				        names[candidate].len)) {
					found = candidate;
					break;
				}
			}
		}
		if (found != HU_JSON_NONE)
			out[found] = child;
	}
}

int hu_json_string_equals(const struct hu_json_doc *doc, uint16_t node,
    const char *value, size_t len)
{
	const struct hu_json_node *n;

	if (hu_json_type_of(doc, node) != HU_JSON_STRING)
		return 0;
	n = &doc->nodes[node];
	return span_equals(doc->text + n->value_offset, n->value_len,
	    n->flags & HU_JSON_VALUE_ESCAPED, (const unsigned char *)value, len);
}

/* Unescapes the raw string span into out, writing at most size bytes, and
 * returns the full unescaped length. */
static size_t unescape(const unsigned char *raw, size_t raw_len, int escaped,
    unsigned char *out, size_t size)
{
	struct cursor c;
	size_t len = 0;
	int byte;

	if (!escaped) {
		memcpy(out, raw, raw_len < size ? raw_len : size);
		return raw_len;
	}
	cursor_init(&c, raw, raw_len);
	while ((byte = cursor_next(&c)) != -1) {
		if (len < size)
			out[len] = (unsigned char)byte;
		len++;
	}
	return len;
}

size_t hu_json_string_copy(const struct hu_json_doc *doc, uint16_t node,
    unsigned char *out, size_t size)
{
	const struct hu_json_node *n = &doc->nodes[node];

	return unescape(doc->text + n->value_offset, n->value_len,
	    n->flags & HU_JSON_VALUE_ESCAPED, out, size);
}

size_t hu_json_key_copy(const struct hu_json_doc *doc, uint16_t node,
    unsigned char *out, size_t size)
{
	const struct hu_json_node *n = &doc->nodes[node];

	return unescape(doc->text + n->key_offset, n->key_len,
	    n->flags & HU_JSON_KEY_ESCAPED, out, size);
}

/* Significant digits kept when a real number is converted. */
#define REAL_DIGITS 800

/*
 * Rewrites a grammar-checked real number as "[-]DIGITSeEXP" with no decimal
 * point, so that strtod() reads it the same in every locale. Writes the
 * text into buffer (REAL_DIGITS + 32 bytes) and the power of ten of the
 * leading digit into *order. Returns 0 when every digit is zero.
 * NOTE: digits past the first REAL_DIGITS significant ones are dropped; they
 * could change the rounding only of a number within 10^-REAL_DIGITS of a
 * rounding boundary.
 */
static int normalize_real(const unsigned char *text, size_t len, char *buffer,
    long *order)
{
	const unsigned char *p = text, *end = text + len;
	size_t kept = 0, used = 0;
	long exponent = 0, written = 0, dropped = 0;
	int exponent_negative = 0;

	if (*p == '-')
		buffer[used++] = *p++;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (kept == 0 && *p == '0')
			continue;
		if (kept < REAL_DIGITS) {
			buffer[used++] = (char)*p;
			kept++;
		} else {
			dropped++;
		}
	}
	if (p < end && *p == '.') {
		for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
			if (kept == 0 && *p == '0') {
				exponent--;
				continue;
			}
			if (kept < REAL_DIGITS) {
				buffer[used++] = (char)*p;
				kept++;
				exponent--;
			}
		}
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (*p == '+' || *p == '-')
			exponent_negative = *p++ == '-';
		/* Saturating far outside the double range keeps the result. */
		for (; p < end; p++)
			if (written < 1000000)
				written = written * 10 + (*p - '0');
	}
	if (kept == 0)
		return 0;

	exponent += dropped + (exponent_negative ? -written : written);
	*order = exponent + (long)(kept + (size_t)dropped) - 1;
	snprintf(buffer + used, 32, "e%ld", exponent);
	return 1;
}

static double real_value(const unsigned char *text, size_t len)
{
	char buffer[REAL_DIGITS + 32];
	long order;

	if (!normalize_real(text, len, buffer, &order))
		return *text == '-' ? -0.0 : 0.0;
	return strtod(buffer, NULL);
}

static int real_overflows(const unsigned char *text, size_t len)
{
	char buffer[REAL_DIGITS + 32];
	long order;

	if (!normalize_real(text, len, buffer, &order))
		return 0;
	/* DBL_MAX is about 1.8e308: below 10^308 a value is always finite,
	 * from 10^309 up never, and in between strtod() decides. */
	if (order < 308)
		return 0;
	if (order > 308)
		return 1;
	return isinf(strtod(buffer, NULL));
}

int64_t hu_json_integer(const struct hu_json_doc *doc, uint16_t node)
{
	const struct hu_json_node *n = &doc->nodes[node];
	const unsigned char *p = doc->text + n->value_offset;
	const unsigned char *end = p + n->value_len;
	int negative = *p == '-';
	uint64_t magnitude = 0;

	for (p += negative; p < end; p++)
		magnitude = magnitude * 10 + (uint64_t)(*p - '0');
	if (!negative)
		return (int64_t)magnitude;
	/* -2^63 has no positive int64_t counterpart to negate. */
	return magnitude > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)magnitude;
}

double hu_json_number(const struct hu_json_doc *doc, uint16_t node)
{
	const struct hu_json_node *n = &doc->nodes[node];

	if (n->type == HU_JSON_INTEGER)
		return (double)hu_json_integer(doc, node);
	return real_value(doc->text + n->value_offset, n->value_len);
}
