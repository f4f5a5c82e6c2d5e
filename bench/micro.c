/*
 * hu-bench: times the verifier, the issuer and their peers side by side in
 * one process and prints Markdown tables.
 *
 * Each group of cases runs in rounds. A round times one batch of every case
 * of the group, so slow phases of a shared machine hit all cases alike. A
 * case's row gives the median over the rounds, the 25th to 75th percentile,
 * and the median of its per-round ratio to the group's floor.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#ifndef HU_BENCH_SCRIPT
#define HU_BENCH_SCRIPT "bench/bench.lua"
#endif
#ifndef HU_BENCH_MODULE_DIR
#define HU_BENCH_MODULE_DIR "build/lua"
#endif

#define MAX_CASES 16
#define MAX_ROUNDS 101

struct options {
	int rounds;
	double batch_ns;             /* target time of one batch */
	const char *group_filter;    /* run only groups whose title contains it */
	struct lua_paths paths;
};

struct group {
	const char *title;
	struct bench_case cases[MAX_CASES];
	int count;
	double samples[MAX_CASES][MAX_ROUNDS]; /* ns/op per case and round */
};

static long total_errors;

static void group_init(struct group *g, const char *title)
{
	memset(g, 0, sizeof *g);
	g->title = title;
}

static void add_case(struct group *g, const char *label, bench_op op,
    void *context, int floor_index)
{
	struct bench_case *c;

	if (g->count == MAX_CASES) {
		fprintf(stderr, "hu-bench: group \"%s\" has too many cases\n", g->title);
		exit(2);
	}
	c = &g->cases[g->count++];
	c->label = label;
	c->op = op;
	c->context = context;
	c->floor_index = floor_index;
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Returns the q-quantile (0 to 1) of values, interpolating between ranks. */
static double quantile(const double *values, int count, double q)
{
	double sorted[MAX_ROUNDS], position;
	int below;

	memcpy(sorted, values, (size_t)count * sizeof *values);
	qsort(sorted, (size_t)count, sizeof *sorted, compare_doubles);
	position = q * (count - 1);
	below = (int)position;
	if (below + 1 >= count)
		return sorted[count - 1];
	return sorted[below] + (position - below) * (sorted[below + 1] - sorted[below]);
}

/* Times one batch and returns nanoseconds per operation. */
static double time_batch(const struct bench_case *c, long iterations)
{
	double start = bench_now_ns(), elapsed;
	long errors = c->op(c->context, iterations);

	elapsed = bench_now_ns() - start;
	if (errors != 0) {
		fprintf(stderr, "hu-bench: %s: %ld of %ld runs gave an unexpected result\n",
		    c->label, errors, iterations);
		total_errors += errors;
	}
	return elapsed / (double)iterations;
}

/* Returns the batch size that takes about the target time. */
static long calibrate(const struct bench_case *c, double batch_ns)
{
	long iterations = 1;
	double per_op;

	for (;;) {
		per_op = time_batch(c, iterations);
		if (per_op * (double)iterations >= batch_ns / 8 || iterations >= 1L << 30)
			break;
		iterations *= 2;
	}
	iterations = (long)(batch_ns / per_op);
	return iterations > 0 ? iterations : 1;
}

static void format_us(double ns, char *out, size_t size)
{
	double us = ns / 1000;

	if (us < 10)
		snprintf(out, size, "%.3f", us);
	else if (us < 100)
		snprintf(out, size, "%.2f", us);
	else if (us < 1000)
		snprintf(out, size, "%.1f", us);
	else
		snprintf(out, size, "%.0f", us);
}

static void run_group(struct group *g, const struct options *o)
{
	double (*samples)[MAX_ROUNDS] = g->samples;
	long iterations[MAX_CASES];
	int round, i;

	if (o->group_filter != NULL && strstr(g->title, o->group_filter) == NULL)
		return;
	for (i = 0; i < g->count; i++)
		iterations[i] = calibrate(&g->cases[i], o->batch_ns);
	for (round = 0; round < o->rounds; round++) {
		/* Rotating the start spreads any cost of going first. */
		for (i = 0; i < g->count; i++) {
			int k = (i + round) % g->count;

			samples[k][round] = time_batch(&g->cases[k], iterations[k]);
		}
	}

	printf("### %s\n\n", g->title);
	printf("| case | µs/op (median) | spread p25–p75 (µs) | ops/s | × floor |\n");
	printf("| --- | ---: | ---: | ---: | ---: |\n");
	for (i = 0; i < g->count; i++) {
		const struct bench_case *c = &g->cases[i];
		double median = quantile(samples[i], o->rounds, 0.5);
		char median_text[32], low[32], high[32], ratio_text[32];

		format_us(median, median_text, sizeof median_text);
		format_us(quantile(samples[i], o->rounds, 0.25), low, sizeof low);
		format_us(quantile(samples[i], o->rounds, 0.75), high, sizeof high);
		snprintf(ratio_text, sizeof ratio_text, "–");
		if (c->floor_index >= 0) {
			double ratios[MAX_ROUNDS];

			for (round = 0; round < o->rounds; round++)
				ratios[round] = samples[i][round] / samples[c->floor_index][round];
			snprintf(ratio_text, sizeof ratio_text, "%.2f",
			    quantile(ratios, o->rounds, 0.5));
		}
		printf("| %s | %s | %s–%s | %.0f | %s |\n", c->label, median_text, low,
		    high, 1e9 / median, ratio_text);
	}
	printf("\n");
	fflush(stdout);
}

/* Prints how many times faster case a of g is than case b: the median of
 * their per-round ratios. */
static void print_speedup(const struct group *g, int a, int b,
    const struct options *o)
{
	double ratios[MAX_ROUNDS];
	int round;

	for (round = 0; round < o->rounds; round++)
		ratios[round] = g->samples[b][round] / g->samples[a][round];
	printf("- %s is %.1f× faster than %s.\n", g->cases[a].label,
	    quantile(ratios, o->rounds, 0.5), g->cases[b].label);
}

static void run_hs256_size(const struct bench_fixture *f, int size,
    const struct options *o)
{
	static char titles[SIZE_COUNT][64];
	struct group g;

	struct hs_floor_context *floor = bench_hs_floor_new(f->secret,
	    sizeof f->secret, f->hs256[size], 0);
	struct hs_floor_context *hmac_only = bench_hs_floor_new(f->secret,
	    sizeof f->secret, f->hs256[size], 1);
	const char *token = f->hs256[size];
	struct verify_context plain = { f->hs_verifier, token, strlen(token),
	    (double)f->now, HU_OK, 0 };
	struct verify_context with_claims = plain;
	struct verify_context bad = { f->hs_verifier, f->hs256_bad_signature[size],
	    strlen(token), (double)f->now, HU_ERR_SIGNATURE_MISMATCH, 0 };
	struct libjwt_context libjwt = { token, f->secret, (int)sizeof f->secret };

	with_claims.with_claims = 1;
	snprintf(titles[size], sizeof titles[size], "HS256 verify, %zu-byte token",
	    strlen(token));
	group_init(&g, titles[size]);
	add_case(&g, "floor: decode + HMAC + compare", bench_op_hs_floor, floor, 0);
	add_case(&g, "floor part: HMAC + compare only", bench_op_hs_floor, hmac_only, 0);
	add_case(&g, "hu_verify, all claim checks", bench_op_hu_verify, &plain, 0);
	add_case(&g, "hu_verify + hu_claims returned", bench_op_hu_verify, &with_claims, 0);
	add_case(&g, "hu_verify, bad signature", bench_op_hu_verify, &bad, 0);
	add_case(&g, "libjwt 1.10.2 jwt_decode (no claim checks)",
	    bench_op_libjwt_decode, &libjwt, 0);
	run_group(&g, o);
	bench_hs_floor_free(floor);
	bench_hs_floor_free(hmac_only);
}

static void run_rejections(const struct bench_fixture *f, const struct options *o)
{
	static char labels[3][64];
	struct group g;
	struct hs_floor_context *floor = bench_hs_floor_new(f->secret,
	    sizeof f->secret, f->hs256[SIZE_SMALL], 0);
	struct verify_context oversized[3], malformed[5];
	const struct {
		const char *label, *token;
		hu_status expected;
	} bad[5] = {
		{ "malformed: two segments", f->two_segments, HU_ERR_INVALID_ENCODING },
		{ "malformed: '+' in the payload", f->bad_base64, HU_ERR_INVALID_ENCODING },
		{ "malformed: header not JSON", f->header_not_json, HU_ERR_UNSUPPORTED_HEADER },
		{ "malformed: alg none", f->alg_none, HU_ERR_UNSUPPORTED_ALGORITHM },
		{ "signed payload not JSON", f->payload_not_json, HU_ERR_INVALID_JSON },
	};
	int i;

	group_init(&g, "HS256 rejections (floor: the valid 456-byte token)");
	add_case(&g, "floor: decode + HMAC + compare", bench_op_hs_floor, floor, 0);
	for (i = 0; i < 3; i++) {
		struct verify_context c = { f->hs_verifier, f->oversized[i],
		    f->oversized_len[i], (double)f->now, HU_ERR_TOKEN_TOO_LARGE, 0 };

		oversized[i] = c;
		snprintf(labels[i], sizeof labels[i], "oversized: %zu bytes",
		    f->oversized_len[i]);
		add_case(&g, labels[i], bench_op_hu_verify, &oversized[i], 0);
	}
	for (i = 0; i < 5; i++) {
		struct verify_context c = { f->hs_verifier, bad[i].token,
		    strlen(bad[i].token), (double)f->now, bad[i].expected, 0 };

		malformed[i] = c;
		add_case(&g, bad[i].label, bench_op_hu_verify, &malformed[i], 0);
	}
	run_group(&g, o);
	bench_hs_floor_free(floor);
}

static void run_pkey(const struct bench_fixture *f, int is_ecdsa,
    const struct options *o)
{
	const char *token = is_ecdsa ? f->es256 : f->rs256;
	const char *pem = is_ecdsa ? f->ec_public_pem : f->rsa_public_pem;
	EVP_PKEY *pkey = is_ecdsa ? f->ec : f->rsa;
	struct group g;
	struct pkey_floor_context *floor = bench_pkey_floor_new(pkey, token, is_ecdsa, 0);
	struct pkey_floor_context *prepared = bench_pkey_floor_new(pkey, token, is_ecdsa, 1);
	struct verify_context plain = { is_ecdsa ? f->es_verifier : f->rs_verifier,
	    token, strlen(token), (double)f->now, HU_OK, 0 };
	struct verify_context with_claims = plain;
	struct libjwt_context libjwt = { token, (const unsigned char *)pem,
	    (int)strlen(pem) };

	with_claims.with_claims = 1;
	group_init(&g, is_ecdsa ? "ES256 verify (P-256)" : "RS256 verify (2048-bit key)");
	if (floor == NULL || prepared == NULL) {
		fprintf(stderr, "hu-bench: cannot set up the %s floor\n", g.title);
		total_errors++;
		return;
	}
	add_case(&g, "floor: EVP_DigestVerify, parsed key", bench_op_pkey_floor, floor, 0);
	add_case(&g, "floor part: SHA-256 + EVP_PKEY_verify, context set up once",
	    bench_op_pkey_floor, prepared, 0);
	add_case(&g, "hu_verify, all claim checks", bench_op_hu_verify, &plain, 0);
	add_case(&g, "hu_verify + hu_claims returned", bench_op_hu_verify, &with_claims, 0);
	add_case(&g, "libjwt 1.10.2 jwt_decode (parses the PEM per call)",
	    bench_op_libjwt_decode, &libjwt, 0);
	run_group(&g, o);
	bench_pkey_floor_free(floor);
	bench_pkey_floor_free(prepared);
}

static void run_issue(const struct bench_fixture *f, const struct options *o)
{
	struct group g;
	const char *input = f->hs256[SIZE_SMALL];
	size_t input_len = (size_t)(strrchr(input, '.') - input);
	struct sign_floor_context hmac = { NULL, f->secret, sizeof f->secret, input, input_len };
	struct sign_floor_context rsa = { f->rsa, NULL, 0, input, input_len };
	struct sign_floor_context ec = { f->ec, NULL, 0, input, input_len };
	struct issue_context hs = { f->hs_issuer, &f->request, f->now };
	struct issue_context rs = { f->rs_issuer, &f->request, f->now };
	struct issue_context es = { f->es_issuer, &f->request, f->now };

	group_init(&g, "Issue (hu_issue; floor: the signature alone)");
	add_case(&g, "floor: HMAC-SHA-256 one-shot", bench_op_sign_floor, &hmac, 0);
	add_case(&g, "hu_issue HS256", bench_op_hu_issue, &hs, 0);
	add_case(&g, "floor: EVP_DigestSign RSA 2048", bench_op_sign_floor, &rsa, 2);
	add_case(&g, "hu_issue RS256", bench_op_hu_issue, &rs, 2);
	add_case(&g, "floor: EVP_DigestSign P-256", bench_op_sign_floor, &ec, 4);
	add_case(&g, "hu_issue ES256", bench_op_hu_issue, &es, 4);
	run_group(&g, o);
}

static void run_lua(const struct bench_fixture *f, const struct options *o)
{
	static struct group g;
	struct hs_floor_context *floors[SIZE_COUNT] = { NULL };
	struct lua_runner_context binding[SIZE_COUNT], prosody[SIZE_COUNT], table_only;
	static char labels[SIZE_COUNT][4][80];
	struct lua_bench lua;
	int size, binding_index[SIZE_COUNT], prosody_index[SIZE_COUNT];

	group_init(&g, "Lua 5.4: verify and build the claims table");
	if (o->group_filter != NULL && strstr(g.title, o->group_filter) == NULL)
		return;
	if (bench_lua_open(&lua, &o->paths, f, NULL) != 0) {
		total_errors++;
		bench_lua_close(&lua);
		return;
	}
	for (size = 0; size < SIZE_COUNT; size++) {
		int floor_index = g.count;
		size_t len = strlen(f->hs256[size]);

		floors[size] = bench_hs_floor_new(f->secret, sizeof f->secret,
		    f->hs256[size], 0);
		snprintf(labels[size][0], sizeof labels[size][0],
		    "floor (C): decode + HMAC + compare, %zu B", len);
		snprintf(labels[size][1], sizeof labels[size][1],
		    "huddleup.token verify + claims table, %zu B", len);
		snprintf(labels[size][2], sizeof labels[size][2],
		    "Prosody util.jwt.verify (no claim checks), %zu B", len);
		add_case(&g, labels[size][0], bench_op_hs_floor, floors[size], floor_index);
		if (bench_lua_runner(&lua, "binding", f->hs256[size], &binding[size]) != 0) {
			total_errors++;
			goto out;
		}
		binding_index[size] = g.count;
		add_case(&g, labels[size][1], bench_op_lua, &binding[size], floor_index);
		if (size == SIZE_SMALL) {
			snprintf(labels[size][3], sizeof labels[size][3],
			    "floor part: Lua constructor of the same claims table, %zu B", len);
			if (bench_lua_runner(&lua, "table_only", f->hs256[size], &table_only) != 0) {
				total_errors++;
				goto out;
			}
			add_case(&g, labels[size][3], bench_op_lua, &table_only, floor_index);
		}
		prosody_index[size] = -1;
		if (lua.have_prosody_jwt) {
			if (bench_lua_runner(&lua, "prosody", f->hs256[size], &prosody[size]) != 0) {
				total_errors++;
				goto out;
			}
			prosody_index[size] = g.count;
			add_case(&g, labels[size][2], bench_op_lua, &prosody[size], floor_index);
		}
	}
	run_group(&g, o);

	for (size = 0; size < SIZE_COUNT; size++)
		if (prosody_index[size] >= 0)
			print_speedup(&g, binding_index[size], prosody_index[size], o);
	if (!lua.have_prosody_jwt)
		printf("- Prosody's util.jwt was not measured: %s\n", lua.prosody_error);
	printf("- Jitsi's luajwtjitsi was not measured: it is published only on "
	    "LuaRocks, which this machine cannot reach, and it is not vendored.\n\n");
out:
	for (size = 0; size < SIZE_COUNT; size++)
		bench_hs_floor_free(floors[size]);
	bench_lua_close(&lua);
}

static int parse_options(int argc, char **argv, struct options *o)
{
	const char *smoke = getenv("HU_BENCH_SMOKE");
	int i;

	o->rounds = 21;
	o->batch_ns = 10e6;
	o->group_filter = NULL;
	o->paths.script = HU_BENCH_SCRIPT;
	o->paths.module_dir = HU_BENCH_MODULE_DIR;
	o->paths.prosody_dir = "/usr/lib/prosody";
	if (smoke != NULL && smoke[0] != '\0' && strcmp(smoke, "0") != 0) {
		o->rounds = 3;
		o->batch_ns = 0.2e6;
	}

	for (i = 1; i < argc; i++) {
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(argv[i], "--smoke") == 0) {
			o->rounds = 3;
			o->batch_ns = 0.2e6;
			continue;
		}
		if (value == NULL)
			goto usage;
		if (strcmp(argv[i], "--rounds") == 0)
			o->rounds = atoi(value);
		else if (strcmp(argv[i], "--batch-ms") == 0)
			o->batch_ns = strtod(value, NULL) * 1e6;
		else if (strcmp(argv[i], "--group") == 0)
			o->group_filter = value;
		else if (strcmp(argv[i], "--script") == 0)
			o->paths.script = value;
		else if (strcmp(argv[i], "--module-dir") == 0)
			o->paths.module_dir = value;
		else if (strcmp(argv[i], "--prosody-dir") == 0)
			o->paths.prosody_dir = value;
		else
			goto usage;
		i++;
	}
	if (o->rounds < 1 || o->rounds > MAX_ROUNDS || !(o->batch_ns > 0))
		goto usage;
	return 0;

usage:
	fprintf(stderr,
	    "usage: hu-bench [--smoke] [--rounds N] [--batch-ms MS] [--group TEXT]\n"
	    "                [--script bench.lua] [--module-dir DIR] [--prosody-dir DIR]\n"
	    "  --smoke        3 rounds of 0.2 ms batches (also HU_BENCH_SMOKE=1)\n"
	    "  --rounds N     rounds per group, 1 to %d (default 21)\n"
	    "  --batch-ms MS  target time of one batch in milliseconds (default 10)\n"
	    "  --group TEXT   run only the groups whose title contains TEXT\n",
	    MAX_ROUNDS);
	return -1;
}

int main(int argc, char **argv)
{
	struct bench_fixture fixture;
	struct options o;
	int size;

	if (parse_options(argc, argv, &o) != 0)
		return 2;
	if (bench_fixture_init(&fixture) != 0) {
		bench_fixture_free(&fixture);
		return 1;
	}

	printf("# hu-bench\n\n");
	bench_print_machine();
	printf("%d rounds per group, batches of about %.1f ms.\n\n", o.rounds,
	    o.batch_ns / 1e6);
	for (size = 0; size < SIZE_COUNT; size++)
		run_hs256_size(&fixture, size, &o);
	run_rejections(&fixture, &o);
	run_pkey(&fixture, 0, &o);
	run_pkey(&fixture, 1, &o);
	run_issue(&fixture, &o);
	run_lua(&fixture, &o);
	printf("Peak RSS of this process: %ld KiB\n", bench_proc_status_kib("VmHWM"));

	bench_fixture_free(&fixture);
	if (total_errors != 0) {
		fprintf(stderr, "hu-bench: %ld runs gave an unexpected result\n",
		    total_errors);
		return 1;
	}
	return 0;
}
