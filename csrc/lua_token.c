/*
 * huddleup.token: the verifier for Lua 5.4 (Prosody).
 *
 * Expected failures return nil, reason, detail; misuse and an unusable
 * configuration raise. Every C allocation hangs off a userdata whose __gc
 * frees it, so a Lua error raised while building a result cannot leak.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>
#include <openssl/sha.h>

#include "internal.h"
#include "json_scan.h"

#define VERIFIER_MT "huddleup.token.verifier"
#define CLAIMS_MT "huddleup.token.claims"

/* JSON null in a claims table. Compare with huddleup.token.null. */
#define NULL_SENTINEL ((void *)&null_sentinel_anchor)
static const char null_sentinel_anchor = 0;

typedef struct {
	hu_verifier *verifier;
} verifier_box;

typedef struct {
	hu_claims *claims;
} claims_box;

static int verifier_gc(lua_State *L)
{
	verifier_box *box = luaL_checkudata(L, 1, VERIFIER_MT);

	hu_verifier_free(box->verifier);
	box->verifier = NULL;
	return 0;
}

static int claims_gc(lua_State *L)
{
	claims_box *box = luaL_checkudata(L, 1, CLAIMS_MT);

	hu_claims_free(box->claims);
	box->claims = NULL;
	return 0;
}

static verifier_box *check_verifier(lua_State *L, int index)
{
	verifier_box *box = luaL_checkudata(L, index, VERIFIER_MT);

	if (box->verifier == NULL)
		luaL_argerror(L, index, "verifier is closed");
	return box;
}

/* Raises "configuration-error: DETAIL". Only called while every C resource
 * is owned by a userdata. */
static int raise_config(lua_State *L, hu_status status, const char *detail)
{
	if (status == HU_ERR_NO_MEMORY)
		return luaL_error(L, "out of memory");
	return luaL_error(L, "configuration-error: %s",
	    detail && detail[0] ? detail : hu_strerror(status));
}

/* Reads field name of the table at index as a list of strings (or a single
 * string) and passes each to add. */
static void read_string_list(lua_State *L, int index, const char *name,
    hu_verifier *v, hu_status (*add)(hu_verifier *, const char *))
{
	int type = lua_getfield(L, index, name);
	hu_status status;

	if (type == LUA_TNIL) {
		lua_pop(L, 1);
		return;
	}
	if (type == LUA_TSTRING) {
		status = add(v, lua_tostring(L, -1));
		if (status != HU_OK)
			luaL_error(L, "configuration-error: invalid value in '%s'", name);
		lua_pop(L, 1);
		return;
	}
	if (type != LUA_TTABLE)
		luaL_error(L, "configuration-error: '%s' must be a string or a list of strings", name);

	for (lua_Integer i = 1;; i++) {
		type = lua_geti(L, -1, i);
		if (type == LUA_TNIL) {
			lua_pop(L, 1);
			break;
		}
		if (type != LUA_TSTRING)
			luaL_error(L, "configuration-error: '%s' must list strings", name);
		status = add(v, lua_tostring(L, -1));
		if (status != HU_OK)
			luaL_error(L, "configuration-error: invalid value in '%s'", name);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

/* Reads an optional number field; returns 0 when absent. */
static int read_number(lua_State *L, int index, const char *name, double *out)
{
	int type = lua_getfield(L, index, name);

	if (type == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	if (type != LUA_TNUMBER)
		luaL_error(L, "configuration-error: '%s' must be a number", name);
	*out = lua_tonumber(L, -1);
	lua_pop(L, 1);
	return 1;
}

/* Adds one key from a table with algorithm and secret or public_key. */
static void add_key_from_table(lua_State *L, int index, hu_verifier *v,
    const char *kid, const char *default_alg)
{
	char detail[HU_DETAIL_SIZE];
	const char *alg = default_alg, *secret, *pem;
	size_t secret_len, pem_len;
	hu_status status;

	if (lua_getfield(L, index, "algorithm") == LUA_TSTRING)
		alg = lua_tostring(L, -1);
	else if (!lua_isnil(L, -1))
		luaL_error(L, "configuration-error: 'algorithm' must be a string");
	lua_getfield(L, index, "secret");
	lua_getfield(L, index, "public_key");
	secret = lua_tolstring(L, -2, &secret_len);
	pem = lua_tolstring(L, -1, &pem_len);
	detail[0] = '\0';

	if (hu_alg_from_name(alg, strlen(alg)) == HU_ALG_UNKNOWN)
		luaL_error(L, "configuration-error: algorithm '%s' is not supported "
		    "(use HS256, HS384, HS512, RS256, RS384, RS512, ES256 or ES384)", alg);
	if (strncmp(alg, "HS", 2) == 0) {
		if (secret == NULL)
			luaL_error(L, "configuration-error: %s needs 'secret'%s%s", alg,
			    kid ? " for kid " : "", kid ? kid : "");
		status = hu_verifier_add_hmac_key(v, kid, alg, secret, secret_len,
		    detail, sizeof detail);
	} else {
		if (pem == NULL)
			luaL_error(L, "configuration-error: %s needs 'public_key' (PEM)%s%s",
			    alg, kid ? " for kid " : "", kid ? kid : "");
		status = hu_verifier_add_public_key_pem(v, kid, alg, pem, pem_len,
		    detail, sizeof detail);
	}
	/* The library's detail names the kid of a rejected key. */
	if (status != HU_OK)
		raise_config(L, status, detail);
	lua_pop(L, 3);
}

/* Adds the keys of a JWK Set document; returns how many were added. */
static size_t add_jwks_text(lua_State *L, hu_verifier *v, const char *text,
    size_t len)
{
	char detail[HU_DETAIL_SIZE];
	size_t added = 0;
	hu_status status;

	status = hu_verifier_add_jwks(v, text, len, &added, detail, sizeof detail);
	if (status != HU_OK)
		raise_config(L, status, detail);
	return added;
}

/* Returns the kid argument at index: a string of 1 to 256 bytes without
 * NUL, as the library stores kids. Raises otherwise. */
static const char *check_kid(lua_State *L, int index)
{
	size_t len;
	const char *kid = luaL_checklstring(L, index, &len);

	if (len == 0 || len >= HU_KID_SIZE || strlen(kid) != len)
		luaL_argerror(L, index, "kid must be 1 to 256 bytes without NUL");
	return kid;
}

/* huddleup.token.new(config) -> verifier; raises on an unusable config. */
static int token_new(lua_State *L)
{
	verifier_box *box;
	double number;
	int has_default_key;

	int key_count = 0;

	luaL_checktype(L, 1, LUA_TTABLE);
	box = lua_newuserdatauv(L, sizeof *box, 0);
	box->verifier = NULL;
	luaL_setmetatable(L, VERIFIER_MT);
	box->verifier = hu_verifier_new();
	if (box->verifier == NULL)
		return luaL_error(L, "out of memory");

	lua_getfield(L, 1, "secret");
	lua_getfield(L, 1, "public_key");
	has_default_key = !lua_isnil(L, -1) || !lua_isnil(L, -2);
	lua_pop(L, 2);
	if (has_default_key) {
		const char *alg = "HS256";

		if (lua_getfield(L, 1, "algorithm") == LUA_TSTRING)
			alg = lua_tostring(L, -1);
		add_key_from_table(L, 1, box->verifier, NULL, alg);
		lua_pop(L, 1);
		key_count++;
	}

	if (lua_getfield(L, 1, "keys") == LUA_TTABLE) {
		lua_pushnil(L);
		while (lua_next(L, -2) != 0) {
			size_t kid_len = 0;

			if (lua_type(L, -2) != LUA_TSTRING || !lua_istable(L, -1))
				return luaL_error(L, "configuration-error: 'keys' maps kid strings to key tables");
			if (strlen(lua_tolstring(L, -2, &kid_len)) != kid_len)
				return luaL_error(L, "configuration-error: a kid in 'keys' contains a NUL byte");
			add_key_from_table(L, lua_gettop(L), box->verifier,
			    lua_tostring(L, -2), "HS256");
			lua_pop(L, 1);
			key_count++;
		}
	} else if (!lua_isnil(L, -1)) {
		return luaL_error(L, "configuration-error: 'keys' must be a table");
	}
	lua_pop(L, 1);

	if (lua_getfield(L, 1, "jwks") == LUA_TSTRING) {
		size_t len;
		const char *text = lua_tolstring(L, -1, &len);

		key_count += (int)add_jwks_text(L, box->verifier, text, len);
	} else if (!lua_isnil(L, -1)) {
		return luaL_error(L, "configuration-error: 'jwks' must be the text of a JWK Set");
	}
	lua_pop(L, 1);

	read_string_list(L, 1, "issuers", box->verifier, hu_verifier_add_issuer);
	read_string_list(L, 1, "audiences", box->verifier, hu_verifier_add_audience);

	if (read_number(L, 1, "leeway", &number) &&
	    hu_verifier_set_leeway(box->verifier, number) != HU_OK)
		return luaL_error(L, "configuration-error: 'leeway' must be 0 to 3600 seconds");
	if (read_number(L, 1, "max_lifetime", &number) &&
	    hu_verifier_set_max_lifetime(box->verifier, number) != HU_OK)
		return luaL_error(L, "configuration-error: 'max_lifetime' must be 60 s to 10 years");
	/* Written so that NaN fails the range check before the cast, which
	 * would be undefined for it. */
	if (read_number(L, 1, "max_size", &number) &&
	    (!(number >= 0 && number <= 1e9) ||
	     hu_verifier_set_max_size(box->verifier, (size_t)number) != HU_OK))
		return luaL_error(L, "configuration-error: 'max_size' must be 256 to 65536 bytes");
	if (lua_getfield(L, 1, "require_room") != LUA_TNIL) {
		if (hu_verifier_set_require_room(box->verifier, lua_toboolean(L, -1)) != HU_OK)
			return luaL_error(L, "configuration-error: invalid 'require_room'");
	}
	lua_pop(L, 1);

	if (key_count == 0)
		return luaL_error(L, "configuration-error: no key: set 'secret', "
		    "'public_key', 'keys' or 'jwks'");
	if (hu_verifier_issuer_count(box->verifier) == 0)
		return luaL_error(L, "configuration-error: 'issuers' is required and "
		    "must not be empty (Jitsi's app_id or asap_accepted_issuers)");

	return 1;
}

static void push_json(lua_State *L, const json_t *value);

static void push_json_object(lua_State *L, const json_t *object)
{
	const char *name;
	json_t *member;

	lua_createtable(L, 0, (int)json_object_size(object));
	json_object_foreach((json_t *)object, name, member) {
		push_json(L, member);
		lua_setfield(L, -2, name);
	}
}

/* Depth is bounded by HU_MAX_JSON_DEPTH before parsing, so the recursion and
 * the stack use are bounded too. */
static void push_json(lua_State *L, const json_t *value)
{
	size_t i;

	luaL_checkstack(L, 3, "claims nest too deeply");
	switch (json_typeof(value)) {
	case JSON_OBJECT:
		push_json_object(L, value);
		break;
	case JSON_ARRAY:
		lua_createtable(L, (int)json_array_size(value), 0);
		for (i = 0; i < json_array_size(value); i++) {
			push_json(L, json_array_get(value, i));
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		break;
	case JSON_STRING:
		lua_pushlstring(L, json_string_value(value), json_string_length(value));
		break;
	case JSON_INTEGER:
		lua_pushinteger(L, (lua_Integer)json_integer_value(value));
		break;
	case JSON_REAL:
		lua_pushnumber(L, json_real_value(value));
		break;
	case JSON_TRUE:
		lua_pushboolean(L, 1);
		break;
	case JSON_FALSE:
		lua_pushboolean(L, 0);
		break;
	default:
		lua_pushlightuserdata(L, NULL_SENTINEL);
		break;
	}
}

static double wall_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Pushes the string at raw[0..len), unescaping it when escaped is set
 * (escapes only shorten a string, so len bytes are enough). */
static void push_json_text(lua_State *L, const struct hu_json_doc *doc,
    uint16_t node, int key)
{
	const struct hu_json_node *n = &doc->nodes[node];
	size_t raw_len = key ? n->key_len : n->value_len;
	int escaped = n->flags & (key ? HU_JSON_KEY_ESCAPED : HU_JSON_VALUE_ESCAPED);
	luaL_Buffer buffer;
	unsigned char *out;
	size_t len;

	if (!escaped) {
		lua_pushlstring(L, (const char *)doc->text +
		    (key ? n->key_offset : n->value_offset), raw_len);
		return;
	}
	out = (unsigned char *)luaL_buffinitsize(L, &buffer, raw_len);
	len = key ? hu_json_key_copy(doc, node, out, raw_len) :
	    hu_json_string_copy(doc, node, out, raw_len);
	luaL_pushresultsize(&buffer, len);
}

/* Pushes the scanned value node as a Lua value. Depth is bounded by
 * HU_MAX_JSON_DEPTH, so the recursion and the stack use are bounded too. */
static void push_scanned(lua_State *L, const struct hu_json_doc *doc,
    uint16_t node)
{
	const struct hu_json_node *n = &doc->nodes[node];
	lua_Integer index = 0;
	uint16_t child;
	int count = 0;

	luaL_checkstack(L, 4, "claims nest too deeply");
	switch (n->type) {
	case HU_JSON_OBJECT:
	case HU_JSON_ARRAY:
		for (child = n->first_child; child != HU_JSON_NONE;
		    child = doc->nodes[child].next_sibling)
			count++;
		if (n->type == HU_JSON_ARRAY)
			lua_createtable(L, count, 0);
		else
			lua_createtable(L, 0, count);
		for (child = n->first_child; child != HU_JSON_NONE;
		    child = doc->nodes[child].next_sibling) {
			if (n->type == HU_JSON_ARRAY) {
				push_scanned(L, doc, child);
				lua_rawseti(L, -2, ++index);
			} else {
				push_json_text(L, doc, child, 1);
				push_scanned(L, doc, child);
				lua_rawset(L, -3);
			}
		}
		break;
	case HU_JSON_STRING:
		push_json_text(L, doc, node, 0);
		break;
	case HU_JSON_INTEGER:
		lua_pushinteger(L, (lua_Integer)hu_json_integer(doc, node));
		break;
	case HU_JSON_REAL:
		lua_pushnumber(L, hu_json_number(doc, node));
		break;
	case HU_JSON_TRUE:
		lua_pushboolean(L, 1);
		break;
	case HU_JSON_FALSE:
		lua_pushboolean(L, 0);
		break;
	default:
		lua_pushlightuserdata(L, NULL_SENTINEL);
		break;
	}
}

/* Builds the claims table in protected mode: a Lua error must not unwind
 * through hu_verify_visit(), which may own a decode buffer. */
static int push_claims_protected(lua_State *L)
{
	const struct hu_json_doc *doc = lua_touserdata(L, 1);

	push_scanned(L, doc, 0);
	return 1;
}

struct claims_target {
	lua_State *L;
	int moderator;
	int failed;                  /* the Lua error is on the stack */
};

static hu_status push_claims_visitor(void *context,
    const struct hu_json_doc *payload, int moderator, double exp,
    char *detail, size_t detail_size)
{
	struct claims_target *target = context;
	lua_State *L = target->L;

	(void)exp;
	(void)detail;
	(void)detail_size;
	lua_pushcfunction(L, push_claims_protected);
	lua_pushlightuserdata(L, (void *)payload);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
		target->failed = 1;
		return HU_ERR_NO_MEMORY;
	}
	target->moderator = moderator;
	return HU_OK;
}

/* verifier:verify(token [, now]) -> claims, moderator | nil, reason, detail */
static int verifier_verify(lua_State *L)
{
	verifier_box *vbox = check_verifier(L, 1);
	size_t len;
	const char *token = luaL_checklstring(L, 2, &len);
	double now = luaL_opt(L, luaL_checknumber, 3, wall_clock());
	char detail[HU_DETAIL_SIZE];
	struct claims_target target = { L, 0, 0 };
	hu_status status;

	if (!isfinite(now))
		return luaL_argerror(L, 3, "time must be finite");

	luaL_checkstack(L, 8, "no stack space for the claims");
	status = hu_verify_visit(vbox->verifier, token, len, now,
	    push_claims_visitor, &target, detail, sizeof detail);
	if (target.failed)
		return lua_error(L); /* the error of the protected call */
	if (status != HU_OK) {
		if (!hu_status_is_rejection(status))
			return luaL_error(L, "%s: %s", hu_strerror(status), detail);
		lua_pushnil(L);
		lua_pushstring(L, hu_strerror(status));
		lua_pushstring(L, detail);
		return 3;
	}
	lua_pushboolean(L, target.moderator);
	return 2;
}

/* huddleup.token.room_matches(claim, room) -> boolean */
static int token_room_matches(lua_State *L)
{
	size_t claim_len, room_len, a_len, b_len;
	const char *claim = luaL_checklstring(L, 1, &claim_len);
	const char *room = luaL_checklstring(L, 2, &room_len);
	char *a, *b;

	if (claim_len == 1 && claim[0] == '*') {
		lua_pushboolean(L, 1);
		return 1;
	}
	/* Lua-owned scratch memory, so a raise cannot leak it. */
	a = lua_newuserdatauv(L, claim_len + room_len + 1, 0);
	b = a + claim_len;
	a_len = hu_room_normalize(claim, claim_len, a);
	b_len = hu_room_normalize(room, room_len, b);
	lua_pushboolean(L, a_len == b_len && memcmp(a, b, a_len) == 0);
	return 1;
}

/* huddleup.token.hash_prefix(token) -> first 12 hex digits of SHA-256, the
 * only form in which a token may appear in a log. */
static int token_hash_prefix(lua_State *L)
{
	size_t len;
	const char *token = luaL_checklstring(L, 1, &len);
	unsigned char digest[SHA256_DIGEST_LENGTH];
	char hex[13];
	int i;

	SHA256((const unsigned char *)token, len, digest);
	for (i = 0; i < 6; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	lua_pushlstring(L, hex, 12);
	return 1;
}

/* verifier:add_key(kid, {algorithm=, secret= | public_key=}); raises on an
 * unusable key or a kid that is already configured. */
static int verifier_add_key(lua_State *L)
{
	verifier_box *box = check_verifier(L, 1);
	const char *kid = check_kid(L, 2);

	luaL_checktype(L, 3, LUA_TTABLE);
	add_key_from_table(L, 3, box->verifier, kid, "HS256");
	return 0;
}

/* verifier:add_jwks(text) -> number of keys added; raises on an unusable
 * set, and then adds none of its keys. */
static int verifier_add_jwks(lua_State *L)
{
	verifier_box *box = check_verifier(L, 1);
	size_t len;
	const char *text = luaL_checklstring(L, 2, &len);

	lua_pushinteger(L, (lua_Integer)add_jwks_text(L, box->verifier, text, len));
	return 1;
}

/* verifier:remove_key(kid) -> true when a key was removed, false when none
 * was configured under kid. */
static int verifier_remove_key(lua_State *L)
{
	verifier_box *box = check_verifier(L, 1);
	const char *kid = check_kid(L, 2);

	lua_pushboolean(L, hu_verifier_remove_key(box->verifier, kid) == HU_OK);
	return 1;
}

/* verifier:has_key(kid) -> boolean */
static int verifier_has_key(lua_State *L)
{
	verifier_box *box = check_verifier(L, 1);
	const char *kid = check_kid(L, 2);

	lua_pushboolean(L, hu_verifier_has_kid(box->verifier, kid));
	return 1;
}

/* huddleup.token.peek_kid(token) -> kid | nil | nil, reason. Verifies
 * nothing: the kid only names the key to fetch before verify(). Returns a
 * lone nil when the header has no kid. */
static int token_peek_kid(lua_State *L)
{
	size_t len;
	const char *token = luaL_checklstring(L, 1, &len);
	char kid[HU_KID_SIZE];
	hu_status status;

	status = hu_peek_kid(token, len, kid, sizeof kid);
	if (status != HU_OK) {
		luaL_pushfail(L);
		lua_pushstring(L, hu_strerror(status));
		return 2;
	}
	if (kid[0] == '\0') {
		luaL_pushfail(L);
		return 1;
	}
	lua_pushstring(L, kid);
	return 1;
}

/* huddleup.token.asap_key_name(kid) -> "<64 hex digits>.pem", the file name
 * of kid's public key in Jitsi's ASAP layout. */
static int token_asap_key_name(lua_State *L)
{
	const char *kid = check_kid(L, 1);
	char name[HU_ASAP_KEY_NAME_SIZE];

	if (hu_asap_key_name(kid, name) != HU_OK)
		return luaL_argerror(L, 1, "kid must be 1 to 256 bytes without NUL");
	lua_pushstring(L, name);
	return 1;
}

static int verifier_tostring(lua_State *L)
{
	verifier_box *box = luaL_checkudata(L, 1, VERIFIER_MT);

	lua_pushfstring(L, "huddleup.token verifier (%s)",
	    box->verifier ? "open" : "closed");
	return 1;
}

static const luaL_Reg verifier_methods[] = {
	{"verify", verifier_verify},
	{"add_key", verifier_add_key},
	{"add_jwks", verifier_add_jwks},
	{"remove_key", verifier_remove_key},
	{"has_key", verifier_has_key},
	{NULL, NULL},
};

static const luaL_Reg verifier_meta[] = {
	{"__gc", verifier_gc},
	{"__close", verifier_gc},
	{"__tostring", verifier_tostring},
	{NULL, NULL},
};

static const luaL_Reg module_functions[] = {
	{"new", token_new},
	{"room_matches", token_room_matches},
	{"hash_prefix", token_hash_prefix},
	{"peek_kid", token_peek_kid},
	{"asap_key_name", token_asap_key_name},
	{NULL, NULL},
};

static void push_reasons(lua_State *L)
{
	int status;

	lua_newtable(L);
	for (status = HU_ERR_INVALID_ENCODING; status <= HU_ERR_KEY_UNAVAILABLE; status++) {
		lua_pushstring(L, hu_strerror((hu_status)status));
		lua_rawseti(L, -2, status);
	}
}

HU_EXPORT int luaopen_huddleup_token(lua_State *L);

int luaopen_huddleup_token(lua_State *L)
{
	luaL_newmetatable(L, VERIFIER_MT);
	luaL_setfuncs(L, verifier_meta, 0);
	luaL_newlib(L, verifier_methods);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);

	luaL_newmetatable(L, CLAIMS_MT);
	lua_pushcfunction(L, claims_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);

	luaL_newlib(L, module_functions);
	lua_pushstring(L, hu_version());
	lua_setfield(L, -2, "_VERSION");
	lua_pushlightuserdata(L, NULL_SENTINEL);
	lua_setfield(L, -2, "null");
	push_reasons(L);
	lua_setfield(L, -2, "reasons");
	return 1;
}
