/* Claim checks, the moderator decision, and the hu_claims accessors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

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
static int is_true_value(const json_t *value)
{
	if (json_is_true(value))
		return 1;
	return json_is_string(value) && json_string_length(value) == 4 &&
	    memcmp(json_string_value(value), "true", 4) == 0;
}

static int decide_moderator(const json_t *root, const json_t *user)
{
	const json_t *affiliation = json_object_get(user, "affiliation");
	const json_t *flag = json_object_get(user, "moderator");

	if (json_is_string(affiliation)) {
		const char *a = json_string_value(affiliation);

		if (strcmp(a, "owner") == 0 || strcmp(a, "moderator") == 0)
			return 1;
	}
	if (flag != NULL)
		return is_true_value(flag);
	return is_true_value(json_object_get(root, "moderator"));
}

static int string_list_contains(const hu_verifier *v, int issuers,
    const char *value, size_t len)
{
	size_t i, count = issuers ? hu_verifier_issuer_count(v) :
	    hu_verifier_audience_count(v);

	for (i = 0; i < count; i++) {
		const char *accepted = issuers ? hu_verifier_issuer(v, i) :
		    hu_verifier_audience(v, i);

		if (strcmp(accepted, "*") == 0)
			return 1;
		if (strlen(accepted) == len && memcmp(accepted, value, len) == 0)
			return 1;
	}
	return 0;
}

static int audience_accepted(const hu_verifier *v, const json_t *aud)
{
	size_t i;
	const json_t *item;

	if (hu_verifier_audience_count(v) == 0) {
		/* The default accepted audience. */
		if (json_is_string(aud))
			return strcmp(json_string_value(aud), HU_DEFAULT_AUDIENCE) == 0;
		json_array_foreach(aud, i, item)
			if (json_is_string(item) &&
			    strcmp(json_string_value(item), HU_DEFAULT_AUDIENCE) == 0)
				return 1;
		return 0;
	}
	if (json_is_string(aud))
		return string_list_contains(v, 0, json_string_value(aud),
		    json_string_length(aud));
	json_array_foreach(aud, i, item)
		if (json_is_string(item) && string_list_contains(v, 0,
		        json_string_value(item), json_string_length(item)))
			return 1;
	return 0;
}

/* A room claim is a bare MUC node: non-empty, no '@' or '/', no control
 * characters. "*" is the wildcard. */
static int room_claim_valid(const json_t *room)
{
	const unsigned char *s;
	size_t i, len;

	if (!json_is_string(room))
		return 0;
	s = (const unsigned char *)json_string_value(room);
	len = json_string_length(room);
	if (len == 0 || len > 1023)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] == 0x7f || s[i] == '@' || s[i] == '/')
			return 0;
	return 1;
}

static const char *const user_string_fields[] = {
	"id", "name", "email", "avatar", "affiliation",
};

static hu_status check_context(const json_t *root, const json_t **user_out,
    char *detail, size_t detail_size)
{
	const json_t *context = json_object_get(root, "context");
	const json_t *user;
	size_t i;

	*user_out = NULL;
	if (context == NULL)
		return HU_OK;
	if (!json_is_object(context)) {
		hu_set_detail(detail, detail_size, "claim \"context\" is not an object");
		return HU_ERR_INVALID_CLAIM;
	}
	user = json_object_get(context, "user");
	if (user == NULL)
		return HU_OK;
	if (!json_is_object(user)) {
		hu_set_detail(detail, detail_size, "claim \"context.user\" is not an object");
		return HU_ERR_INVALID_CLAIM;
	}
	for (i = 0; i < sizeof user_string_fields / sizeof *user_string_fields; i++) {
		const json_t *field = json_object_get(user, user_string_fields[i]);

		if (field != NULL && !json_is_string(field)) {
			hu_set_detail(detail, detail_size,
			    "claim \"context.user.%s\" is not a string", user_string_fields[i]);
			return HU_ERR_INVALID_CLAIM;
		}
	}
	*user_out = user;
	return HU_OK;
}

hu_status hu_check_claims(const hu_verifier *v, const json_t *root, double now,
    int *moderator_out, char *detail, size_t detail_size)
{
	const json_t *exp = json_object_get(root, "exp");
	const json_t *nbf = json_object_get(root, "nbf");
	const json_t *iat = json_object_get(root, "iat");
	const json_t *iss = json_object_get(root, "iss");
	const json_t *aud = json_object_get(root, "aud");
	const json_t *sub = json_object_get(root, "sub");
	const json_t *room = json_object_get(root, "room");
	const json_t *user = NULL;
	double leeway = hu_verifier_leeway(v), exp_value;
	hu_status status;

	/* Times. jansson has no NaN or infinity, and rejects integers beyond
	 * int64, so every number here is finite. */
	if (exp == NULL) {
		hu_set_detail(detail, detail_size, "claim \"exp\" is missing");
		return HU_ERR_INVALID_CLAIM;
	}
	if (!json_is_number(exp)) {
		hu_set_detail(detail, detail_size, "claim \"exp\" is not a number");
		return HU_ERR_INVALID_CLAIM;
	}
	exp_value = json_number_value(exp);
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
	if (nbf != NULL) {
		if (!json_is_number(nbf)) {
			hu_set_detail(detail, detail_size, "claim \"nbf\" is not a number");
			return HU_ERR_INVALID_CLAIM;
		}
		if (json_number_value(nbf) > now + leeway) {
			hu_set_detail(detail, detail_size,
			    "token is not valid for another %.0f s (leeway %.0f s)",
			    json_number_value(nbf) - now, leeway);
			return HU_ERR_TOKEN_NOT_YET_VALID;
		}
	}
	if (iat != NULL) {
		if (!json_is_number(iat)) {
			hu_set_detail(detail, detail_size, "claim \"iat\" is not a number");
			return HU_ERR_INVALID_CLAIM;
		}
		if (json_number_value(iat) > now + leeway) {
			hu_set_detail(detail, detail_size,
			    "token is issued %.0f s in the future (leeway %.0f s)",
			    json_number_value(iat) - now, leeway);
			return HU_ERR_TOKEN_ISSUED_IN_FUTURE;
		}
	}

	/* Issuer and audience. */
	if (!json_is_string(iss) || !string_list_contains(v, 1,
	        json_string_value(iss), json_string_length(iss))) {
		hu_set_detail(detail, detail_size, iss == NULL ?
		    "claim \"iss\" is missing" : "claim \"iss\" is not an accepted issuer");
		return HU_ERR_ISSUER_NOT_ACCEPTED;
	}
	if (!(json_is_string(aud) || json_is_array(aud)) || !audience_accepted(v, aud)) {
		hu_set_detail(detail, detail_size, aud == NULL ?
		    "claim \"aud\" is missing" : "claim \"aud\" has no accepted audience");
		return HU_ERR_AUDIENCE_NOT_ACCEPTED;
	}

	/* Subject, room and context. */
	if (sub != NULL && !json_is_string(sub)) {
		hu_set_detail(detail, detail_size, "claim \"sub\" is not a string");
		return HU_ERR_INVALID_CLAIM;
	}
	if (room == NULL ? hu_verifier_requires_room(v) : !room_claim_valid(room)) {
		hu_set_detail(detail, detail_size, room == NULL ? "claim \"room\" is missing" :
		    "claim \"room\" must be a non-empty MUC node without '@', '/' "
		    "or control characters");
		return HU_ERR_INVALID_ROOM_CLAIM;
	}
	status = check_context(root, &user, detail, detail_size);
	if (status != HU_OK)
		return status;

	*moderator_out = decide_moderator(root, user);
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

size_t hu_room_normalize(const char *src, size_t len, char *dst)
{
	const unsigned char *in = (const unsigned char *)src;
	size_t i, out = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = in[i];

		if (c == '%' && i + 2 < len &&
		    hex_value(in[i + 1]) >= 0 && hex_value(in[i + 2]) >= 0) {
			c = (unsigned char)(hex_value(in[i + 1]) << 4 | hex_value(in[i + 2]));
			i += 2;
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
