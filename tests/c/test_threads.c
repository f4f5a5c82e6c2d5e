/*
 * Thread safety as token.h states it: many threads verify with one
 * configured hu_verifier at once, while other threads issue tokens. The
 * issuing threads share one issuer, which nobody reconfigures, and each
 * also has an issuer of its own. Built with HU_TSAN=ON, ThreadSanitizer
 * checks every memory access. Without it, the test still checks every
 * result.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "harness.h"
#include "huddleup/token.h"

#define NOW 1767225600
#define SECRET "thread-test-secret-0123456789abcdef"
#define APP_ID "thread-app"
#define VERIFY_THREADS 3
#define ISSUE_THREADS 2
#define VERIFY_ROUNDS 300 /* passes over all sample tokens per thread */
#define ISSUE_ROUNDS 150  /* tokens issued per issuing thread and issuer */

/* One token with the outcome every thread must see. */
struct sample {
	char *token;
	double now;
	hu_status expected;
	const char *room; /* for accepted samples */
	int moderator;
};

struct shared_state {
	hu_verifier *verifier;
	const hu_issuer *shared_issuer; /* used by several threads, never changed */
	char *ec_private_pem;
	struct sample samples[8];
	size_t sample_count;
	pthread_barrier_t start;
};

/* Per-thread results, checked by the main thread: CHECK is not thread-safe. */
struct thread_result {
	struct shared_state *state;
	int index;
	long verified;
	long issued;
	long wrong;
	char first_error[256];
};

static void note_wrong(struct thread_result *result, const char *what,
    hu_status status, const char *detail)
{
	if (result->wrong++ == 0)
		snprintf(result->first_error, sizeof result->first_error,
		    "thread %d: %s: %s (%s)", result->index, what,
		    hu_strerror(status), detail);
}

/* Writes a new key's private or public half as PEM; the caller frees it. */
static char *key_to_pem(EVP_PKEY *key, int private_half)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *pem = NULL;
	long len;
	int ok;

	if (bio == NULL)
		return NULL;
	ok = private_half ?
	    PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) :
	    PEM_write_bio_PUBKEY(bio, key);
	len = BIO_get_mem_data(bio, &data);
	if (ok && len > 0 && (pem = malloc((size_t)len + 1)) != NULL) {
		memcpy(pem, data, (size_t)len);
		pem[len] = '\0';
	}
	BIO_free(bio);
	return pem;
}

static char *issue(const hu_issuer *issuer, const char *room, int moderator,
    char *detail)
{
	hu_token_request request = { 0 };
	char *token = NULL;
	hu_status status;

	request.room = room;
	request.name = "Thread Tester";
	request.moderator = moderator;
	status = hu_issue(issuer, &request, NOW, &token, detail, HU_DETAIL_SIZE);
	return status == HU_OK ? token : NULL;
}

static void add_sample(struct shared_state *state, char *token, double now,
    hu_status expected, const char *room, int moderator)
{
	struct sample *s = &state->samples[state->sample_count++];

	CHECK(token != NULL);
	s->token = token;
	s->now = now;
	s->expected = expected;
	s->room = room;
	s->moderator = moderator;
}

/* Checks one verification against the expected outcome. Returns 0 when
 * it matches. */
static int verify_matches(const hu_verifier *verifier, const char *token,
    double now, hu_status expected, const char *room, int moderator,
    struct thread_result *result)
{
	char detail[HU_DETAIL_SIZE];
	hu_claims *claims = NULL;
	const char *claim_room;
	hu_status status;
	int ok;

	status = hu_verify(verifier, token, strlen(token), now, &claims, detail,
	    sizeof detail);
	if (status != expected) {
		note_wrong(result, "unexpected status", status, detail);
		hu_claims_free(claims);
		return -1;
	}
	if (status != HU_OK)
		return 0;

	claim_room = hu_claims_get_string(claims, "room", NULL);
	ok = claim_room != NULL && strcmp(claim_room, room) == 0 &&
	    hu_claims_is_moderator(claims) == moderator &&
	    hu_claims_check_room(claims, room, strlen(room)) == HU_OK &&
	    hu_claims_json(claims) != NULL;
	if (!ok)
		note_wrong(result, "claims differ from the issued ones", status, room);
	hu_claims_free(claims);
	return ok ? 0 : -1;
}

static void *verify_thread(void *arg)
{
	struct thread_result *result = arg;
	struct shared_state *state = result->state;
	int round;
	size_t i;

	pthread_barrier_wait(&state->start);
	for (round = 0; round < VERIFY_ROUNDS; round++) {
		for (i = 0; i < state->sample_count; i++) {
			const struct sample *s = &state->samples[i];

			verify_matches(state->verifier, s->token, s->now, s->expected,
			    s->room, s->moderator, result);
			result->verified++;
		}
	}
	return NULL;
}

/* Issues with the shared issuer and with one of its own (ES256), and
 * verifies each new token with the shared verifier. */
static void *issue_thread(void *arg)
{
	struct thread_result *result = arg;
	struct shared_state *state = result->state;
	char detail[HU_DETAIL_SIZE] = "";
	char room[64];
	hu_issuer *own = NULL;
	hu_status status;
	int round;

	status = hu_issuer_new_private_key_pem(&own, "ES256", APP_ID, "ec",
	    state->ec_private_pem, strlen(state->ec_private_pem), detail,
	    sizeof detail);
	if (status != HU_OK)
		note_wrong(result, "own issuer", status, detail);

	pthread_barrier_wait(&state->start);
	for (round = 0; round < ISSUE_ROUNDS && own != NULL; round++) {
		const hu_issuer *issuers[2] = { state->shared_issuer, own };
		int which;

		for (which = 0; which < 2; which++) {
			int moderator = (round + which) % 2;
			char *token;

			snprintf(room, sizeof room, "room-%d-%d-%d", result->index,
			    which, round);
			token = issue(issuers[which], room, moderator, detail);
			if (token == NULL) {
				note_wrong(result, "issue", HU_ERR_INTERNAL, detail);
				continue;
			}
			result->issued++;
			verify_matches(state->verifier, token, NOW, HU_OK, room,
			    moderator, result);
			result->verified++;
			hu_free(token);
		}
	}
	hu_issuer_free(own);
	return NULL;
}

/* Configures the shared verifier (HS256 as the default key, ES256 under
 * kid "ec", RS256 under kid "rsa") and one issuer for each key. Returns 1
 * on success. */
static int setup(struct shared_state *state, hu_issuer **hmac_out,
    hu_issuer **rsa_out, hu_issuer **ec_out)
{
	char detail[HU_DETAIL_SIZE] = "";
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	EVP_PKEY *rsa = EVP_RSA_gen(2048);
	char *ec_public = key_to_pem(ec, 0), *rsa_public = key_to_pem(rsa, 0);
	char *rsa_private = key_to_pem(rsa, 1);
	int ok = 1;

	state->ec_private_pem = key_to_pem(ec, 1);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa);
	if (ec_public == NULL || rsa_public == NULL || rsa_private == NULL ||
	    state->ec_private_pem == NULL) {
		CHECK_MSG(0, "key generation failed");
		ok = 0;
		goto out;
	}

	state->verifier = hu_verifier_new();
	ok = state->verifier != NULL &&
	    hu_verifier_add_hmac_key(state->verifier, NULL, "HS256", SECRET,
	        strlen(SECRET), detail, sizeof detail) == HU_OK &&
	    hu_verifier_add_public_key_pem(state->verifier, "ec", "ES256",
	        ec_public, strlen(ec_public), detail, sizeof detail) == HU_OK &&
	    hu_verifier_add_public_key_pem(state->verifier, "rsa", "RS256",
	        rsa_public, strlen(rsa_public), detail, sizeof detail) == HU_OK &&
	    hu_verifier_add_issuer(state->verifier, APP_ID) == HU_OK;
	CHECK_MSG(ok, detail);
	if (!ok)
		goto out;

	ok = hu_issuer_new_hmac(hmac_out, "HS256", APP_ID, SECRET, strlen(SECRET),
	        detail, sizeof detail) == HU_OK &&
	    hu_issuer_new_private_key_pem(rsa_out, "RS256", APP_ID, "rsa",
	        rsa_private, strlen(rsa_private), detail, sizeof detail) == HU_OK &&
	    hu_issuer_new_private_key_pem(ec_out, "ES256", APP_ID, "ec",
	        state->ec_private_pem, strlen(state->ec_private_pem), detail,
	        sizeof detail) == HU_OK;
	CHECK_MSG(ok, detail);

out:
	free(ec_public);
	free(rsa_public);
	free(rsa_private);
	return ok;
}

int main(void)
{
	struct shared_state state;
	struct thread_result results[VERIFY_THREADS + ISSUE_THREADS];
	pthread_t threads[VERIFY_THREADS + ISSUE_THREADS];
	hu_issuer *hmac = NULL, *rsa = NULL, *ec = NULL;
	char detail[HU_DETAIL_SIZE];
	char *tampered;
	long verified = 0, issued = 0;
	int i, thread_count = VERIFY_THREADS + ISSUE_THREADS;
	size_t s;

	memset(&state, 0, sizeof state);
	memset(results, 0, sizeof results);
	if (!setup(&state, &hmac, &rsa, &ec))
		goto out;
	state.shared_issuer = hmac;

	add_sample(&state, issue(hmac, "hmac-room", 1, detail), NOW, HU_OK,
	    "hmac-room", 1);
	add_sample(&state, issue(rsa, "rsa-room", 0, detail), NOW, HU_OK,
	    "rsa-room", 0);
	add_sample(&state, issue(ec, "ec-room", 1, detail), NOW, HU_OK,
	    "ec-room", 1);
	add_sample(&state, issue(hmac, "late-room", 0, detail), NOW + 86400.0,
	    HU_ERR_TOKEN_EXPIRED, NULL, 0);
	tampered = issue(rsa, "tampered-room", 0, detail);
	if (tampered != NULL) {
		/* Flip a bit in the first signature character; every base64url
		 * character's first bits are significant, so the form stays
		 * canonical. */
		char *sig = strrchr(tampered, '.') + 1;

		sig[0] = sig[0] == 'A' ? 'B' : 'A';
	}
	add_sample(&state, tampered, NOW, HU_ERR_SIGNATURE_MISMATCH, NULL, 0);
	if (state.sample_count != 5 || hu_test_failures > 0)
		goto out;

	pthread_barrier_init(&state.start, NULL, (unsigned)thread_count);
	for (i = 0; i < thread_count; i++) {
		results[i].state = &state;
		results[i].index = i;
		CHECK(pthread_create(&threads[i], NULL,
		    i < VERIFY_THREADS ? verify_thread : issue_thread,
		    &results[i]) == 0);
	}
	for (i = 0; i < thread_count; i++) {
		CHECK(pthread_join(threads[i], NULL) == 0);
		CHECK_MSG(results[i].wrong == 0, results[i].first_error);
		verified += results[i].verified;
		issued += results[i].issued;
	}
	pthread_barrier_destroy(&state.start);
	CHECK(verified == (long)VERIFY_THREADS * VERIFY_ROUNDS * 5 +
	    (long)ISSUE_THREADS * ISSUE_ROUNDS * 2);
	CHECK(issued == (long)ISSUE_THREADS * ISSUE_ROUNDS * 2);
	printf("test_threads: %d threads, %ld verifications, %ld tokens issued\n",
	    thread_count, verified, issued);

out:
	for (s = 0; s < state.sample_count; s++)
		hu_free(state.samples[s].token);
	hu_issuer_free(hmac);
	hu_issuer_free(rsa);
	hu_issuer_free(ec);
	hu_verifier_free(state.verifier);
	free(state.ec_private_pem);
	return hu_test_finish("test_threads");
}
