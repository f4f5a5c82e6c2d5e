/*
 * The strict JSON scanner (csrc/json_scan.c): a table of documents it must
 * accept or reject, the accessors, and a differential run against jansson
 * 2.14 with JSON_REJECT_DUPLICATES on mutated documents, which the scanner
 * must match exactly within the HU_MAX_JSON_* bounds.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "harness.h"
#include "json_scan.h"

static struct hu_json_node nodes[HU_JSON_MAX_NODES];

static int scan(const char *text, size_t len, struct hu_json_doc *doc)
{
	struct hu_json_error error;

	return hu_json_scan(doc, (const unsigned char *)text, len, nodes, &error);
}

/* jansson's verdict under the rules the verifier applied before it had the
 * scanner: the bounds pre-scan, then a strict parse. Returns the parsed
 * value or NULL. */
static json_t *reference(const char *text, size_t len)
{
	if (hu_json_within_bounds((const unsigned char *)text, len) != 0)
		return NULL;
	return json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
}

static void test_table(void)
{
	static const struct {
		const char *text;
		int accepted;
	} cases[] = {
		{ "{}", 1 },
		{ "[]", 1 },
		{ " \t\r\n{ \"a\" : [ 1 , -0 , 0.5e-3 , true , false , null ] } \n", 1 },
		{ "{\"a\":\"\\u00e9\\ud83d\\ude00\\n\\/\"}", 1 },
		{ "{\"a\":\"\xc3\xa9\xf0\x9f\x98\x80\"}", 1 },
		{ "{\"a\":9223372036854775807,\"b\":-9223372036854775808}", 1 },
		{ "{\"a\":1.7976931348623157e308,\"b\":1e-400}", 1 },
		{ "", 0 },
		{ "1", 0 },
		{ "\"a\"", 0 },
		{ "{\"a\":1}x", 0 },
		{ "{\"a\":1}{}", 0 },
		{ "{\"a\":1,}", 0 },
		{ "{,}", 0 },
		{ "[1,]", 0 },
		{ "{\"a\" 1}", 0 },
		{ "{'a':1}", 0 },
		{ "{a:1}", 0 },
		{ "{\"a\":01}", 0 },
		{ "{\"a\":-}", 0 },
		{ "{\"a\":1.}", 0 },
		{ "{\"a\":.5}", 0 },
		{ "{\"a\":1e}", 0 },
		{ "{\"a\":+1}", 0 },
		{ "{\"a\":0x10}", 0 },
		{ "{\"a\":NaN}", 0 },
		{ "{\"a\":Infinity}", 0 },
		{ "{\"a\":9223372036854775808}", 0 },
		{ "{\"a\":-9223372036854775809}", 0 },
		{ "{\"a\":1e309}", 0 },
		{ "{\"a\":-1.8e308}", 0 },
		{ "{\"a\":tru}", 0 },
		{ "{\"a\":nul}", 0 },
		{ "{\"a\":\"\\u0000\"}", 0 },
		{ "{\"\\u0000\":1}", 0 },
		{ "{\"a\":\"\\ud800\"}", 0 },
		{ "{\"a\":\"\\udc00\"}", 0 },
		{ "{\"a\":\"\\ud800\\u0041\"}", 0 },
		{ "{\"a\":\"\\x41\"}", 0 },
		{ "{\"a\":\"\\u12\"}", 0 },
		{ "{\"a\":\"tab\there\"}", 0 },
		{ "{\"a\":\"\xc3\"}", 0 },
		{ "{\"a\":\"\xc0\xaf\"}", 0 },
		{ "{\"a\":\"\xed\xa0\x80\"}", 0 },
		{ "{\"a\":\"\xf4\x90\x80\x80\"}", 0 },
		{ "{\"a\":\"\xff\"}", 0 },
		{ "{\"a\":1,\"a\":2}", 0 },
		{ "{\"a\":1,\"\\u0061\":2}", 0 },
		{ "{\"ab\":{\"a\":1,\"b\":2},\"b\":[{\"x\":1,\"x\":1}]}", 0 },
		{ "{\"a\":\"unterminated}", 0 },
		{ "\xef\xbb\xbf{}", 0 },
	};
	struct hu_json_doc doc;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof *cases; i++) {
		const char *text = cases[i].text;
		size_t len = strlen(text);
		json_t *expected = reference(text, len);

		CHECK_MSG((scan(text, len, &doc) == 0) == cases[i].accepted, text);
		CHECK_MSG((expected != NULL) == cases[i].accepted, text);
		json_decref(expected);
	}
}

static void test_bounds(void)
{
	char deep[2 * (HU_MAX_JSON_DEPTH + 1) + 1], wide[8 * HU_MAX_JSON_VALUES];
	struct hu_json_doc doc;
	struct hu_json_error error;
	size_t i, used;

	/* HU_MAX_JSON_DEPTH nested arrays pass; one more does not. */
	for (i = 0; i < HU_MAX_JSON_DEPTH; i++) {
		deep[i] = '[';
		deep[2 * HU_MAX_JSON_DEPTH - 1 - i] = ']';
	}
	CHECK(hu_json_scan(&doc, (const unsigned char *)deep, 2 * HU_MAX_JSON_DEPTH,
	    nodes, &error) == 0);
	memmove(deep + 1, deep, 2 * HU_MAX_JSON_DEPTH);
	deep[0] = '[';
	deep[2 * HU_MAX_JSON_DEPTH + 1] = ']';
	CHECK(hu_json_scan(&doc, (const unsigned char *)deep, 2 * HU_MAX_JSON_DEPTH + 2,
	    nodes, &error) != 0);
	CHECK(error.over_bounds);

	/* An array of n numbers counts '[' and n - 1 commas. */
	used = 0;
	wide[used++] = '[';
	for (i = 0; i < HU_MAX_JSON_VALUES; i++)
		used += (size_t)sprintf(wide + used, "%s1", i ? "," : "");
	wide[used++] = ']';
	CHECK(hu_json_scan(&doc, (const unsigned char *)wide, used, nodes, &error) == 0);
	CHECK(doc.count == HU_MAX_JSON_VALUES + 1);
	wide[used - 1] = ',';
	wide[used++] = '1';
	wide[used++] = ']';
	CHECK(hu_json_scan(&doc, (const unsigned char *)wide, used, nodes, &error) != 0);
	CHECK(error.over_bounds);
}

static void test_accessors(void)
{
	static const char text[] =
	    "{\"exp\":1767229200,\"r\":-2.5e3,\"s\":\"pl\\u0061in\\n\","
	    "\"\\u0061ud\":[\"x\",\"jitsi\"],\"o\":{\"k\":null},\"big\":-9223372036854775808}";
	static const struct hu_json_name names[] = {
		HU_JSON_NAME("o"), HU_JSON_NAME("aud"), HU_JSON_NAME("missing"),
		HU_JSON_NAME("exp"),
	};
	struct hu_json_doc doc;
	uint16_t found[4], s, aud;
	unsigned char copy[16];

	CHECK(scan(text, sizeof text - 1, &doc) == 0);
	CHECK(hu_json_number(&doc, hu_json_member(&doc, 0, "exp", 3)) == 1767229200.0);
	CHECK(hu_json_number(&doc, hu_json_member(&doc, 0, "r", 1)) == -2500.0);
	CHECK(hu_json_number(&doc, hu_json_member(&doc, 0, "big", 3)) == -9223372036854775808.0);

	s = hu_json_member(&doc, 0, "s", 1);
	CHECK(hu_json_type_of(&doc, s) == HU_JSON_STRING);
	CHECK(hu_json_string_equals(&doc, s, "plain\n", 6));
	CHECK(!hu_json_string_equals(&doc, s, "plain", 5));
	CHECK(hu_json_string_copy(&doc, s, copy, sizeof copy) == 6);
	CHECK(memcmp(copy, "plain\n", 6) == 0);
	CHECK(hu_json_string_copy(&doc, s, copy, 2) == 6);

	/* An escaped member name matches its unescaped form. */
	aud = hu_json_member(&doc, 0, "aud", 3);
	CHECK(hu_json_type_of(&doc, aud) == HU_JSON_ARRAY);
	hu_json_members(&doc, 0, names, 4, found);
	CHECK(found[0] == hu_json_member(&doc, 0, "o", 1));
	CHECK(found[1] == aud);
	CHECK(found[2] == HU_JSON_NONE);
	CHECK(found[3] == hu_json_member(&doc, 0, "exp", 3));
	CHECK(hu_json_member(&doc, HU_JSON_NONE, "exp", 3) == HU_JSON_NONE);
	CHECK(hu_json_member(&doc, s, "exp", 3) == HU_JSON_NONE);
}

/* Compares the scanner's view of every member of an object with jansson's. */
static void compare_members(const struct hu_json_doc *doc, const json_t *object,
    const char *note)
{
	const char *name;
	json_t *value;

	json_object_foreach((json_t *)object, name, value) {
		uint16_t node = hu_json_member(doc, 0, name, strlen(name));

		CHECK_MSG(node != HU_JSON_NONE, note);
		if (node == HU_JSON_NONE)
			continue;
		if (json_is_string(value)) {
			CHECK_MSG(hu_json_string_equals(doc, node, json_string_value(value),
			    json_string_length(value)), note);
		} else if (json_is_number(value)) {
			double expected = json_number_value(value);
			double actual = hu_json_number(doc, node);

			CHECK_MSG(expected == actual || (isnan(expected) && isnan(actual)), note);
		} else {
			CHECK_MSG(hu_json_type_of(doc, node) ==
			    (json_is_object(value) ? HU_JSON_OBJECT : json_is_array(value) ?
			    HU_JSON_ARRAY : json_is_true(value) ? HU_JSON_TRUE :
			    json_is_false(value) ? HU_JSON_FALSE : HU_JSON_NULL), note);
		}
	}
}

/* Mutates seed documents byte by byte and checks that the scanner accepts
 * exactly what jansson accepts. A fixed seed keeps failures reproducible. */
static void test_differential(void)
{
	static const char *const seeds[] = {
		"{\"iss\":\"huddleup\",\"aud\":[\"jitsi\",\"x\"],\"exp\":1767229200,"
		"\"nbf\":1.5e9,\"context\":{\"user\":{\"name\":\"Ad\\u00e9 \\ud83d\\ude00\","
		"\"moderator\":true},\"group\":null}}",
		"[0,-0.0,1E+2,-1e-2,\"\\\\\\\"\\/\",{\"\":false},[[]]]",
		"{\"a\\u0062\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\",\"ab\":12345678901234567}",
	};
	static const char bytes[] = "{}[]\":,\\u0123456789abcdefABCDEF.eE+-tfnlrsx \t\n\x7f"
	    "\x80\xbf\xc2\xe0\xed\xf0\xf4\xff";
	char text[512], note[600];
	struct hu_json_doc doc;
	unsigned long state = 12345;
	long round, disagreements = 0;

	for (round = 0; round < 200000; round++) {
		const char *seed = seeds[round % 3];
		size_t len = strlen(seed), edits, i;
		json_t *expected;
		int accepted;

		memcpy(text, seed, len);
		edits = 1 + round % 3;
		for (i = 0; i < edits; i++) {
			size_t at;

			state = state * 6364136223846793005UL + 1442695040888963407UL;
			at = (size_t)(state >> 33) % len;
			switch ((state >> 20) % 3) {
			case 0: /* replace a byte */
				text[at] = bytes[(state >> 40) % (sizeof bytes - 1)];
				break;
			case 1: /* delete a byte */
				memmove(text + at, text + at + 1, len - at - 1);
				len--;
				break;
			default: /* insert a byte */
				if (len + 1 < sizeof text) {
					memmove(text + at + 1, text + at, len - at);
					text[at] = bytes[(state >> 40) % (sizeof bytes - 1)];
					len++;
				}
				break;
			}
		}

		expected = reference(text, len);
		accepted = scan(text, len, &doc) == 0;
		if ((expected != NULL) != accepted) {
			disagreements++;
			if (disagreements <= 5) {
				snprintf(note, sizeof note, "scanner %s, jansson %s: %.*s",
				    accepted ? "accepts" : "rejects",
				    expected ? "accepts" : "rejects", (int)len, text);
				CHECK_MSG(0, note);
			}
		} else if (expected != NULL && json_is_object(expected)) {
			snprintf(note, sizeof note, "members differ: %.*s", (int)len, text);
			compare_members(&doc, expected, note);
		}
		json_decref(expected);
	}
	CHECK(disagreements == 0);
}

int main(void)
{
	test_table();
	test_bounds();
	test_accessors();
	test_differential();
	return hu_test_finish("test_json_scan");
}
