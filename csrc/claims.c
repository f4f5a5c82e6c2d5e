/* Claim checks, the moderator decision, and the hu_claims accessors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "json_scan.h"

const json_t *hu_claims_root(const hu_claims *claims)
{
	return claims->root;
}

void hu_claims_free(hu_claims *claims)
{
	if (claims == NULL)
		return;
	json_decref(claims->root);
	free(claims->json_text);
	free(claims);
}

int hu_claims_is_moderator(const hu_claims *claims)
{
	return claims != NULL && claims->moderator;
}

double hu_claims_exp(const hu_claims *claims)
{
	return claims != NULL ? claims->exp : 0;
}

const char *hu_claims_json(const hu_claims *claims)
{
	hu_claims *mutable_claims = (hu_claims *)claims;

	if (claims == NULL)
		return NULL;
	/* NOTE: the text is made on the first call, so two threads must not
	 * call this on the same claims for the first time at once. */
	if (mutable_claims->json_text == NULL)
		mutable_claims->json_text = json_dumps(claims->root,
		    JSON_COMPACT | JSON_PRESERVE_ORDER);
	return mutable_claims->json_text;
}

const char *hu_claims_get_string(const hu_claims *claims, const char *path,
    size_t *len_out)
{
	const json_t *node;
	const char *start, *dot;
	char name[64];

	if (claims == NULL || path == NULL)
		return NULL;
	node = claims->root;
	for (start = path; node != NULL; start = dot + 1) {
		size_t name_len;

		dot = strchr(start, '.');
		name_len = dot ? (size_t)(dot - start) : strlen(start);
		if (name_len == 0 || name_len >= sizeof name)
			return NULL;
		memcpy(name, start, name_len);
		name[name_len] = '\0';
		node = json_object_get(node, name);
		if (dot == NULL)
			break;
	}
	if (!json_is_string(node))
		return NULL;
	if (len_out != NULL)
		*len_out = json_string_length(node);
	return json_string_value(node);
}

/* true or the string "true" mean moderator; any other value does not. */
static int is_true_value(const struct hu_json_doc *doc, uint16_t value)
{
	return hu_json_type_of(doc, value) == HU_JSON_TRUE ||
	    hu_json_string_equals(doc, value, "true", 4);
}

/* The members of the payload and of context.user that the checks read. */
enum { EXP, NBF, IAT, ISS, AUD, SUB, ROOM, CONTEXT, MODERATOR, CLAIM_COUNT };
static const struct hu_json_name claim_names[CLAIM_COUNT] = {
	HU_JSON_NAME("exp"), HU_JSON_NAME("nbf"), HU_JSON_NAME("iat"),
	HU_JSON_NAME("iss"), HU_JSON_NAME("aud"), HU_JSON_NAME("sub"),
	HU_JSON_NAME("room"), HU_JSON_NAME("context"), HU_JSON_NAME("moderator"),
};

enum { USER_ID, USER_NAME, USER_EMAIL, USER_AVATAR, USER_AFFILIATION,
	USER_MODERATOR, USER_FIELD_COUNT };
static const struct hu_json_name user_field_names[USER_FIELD_COUNT] = {
	HU_JSON_NAME("id"), HU_JSON_NAME("name"), HU_JSON_NAME("email"),
	HU_JSON_NAME("avatar"), HU_JSON_NAME("affiliation"),
	HU_JSON_NAME("moderator"),
};

/* The user fields that must be strings when present. */
#define USER_STRING_FIELDS (USER_AFFILIATION + 1)

static int decide_moderator(const struct hu_json_doc *doc,
    const uint16_t *claims, const uint16_t *user)
{
	uint16_t affiliation = user[USER_AFFILIATION];
	uint16_t flag = user[USER_MODERATOR];

	if (hu_json_string_equals(doc, affiliation, "owner", 5) ||
	    hu_json_string_equals(doc, affiliation, "moderator", 9))
		return 1;
	if (flag != HU_JSON_NONE)
		return is_true_value(doc, flag);
	return is_true_value(doc, claims[MODERATOR]);
}

/* Returns 1 when the string node is an accepted issuer (issuers nonzero) or
 * audience; "*" in the list accepts any string. */
static int string_list_contains(const hu_verifier *v, int issuers,
    const struct hu_json_doc *doc, uint16_t value)
{
	size_t i, count = issuers ? hu_verifier_issuer_count(v) :
	    hu_verifier_audience_count(v);

	for (i = 0; i < count; i++) {
		const char *accepted = issuers ? hu_verifier_issuer(v, i) :
		    hu_verifier_audience(v, i);

		if (strcmp(accepted, "*") == 0)
			return 1;
		if (hu_json_string_equals(doc, value, accepted, strlen(accepted)))
			return 1;
	}
	return 0;
}

static int audience_item_accepted(const hu_verifier *v,
    const struct hu_json_doc *doc, uint16_t item)
{
	if (hu_json_type_of(doc, item) != HU_JSON_STRING)
		return 0;
	if (hu_verifier_audience_count(v) == 0)
		return hu_json_string_equals(doc, item, HU_DEFAULT_AUDIENCE,
		    strlen(HU_DEFAULT_AUDIENCE));
	return string_list_contains(v, 0, doc, item);
}

/* aud is a string or an array; one accepted string item is enough. */
static int audience_accepted(const hu_verifier *v, const struct hu_json_doc *doc,
    uint16_t aud)
{
	uint16_t item;

	if (hu_json_type_of(doc, aud) == HU_JSON_STRING)
		return audience_item_accepted(v, doc, aud);
	for (item = doc->nodes[aud].first_child; item != HU_JSON_NONE;
	    item = doc->nodes[item].next_sibling)
		if (audience_item_accepted(v, doc, item))
			return 1;
	return 0;
}

/* A room claim is a bare MUC node: 1 to 1023 bytes once unescaped, no '@'
 * or '/', no control characters. "*" is the wildcard. */
static int room_claim_valid(const struct hu_json_doc *doc, uint16_t room)
{
	unsigned char unescaped[1023];
	const unsigned char *text;
	size_t i, len;

	if (hu_json_type_of(doc, room) != HU_JSON_STRING)
		return 0;
	if (doc->nodes[room].flags & HU_JSON_VALUE_ESCAPED) {
		len = hu_json_string_copy(doc, room, unescaped, sizeof unescaped);
		text = unescaped;
	} else {
		len = doc->nodes[room].value_len;
		text = doc->text + doc->nodes[room].value_offset;
	}
	if (len == 0 || len > sizeof unescaped)
		return 0;
	for (i = 0; i < len; i++)
		if (text[i] < 0x20 || text[i] == 0x7f || text[i] == '@' || text[i] == '/')
			return 0;
	return 1;
}

/* Fills user (USER_FIELD_COUNT entries) with the members of context.user,
 * all HU_JSON_NONE without a context or a user. */
static hu_status check_context(const struct hu_json_doc *doc, uint16_t context,
    uint16_t *user, char *detail, size_t detail_size)
{
	uint16_t user_object;
	size_t i;

	for (i = 0; i < USER_FIELD_COUNT; i++)
		user[i] = HU_JSON_NONE;
	if (context == HU_JSON_NONE)
		return HU_OK;
	if (hu_json_type_of(doc, context) != HU_JSON_OBJECT) {
		hu_set_detail(detail, detail_size, "claim \"context\" is not an object");
		return HU_ERR_INVALID_CLAIM;
	}
	user_object = hu_json_member(doc, context, "user", 4);
	if (user_object == HU_JSON_NONE)
		return HU_OK;
	if (hu_json_type_of(doc, user_object) != HU_JSON_OBJECT) {
		hu_set_detail(detail, detail_size, "claim \"context.user\" is not an object");
		return HU_ERR_INVALID_CLAIM;
	}
	hu_json_members(doc, user_object, user_field_names, USER_FIELD_COUNT, user);
	for (i = 0; i < USER_STRING_FIELDS; i++) {
		if (user[i] != HU_JSON_NONE && hu_json_type_of(doc, user[i]) != HU_JSON_STRING) {
			hu_set_detail(detail, detail_size,
			    "claim \"context.user.%s\" is not a string",
			    user_field_names[i].text);
			return HU_ERR_INVALID_CLAIM;
		}
	}
	return HU_OK;
}

static int is_number(const struct hu_json_doc *doc, uint16_t value)
{
	int type = hu_json_type_of(doc, value);

	return type == HU_JSON_INTEGER || type == HU_JSON_REAL;
}

/* Checks exp, nbf and iat against now and the leeway. */
static hu_status check_times(const hu_verifier *v, const struct hu_json_doc *doc,
    const uint16_t *claims, double now, double *exp_out, char *detail,
    size_t detail_size)
{
	uint16_t exp = claims[EXP], nbf = claims[NBF], iat = claims[IAT];
	double leeway = hu_verifier_leeway(v), exp_value, value;

	/* The scanner rejects NaN, infinities and integers beyond int64, so
	 * every number here is finite. */
	if (exp == HU_JSON_NONE) {
		hu_set_detail(detail, detail_size, "claim \"exp\" is missing");
		return HU_ERR_INVALID_CLAIM;
	}
	if (!is_number(doc, exp)) {
		hu_set_detail(detail, detail_size, "claim \"exp\" is not a number");
		return HU_ERR_INVALID_CLAIM;
	}
	exp_value = hu_json_number(doc, exp);
	if (exp_value - now > hu_verifier_max_lifetime(v)) {
		hu_set_detail(detail, detail_size,
		    "claim \"exp\" is %.0f s ahead; at most %.0f s are accepted",
		    exp_value - now, hu_verifier_max_lifetime(v));
		return HU_ERR_TOKEN_LIFETIME_TOO_LONG;
	}
	if (!(now < exp_value + leeway)) {
		hu_set_detail(detail, detail_size,
		    "token expired %.0f s ago (leeway %.0f s)", now - exp_value, leeway);
		return HU_ERR_TOKEN_EXPIRED;
	}
	if (nbf != HU_JSON_NONE) {
		if (!is_number(doc, nbf)) {
			hu_set_detail(detail, detail_size, "claim \"nbf\" is not a number");
			return HU_ERR_INVALID_CLAIM;
		}
		value = hu_json_number(doc, nbf);
		if (value > now + leeway) {
			hu_set_detail(detail, detail_size,
			    "token is not valid for another %.0f s (leeway %.0f s)",
			    value - now, leeway);
			return HU_ERR_TOKEN_NOT_YET_VALID;
		}
	}
	if (iat != HU_JSON_NONE) {
		if (!is_number(doc, iat)) {
			hu_set_detail(detail, detail_size, "claim \"iat\" is not a number");
			return HU_ERR_INVALID_CLAIM;
		}
		value = hu_json_number(doc, iat);
		if (value > now + leeway) {
			hu_set_detail(detail, detail_size,
			    "token is issued %.0f s in the future (leeway %.0f s)",
			    value - now, leeway);
			return HU_ERR_TOKEN_ISSUED_IN_FUTURE;
		}
	}
	*exp_out = exp_value;
	return HU_OK;
}

hu_status hu_check_claims(const hu_verifier *v, const struct hu_json_doc *doc,
    double now, int *moderator_out, double *exp_out, char *detail,
    size_t detail_size)
{
	uint16_t claims[CLAIM_COUNT], user[USER_FIELD_COUNT];
	uint16_t iss, aud, sub, room;
	int aud_type;
	hu_status status;

	hu_json_members(doc, 0, claim_names, CLAIM_COUNT, claims);
	iss = claims[ISS];
	aud = claims[AUD];
	sub = claims[SUB];
	room = claims[ROOM];
	aud_type = hu_json_type_of(doc, aud);

	status = check_times(v, doc, claims, now, exp_out, detail, detail_size);
	if (status != HU_OK)
		return status;

	/* Issuer and audience. */
	if (hu_json_type_of(doc, iss) != HU_JSON_STRING ||
	    !string_list_contains(v, 1, doc, iss)) {
		hu_set_detail(detail, detail_size, iss == HU_JSON_NONE ?
		    "claim \"iss\" is missing" : "claim \"iss\" is not an accepted issuer");
		return HU_ERR_ISSUER_NOT_ACCEPTED;
	}
	if ((aud_type != HU_JSON_STRING && aud_type != HU_JSON_ARRAY) ||
	    !audience_accepted(v, doc, aud)) {
		hu_set_detail(detail, detail_size, aud == HU_JSON_NONE ?
		    "claim \"aud\" is missing" : "claim \"aud\" has no accepted audience");
		return HU_ERR_AUDIENCE_NOT_ACCEPTED;
	}

	/* Subject, room and context. */
	if (sub != HU_JSON_NONE && hu_json_type_of(doc, sub) != HU_JSON_STRING) {
		hu_set_detail(detail, detail_size, "claim \"sub\" is not a string");
		return HU_ERR_INVALID_CLAIM;
	}
	if (room == HU_JSON_NONE ? hu_verifier_requires_room(v) :
	    !room_claim_valid(doc, room)) {
		hu_set_detail(detail, detail_size, room == HU_JSON_NONE ?
		    "claim \"room\" is missing" :
		    "claim \"room\" must be a non-empty MUC node without '@', '/' "
		    "or control characters");
		return HU_ERR_INVALID_ROOM_CLAIM;
	}
	status = check_context(doc, claims[CONTEXT], user, detail, detail_size);
	if (status != HU_OK)
		return status;

	*moderator_out = decide_moderator(doc, claims, user);
	return HU_OK;
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Returns 1 for the bytes encodeURIComponent() leaves as they are. A
 * canonical encoder never writes an escape for them. */
static int is_unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("-_.!~*'()", c) != NULL;
}

size_t hu_room_normalize(const char *src, size_t len, char *dst)
{
	const unsigned char *in = (const unsigned char *)src;
	size_t i, out = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = in[i];

		/* Only escapes an encoder would write are decoded: "%65" stays
		 * as it is, so "w%65ekly" can never name the room "weekly". */
		if (c == '%' && i + 2 < len &&
		    hex_value(in[i + 1]) >= 0 && hex_value(in[i + 2]) >= 0) {
			unsigned char decoded = (unsigned char)(hex_value(in[i + 1]) << 4 |
			    hex_value(in[i + 2]));

			if (decoded != 0 && !is_unreserved(decoded)) {
				c = decoded;
				i += 2;
			}
		}
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		dst[out++] = (char)c;
	}
	return out;
}

hu_status hu_claims_check_room(const hu_claims *claims, const char *room,
    size_t len)
{
	const char *claim;
	size_t claim_len, a_len, b_len;
	char *a, *b;
	int equal;

	if (claims == NULL || room == NULL)
		return HU_ERR_INVALID_ARGUMENT;
	claim = hu_claims_get_string(claims, "room", &claim_len);
	if (claim == NULL)
		return HU_ERR_ROOM_MISMATCH;
	if (claim_len == 1 && claim[0] == '*')
		return HU_OK;

	a = malloc(claim_len + 1);
	b = malloc(len + 1);
	if (a == NULL || b == NULL) {
		free(a);
		free(b);
		return HU_ERR_NO_MEMORY;
	}
	a_len = hu_room_normalize(claim, claim_len, a);
	b_len = hu_room_normalize(room, len, b);
	equal = a_len == b_len && memcmp(a, b, a_len) == 0;
	free(a);
	free(b);
	return equal ? HU_OK : HU_ERR_ROOM_MISMATCH;
}
