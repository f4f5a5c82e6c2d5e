/*
 * A strict JSON scanner that validates a document and indexes its values in
 * a caller-provided node array, without allocating. The verifier uses it for
 * the header and the payload, so checking a token costs no allocation.
 *
 * It accepts what jansson 2.14's json_loadb() accepts with
 * JSON_REJECT_DUPLICATES and without JSON_DECODE_ANY or JSON_ALLOW_NUL, and
 * applies the HU_MAX_JSON_DEPTH and HU_MAX_JSON_VALUES bounds of
 * hu_json_within_bounds(). Anything else is rejected: invalid UTF-8, a lone
 * surrogate, "\u0000", a duplicate member name (compared after unescaping),
 * NaN, hex or leading zeros, an integer beyond int64, a real beyond the
 * double range, or bytes after the top-level object or array.
 * NOTE: one difference is deliberate. jansson 2.14 skips a raw NUL byte that
 * directly follows a number or a literal ({"a":1<NUL>} reads as {"a":1});
 * this scanner rejects it.
 */
#ifndef HU_JSON_SCAN_H
#define HU_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

enum hu_json_type {
	HU_JSON_OBJECT = 1,
	HU_JSON_ARRAY,
	HU_JSON_STRING,
	HU_JSON_INTEGER,
	HU_JSON_REAL,
	HU_JSON_TRUE,
	HU_JSON_FALSE,
	HU_JSON_NULL
};

/* The last node index, also the "none" link. Offsets and lengths are 16-bit
 * because the scanner takes at most HU_JSON_MAX_TEXT bytes. */
#define HU_JSON_NONE UINT16_MAX
#define HU_JSON_MAX_TEXT 65534

/* Enough nodes for any document within HU_MAX_JSON_VALUES. Every node but
 * the root is a member, an array item after a comma, or the first item of
 * an array. Each of those is counted once: at its name, comma or '['. */
#define HU_JSON_MAX_NODES (HU_MAX_JSON_VALUES + 1)

#define HU_JSON_KEY_ESCAPED 0x1   /* the member name contains a backslash */
#define HU_JSON_VALUE_ESCAPED 0x2 /* the string value contains a backslash */

/* One value. Node 0 is the top-level object or array. */
struct hu_json_node {
	uint16_t key_offset, key_len;     /* member name between its quotes, as
	                                     written; 0 and 0 outside objects */
	uint16_t value_offset, value_len; /* a string between its quotes, or the
	                                     whole text of any other value */
	uint16_t first_child, next_sibling; /* HU_JSON_NONE when there is none */
	uint8_t type;                     /* enum hu_json_type */
	uint8_t flags;                    /* HU_JSON_*_ESCAPED */
	uint8_t key_hash;                 /* hu_json_name_hash() of a name
	                                     without escapes */
};

struct hu_json_doc {
	const unsigned char *text;        /* not owned; must outlive the doc */
	size_t len;
	struct hu_json_node *nodes;       /* caller-provided, HU_JSON_MAX_NODES */
	size_t count;
};

/* The reason a document was rejected. */
struct hu_json_error {
	size_t offset;                    /* byte offset of the problem */
	const char *message;              /* static English text */
	int over_bounds;                  /* nonzero: depth or value count */
};

/*
 * Validates text[0..len) and indexes it into nodes (HU_JSON_MAX_NODES
 * entries). Returns 0 and fills doc, or -1 and fills error.
 */
int hu_json_scan(struct hu_json_doc *doc, const unsigned char *text,
    size_t len, struct hu_json_node *nodes, struct hu_json_error *error);

/* Returns the member named name[0..len) of the object node, or HU_JSON_NONE
 * when object is HU_JSON_NONE, not an object, or has no such member. Names
 * are compared after unescaping, as jansson's json_object_get() does. */
uint16_t hu_json_member(const struct hu_json_doc *doc, uint16_t object,
    const char *name, size_t len);

/* Returns the 6-bit hash the scanner stores for a member name without
 * escapes. */
static inline uint8_t hu_json_name_hash(const unsigned char *name, size_t len)
{
	if (len == 0)
		return 0;
	return (uint8_t)((name[0] * 7u + name[len - 1] * 3u + len) & 63);
}

/* A member name to look up, with its length. */
struct hu_json_name {
	const char *text;
	size_t len;
};
#define HU_JSON_NAME(literal) { literal, sizeof literal - 1 }

/*
 * Looks up count names (at most 32) in one pass over the object node:
 * out[i] receives the member named names[i], or HU_JSON_NONE. Cheaper than
 * count calls of hu_json_member() when several members are needed.
 */
void hu_json_members(const struct hu_json_doc *doc, uint16_t object,
    const struct hu_json_name *names, size_t count, uint16_t *out);

/* Returns the type of node, or 0 for HU_JSON_NONE. */
static inline int hu_json_type_of(const struct hu_json_doc *doc, uint16_t node)
{
	return node == HU_JSON_NONE ? 0 : doc->nodes[node].type;
}

/* Returns 1 when the string node, unescaped, equals value[0..len). */
int hu_json_string_equals(const struct hu_json_doc *doc, uint16_t node,
    const char *value, size_t len);

/*
 * Unescapes the string node into out, writing at most size bytes, and
 * returns the full unescaped length (which may exceed size).
 */
size_t hu_json_string_copy(const struct hu_json_doc *doc, uint16_t node,
    unsigned char *out, size_t size);

/* Unescapes the member name of node as hu_json_string_copy() does. */
size_t hu_json_key_copy(const struct hu_json_doc *doc, uint16_t node,
    unsigned char *out, size_t size);

/* Returns the value of an HU_JSON_INTEGER node, which the scanner has
 * checked to fit int64_t. */
int64_t hu_json_integer(const struct hu_json_doc *doc, uint16_t node);

/* Returns the value of a number node as jansson's json_number_value()
 * would: an integer converted to double, or the correctly rounded real. */
double hu_json_number(const struct hu_json_doc *doc, uint16_t node);

#endif /* HU_JSON_SCAN_H */
