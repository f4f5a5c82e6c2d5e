/*
 * Decides every case of the shared token corpus (cases/tokens.json) through
 * the C API: accepted cases with their moderator flag, rejected cases with
 * one of their listed reasons, configuration-error cases at configuration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "harness.h"
#include "huddleup/token.h"

static int hex_decode(const char *hex, unsigned char *out, size_t max)
{
	size_t i, len = strlen(hex);

	if (len % 2 || len / 2 > max)
		return -1;
	for (i = 0; i < len / 2; i++) {
		unsigned int byte;

		if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
			return -1;
		out[i] = (unsigned char)byte;
	}
	return (int)(len / 2);
}

static int reason_listed(const json_t *reasons, const char *reason)
{
	size_t i;
	json_t *item;

	json_array_foreach(reasons, i, item)
		if (strcmp(json_string_value(item), reason) == 0)
			return 1;
	return 0;
}

/* Builds the verifier a case describes. Returns the configuration status. */
static hu_status configure(const json_t *c, hu_verifier **out, char *detail)
{
	const char *alg = json_string_value(json_object_get(c, "alg"));
	const json_t *secret = json_object_get(c, "secret");
	const json_t *secret_hex = json_object_get(c, "secret_hex");
	const json_t *pem = json_object_get(c, "public_key_pem");
	hu_verifier *v = hu_verifier_new();
	hu_status status;

	*out = NULL;
	if (v == NULL)
		return HU_ERR_NO_MEMORY;
	if (json_is_string(secret)) {
		status = hu_verifier_add_hmac_key(v, NULL, alg, json_string_value(secret),
		    json_string_length(secret), detail, HU_DETAIL_SIZE);
	} else if (json_is_string(secret_hex)) {
		unsigned char key[256];
		int len = hex_decode(json_string_value(secret_hex), key, sizeof key);

		status = len < 0 ? HU_ERR_CONFIGURATION :
		    hu_verifier_add_hmac_key(v, NULL, alg, key, (size_t)len, detail,
		        HU_DETAIL_SIZE);
	} else {
		status = hu_verifier_add_public_key_pem(v, NULL, alg,
		    json_string_value(pem), json_string_length(pem), detail,
		    HU_DETAIL_SIZE);
	}
	if (status == HU_OK)
		status = hu_verifier_add_issuer(v, json_string_value(json_object_get(c, "app_id")));
	if (status == HU_OK)
		status = hu_verifier_add_audience(v, json_string_value(json_object_get(c, "audience")));
	if (status == HU_OK)
		status = hu_verifier_set_leeway(v,
		    json_number_value(json_object_get(c, "leeway")));
	if (status != HU_OK) {
		hu_verifier_free(v);
		return status;
	}
	*out = v;
	return HU_OK;
}

static void run_case(const json_t *c)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	const char *expect = json_string_value(json_object_get(c, "expect"));
	const json_t *reasons = json_object_get(c, "reasons");
	const json_t *token = json_object_get(c, "token");
	char detail[HU_DETAIL_SIZE] = "", note[512];
	hu_verifier *v;
	hu_claims *claims = NULL;
	hu_status status;

	status = configure(c, &v, detail);
	if (reasons != NULL && reason_listed(reasons, "configuration-error")) {
		snprintf(note, sizeof note, "[%s] configuration must fail, got %s",
		    name, hu_strerror(status));
		CHECK_MSG(status == HU_ERR_CONFIGURATION, note);
		hu_verifier_free(v);
		return;
	}
	snprintf(note, sizeof note, "[%s] configuration failed: %s (%s)", name,
	    hu_strerror(status), detail);
	CHECK_MSG(status == HU_OK, note);
	if (status != HU_OK)
		return;

	status = hu_verify(v, json_string_value(token), json_string_length(token),
	    json_number_value(json_object_get(c, "now")), &claims, detail,
	    sizeof detail);
	if (strcmp(expect, "accept") == 0) {
		int want_moderator = json_is_true(json_object_get(c, "moderator"));

		snprintf(note, sizeof note, "[%s] expected accept, got %s (%s)", name,
		    hu_strerror(status), detail);
		CHECK_MSG(status == HU_OK, note);
		snprintf(note, sizeof note, "[%s] moderator flag should be %d", name,
		    want_moderator);
		CHECK_MSG(status != HU_OK || hu_claims_is_moderator(claims) == want_moderator,
		    note);
		CHECK_MSG(status != HU_OK || hu_claims_json(claims) != NULL, name);
	} else {
		snprintf(note, sizeof note, "[%s] expected one of the listed reasons, got %s (%s)",
		    name, hu_strerror(status), detail);
		CHECK_MSG(status != HU_OK && reason_listed(reasons, hu_strerror(status)), note);
		CHECK_MSG(claims == NULL, name);
	}
	hu_claims_free(claims);
	hu_verifier_free(v);
}

int main(int argc, char **argv)
{
	char path[4096];
	json_error_t error;
	json_t *corpus, *cases, *c;
	size_t i, decided = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: test_cases SHARED_DIR\n");
		return 2;
	}
	snprintf(path, sizeof path, "%s/cases/tokens.json", argv[1]);
	corpus = json_load_file(path, JSON_ALLOW_NUL, &error);
	if (corpus == NULL) {
		fprintf(stderr, "cannot read %s: %s\n", path, error.text);
		return 2;
	}
	cases = json_object_get(corpus, "cases");
	CHECK(json_array_size(cases) > 0);
	json_array_foreach(cases, i, c) {
		run_case(c);
		decided++;
	}
	printf("test_cases: %zu cases decided\n", decided);
	json_decref(corpus);
	return hu_test_finish("test_cases");
}
