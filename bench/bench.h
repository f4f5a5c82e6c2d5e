/*
 * Declarations shared by the two bench programs: hu-bench (timings) and
 * hu-bench-memory (allocation counts and RSS).
 */
#ifndef HU_BENCH_H
#define HU_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>
#include <openssl/evp.h>

#include "huddleup/token.h"

/* One benchmarked operation: runs it iterations times and returns how many
 * runs gave an unexpected result (a wrong status, a missing claims table). */
typedef long (*bench_op)(void *context, long iterations);

struct bench_case {
	const char *label;
	bench_op op;
	void *context;
	/* Index in the same group of the case this one is divided by for the
	 * ratio column, or -1 for no ratio. A floor refers to itself. */
	int floor_index;
};

/* Token sizes the HS256 cases use, in bytes of compact JWS text. */
enum { SIZE_SMALL, SIZE_2K, SIZE_8K, SIZE_COUNT };
extern const size_t bench_token_sizes[SIZE_COUNT];

/* The keys, tokens and configured verifiers every case works on. */
struct bench_fixture {
	int64_t now;                 /* the time all verifications run at */
	unsigned char secret[40];
	const char *issuer, *audience;

	char *hs256[SIZE_COUNT];
	char *hs256_bad_signature[SIZE_COUNT];
	char *oversized[3];
	size_t oversized_len[3];
	char *two_segments, *bad_base64, *header_not_json, *alg_none;
	char *payload_not_json;

	EVP_PKEY *rsa, *ec;
	char *rsa_public_pem, *rsa_private_pem;
	char *ec_public_pem, *ec_private_pem;
	char *rs256, *es256;

	hu_verifier *hs_verifier, *rs_verifier, *es_verifier;
	hu_issuer *hs_issuer, *rs_issuer, *es_issuer;
	hu_token_request request;
};

/* Builds the fixture. Prints the reason and returns -1 on failure. */
int bench_fixture_init(struct bench_fixture *fixture);
void bench_fixture_free(struct bench_fixture *fixture);

/* Context of a hu_verify() case. */
struct verify_context {
	const hu_verifier *verifier;
	const char *token;
	size_t len;
	double now;
	hu_status expected;
	int with_claims;             /* also take and free the hu_claims */
};
long bench_op_hu_verify(void *context, long iterations);

/* The HS256 floor: find the dots, decode the three segments with a plain
 * table lookup, HMAC the signing input from prepared SHA-256 states and
 * compare the tag in constant time. hmac_only skips the decoding. */
struct hs_floor_context;
struct hs_floor_context *bench_hs_floor_new(const unsigned char *secret,
    size_t secret_len, const char *token, int hmac_only);
void bench_hs_floor_free(struct hs_floor_context *context);
long bench_op_hs_floor(void *context, long iterations);

/* The RS and ES floor: EVP_DigestVerify with a parsed key and a signature
 * already in the form OpenSSL takes (DER for ECDSA). With prepared set, the
 * EVP_PKEY_CTX is set up once and each run only hashes and verifies. */
struct pkey_floor_context;
struct pkey_floor_context *bench_pkey_floor_new(EVP_PKEY *pkey,
    const char *token, int is_ecdsa, int prepared);
void bench_pkey_floor_free(struct pkey_floor_context *context);
long bench_op_pkey_floor(void *context, long iterations);

/* libjwt 1.10.2's jwt_decode() followed by jwt_free(). */
struct libjwt_context {
	const char *token;
	const unsigned char *key;
	int key_len;
};
long bench_op_libjwt_decode(void *context, long iterations);

/* hu_issue() followed by hu_free(). */
struct issue_context {
	const hu_issuer *issuer;
	const hu_token_request *request;
	int64_t now;
};
long bench_op_hu_issue(void *context, long iterations);

/* The signing primitive alone, for the issue rows: one-shot HMAC, or
 * EVP_DigestSign with a parsed key. */
struct sign_floor_context {
	EVP_PKEY *pkey;              /* NULL for HMAC */
	const unsigned char *secret;
	size_t secret_len;
	const char *input;           /* the signing input "header.payload" */
	size_t input_len;
};
long bench_op_sign_floor(void *context, long iterations);

/* The Lua half: one Lua state with huddleup.token and Prosody's util.jwt. */
struct lua_bench {
	lua_State *L;
	int have_prosody_jwt;
	char prosody_error[256];     /* why util.jwt could not be loaded */
};

struct lua_paths {
	const char *script;          /* bench/bench.lua */
	const char *module_dir;      /* folder holding huddleup/token.so */
	const char *prosody_dir;     /* Prosody's Lua tree, /usr/lib/prosody */
};

/* Opens the Lua state with alloc (NULL for Lua's default allocator) and
 * loads the runners. Prints the reason and returns -1 on failure. */
int bench_lua_open(struct lua_bench *lua, const struct lua_paths *paths,
    const struct bench_fixture *fixture, lua_Alloc alloc);
void bench_lua_close(struct lua_bench *lua);

/* Context of a case that times a Lua runner. */
struct lua_runner_context {
	lua_State *L;
	int ref;                     /* registry reference of run(n) */
};

/* Makes a runner of kind "binding" (huddleup.token verifier:verify with the
 * claims table), "table_only" (a Lua constructor of the same claims table)
 * or "prosody" (util.jwt.verify). Returns 0 or -1. */
int bench_lua_runner(struct lua_bench *lua, const char *kind,
    const char *token, struct lua_runner_context *out);
long bench_op_lua(void *context, long iterations);

/* Allocation counters of hu-bench-memory, whose malloc family replaces
 * glibc's for the whole process (alloc_count.c). Only that program links
 * them, so the timings of hu-bench carry no counting cost. */
struct bench_alloc_counts {
	unsigned long long calls;    /* calls that obtained or resized memory */
	unsigned long long bytes;    /* bytes those calls requested */
};
extern struct bench_alloc_counts bench_c_allocations;   /* malloc family */
extern struct bench_alloc_counts bench_lua_allocations; /* the Lua state */

/* A lua_Alloc that counts into bench_lua_allocations and bypasses the C
 * counters, so Lua's tables and strings are counted apart from C memory. */
void *bench_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

/* Prints the machine, library versions and build as Markdown. */
void bench_print_machine(void);

/* Reads a field of /proc/self/status ("VmRSS", "VmHWM") in KiB, or -1. */
long bench_proc_status_kib(const char *field);

/* Monotonic time in nanoseconds. */
double bench_now_ns(void);

#endif /* HU_BENCH_H */
