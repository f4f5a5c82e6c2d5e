/*
 * hu-bench-memory: allocations per operation, and whether RSS stays flat
 * over millions of verifications in one process.
 *
 * alloc_count.c counts every call of the malloc family in the process. On
 * top of that, jansson's and OpenSSL's own allocator hooks count what those
 * two libraries ask for, so each row shows where its allocations come from.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "bench.h"

#ifndef HU_BENCH_SCRIPT
#define HU_BENCH_SCRIPT "bench/bench.lua"
#endif
#ifndef HU_BENCH_MODULE_DIR
#define HU_BENCH_MODULE_DIR "build/lua"
#endif

struct options {
	long iterations;             /* verifications in the RSS runs */
	long checkpoint;             /* RSS is read first after this many */
	long counted;                /* runs per allocation row */
	struct lua_paths paths;
};

static unsigned long long jansson_calls, openssl_calls;

static void *counting_json_malloc(size_t size)
{
	jansson_calls++;
	return malloc(size);
}

static void counting_json_free(void *ptr)
{
	free(ptr);
}

static void *counting_crypto_malloc(size_t size, const char *file, int line)
{
	(void)file;
	(void)line;
	openssl_calls++;
	return malloc(size);
}

static void *counting_crypto_realloc(void *ptr, size_t size, const char *file,
    int line)
{
	(void)file;
	(void)line;
	if (size > 0)
		openssl_calls++;
	return realloc(ptr, size);
}

static void counting_crypto_free(void *ptr, const char *file, int line)
{
	(void)file;
	(void)line;
	free(ptr);
}

static long total_errors;

struct row {
	const char *label;
	bench_op op;
	void *context;
};

static void print_allocation_row(const struct row *r, long counted)
{
	struct bench_alloc_counts c_before, lua_before;
	unsigned long long jansson_before, openssl_before;
	double n = (double)counted;
	long errors;

	/* Warm-up: first calls fill caches (OpenSSL's fetched algorithms, Lua's
	 * interned strings) that later calls reuse. */
	errors = r->op(r->context, 100);
	c_before = bench_c_allocations;
	lua_before = bench_lua_allocations;
	jansson_before = jansson_calls;
	openssl_before = openssl_calls;
	errors += r->op(r->context, counted);
	if (errors != 0) {
		fprintf(stderr, "hu-bench-memory: %s: %ld runs gave an unexpected result\n",
		    r->label, errors);
		total_errors += errors;
	}

	printf("| %s | %.2f | %.2f | %.2f | %.0f | %.2f |\n", r->label,
	    (double)(bench_c_allocations.calls - c_before.calls) / n,
	    (double)(jansson_calls - jansson_before) / n,
	    (double)(openssl_calls - openssl_before) / n,
	    (double)(bench_c_allocations.bytes - c_before.bytes) / n,
	    (double)(bench_lua_allocations.calls - lua_before.calls) / n);
}

static void print_allocations(const struct bench_fixture *f, struct lua_bench *lua,
    const struct options *o)
{
	struct verify_context small = { f->hs_verifier, f->hs256[SIZE_SMALL],
	    strlen(f->hs256[SIZE_SMALL]), (double)f->now, HU_OK, 0 };
	struct verify_context small_claims = small;
	struct verify_context large = { f->hs_verifier, f->hs256[SIZE_8K],
	    strlen(f->hs256[SIZE_8K]), (double)f->now, HU_OK, 0 };
	struct verify_context bad_small = { f->hs_verifier,
	    f->hs256_bad_signature[SIZE_SMALL], strlen(f->hs256[SIZE_SMALL]),
	    (double)f->now, HU_ERR_SIGNATURE_MISMATCH, 0 };
	struct verify_context bad_large = { f->hs_verifier,
	    f->hs256_bad_signature[SIZE_8K], strlen(f->hs256[SIZE_8K]),
	    (double)f->now, HU_ERR_SIGNATURE_MISMATCH, 0 };
	struct verify_context oversized = { f->hs_verifier, f->oversized[2],
	    f->oversized_len[2], (double)f->now, HU_ERR_TOKEN_TOO_LARGE, 0 };
	struct verify_context malformed = { f->hs_verifier, f->two_segments,
	    strlen(f->two_segments), (double)f->now, HU_ERR_INVALID_ENCODING, 0 };
	struct verify_context rs = { f->rs_verifier, f->rs256, strlen(f->rs256),
	    (double)f->now, HU_OK, 0 };
	struct verify_context es = { f->es_verifier, f->es256, strlen(f->es256),
	    (double)f->now, HU_OK, 0 };
	struct libjwt_context libjwt = { f->hs256[SIZE_SMALL], f->secret,
	    (int)sizeof f->secret };
	struct lua_runner_context binding, prosody;
	struct row rows[] = {
		{ "hu_verify HS256 456 B, all claim checks", bench_op_hu_verify, &small },
		{ "hu_verify HS256 456 B + hu_claims returned", bench_op_hu_verify, &small_claims },
		{ "hu_verify HS256 8 KB", bench_op_hu_verify, &large },
		{ "hu_verify, bad signature, 456 B", bench_op_hu_verify, &bad_small },
		{ "hu_verify, bad signature, 8 KB", bench_op_hu_verify, &bad_large },
		{ "hu_verify, oversized 1 MiB", bench_op_hu_verify, &oversized },
		{ "hu_verify, malformed (two segments)", bench_op_hu_verify, &malformed },
		{ "hu_verify RS256", bench_op_hu_verify, &rs },
		{ "hu_verify ES256", bench_op_hu_verify, &es },
		{ "libjwt 1.10.2 jwt_decode HS256 456 B", bench_op_libjwt_decode, &libjwt },
	};
	size_t i;

	small_claims.with_claims = 1;
	printf("### Allocations per operation (mean of %ld runs)\n\n", o->counted);
	printf("| case | C allocations | of which jansson | of which OpenSSL "
	    "| C bytes requested | Lua allocations |\n");
	printf("| --- | ---: | ---: | ---: | ---: | ---: |\n");
	for (i = 0; i < sizeof rows / sizeof *rows; i++)
		print_allocation_row(&rows[i], o->counted);

	if (bench_lua_runner(lua, "binding", f->hs256[SIZE_SMALL], &binding) == 0) {
		struct row r = { "huddleup.token verify + claims table, 456 B",
		    bench_op_lua, &binding };

		print_allocation_row(&r, o->counted);
	} else {
		total_errors++;
	}
	if (lua->have_prosody_jwt &&
	    bench_lua_runner(lua, "prosody", f->hs256[SIZE_SMALL], &prosody) == 0) {
		struct row r = { "Prosody util.jwt.verify, 456 B", bench_op_lua, &prosody };

		print_allocation_row(&r, o->counted);
	}
	printf("\n");
}

/* Runs op up to the checkpoint and then to the full count, printing RSS at
 * both points. */
static void print_rss_run(const char *label, bench_op op, void *context,
    const struct options *o)
{
	long done = 0, errors = 0, chunk = 10000, rss_checkpoint, rss_end;

	while (done < o->checkpoint) {
		long n = o->checkpoint - done < chunk ? o->checkpoint - done : chunk;

		errors += op(context, n);
		done += n;
	}
	rss_checkpoint = bench_proc_status_kib("VmRSS");
	while (done < o->iterations) {
		long n = o->iterations - done < chunk ? o->iterations - done : chunk;

		errors += op(context, n);
		done += n;
	}
	rss_end = bench_proc_status_kib("VmRSS");
	if (errors != 0) {
		fprintf(stderr, "hu-bench-memory: %s: %ld runs gave an unexpected result\n",
		    label, errors);
		total_errors += errors;
	}
	printf("| %s | %ld | %ld | %ld | %+ld |\n", label, o->checkpoint, rss_checkpoint,
	    rss_end, rss_end - rss_checkpoint);
	fflush(stdout);
}

static void print_rss(const struct bench_fixture *f, struct lua_bench *lua,
    const struct options *o)
{
	struct verify_context c_api = { f->hs_verifier, f->hs256[SIZE_SMALL],
	    strlen(f->hs256[SIZE_SMALL]), (double)f->now, HU_OK, 1 };
	struct lua_runner_context binding;

	printf("### RSS over %ld verifications per row (HS256, 456 B)\n\n", o->iterations);
	printf("| case | RSS read first after | RSS then (KiB) | RSS at the end (KiB) "
	    "| change (KiB) |\n");
	printf("| --- | ---: | ---: | ---: | ---: |\n");
	print_rss_run("hu_verify + hu_claims returned and freed", bench_op_hu_verify,
	    &c_api, o);
	if (bench_lua_runner(lua, "binding", f->hs256[SIZE_SMALL], &binding) == 0)
		print_rss_run("huddleup.token verify + claims table", bench_op_lua,
		    &binding, o);
	else
		total_errors++;
	printf("\nPeak RSS of this process (VmHWM): %ld KiB\n",
	    bench_proc_status_kib("VmHWM"));
}

static long parse_count(const char *text)
{
	char *end;
	double value = strtod(text, &end);

	if (end == text || *end != '\0' || !(value >= 1) || value > 1e12)
		return -1;
	return (long)value;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	const char *smoke = getenv("HU_BENCH_SMOKE");
	const char *iterations = getenv("HU_BENCH_ITERATIONS");
	int i;

	o->iterations = 10000000;
	o->checkpoint = 100000;
	o->counted = 10000;
	o->paths.script = HU_BENCH_SCRIPT;
	o->paths.module_dir = HU_BENCH_MODULE_DIR;
	o->paths.prosody_dir = "/usr/lib/prosody";
	if (smoke != NULL && smoke[0] != '\0' && strcmp(smoke, "0") != 0) {
		o->iterations = 20000;
		o->checkpoint = 5000;
		o->counted = 1000;
	}
	if (iterations != NULL && (o->iterations = parse_count(iterations)) < 0)
		goto usage;

	for (i = 1; i < argc; i++) {
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(argv[i], "--smoke") == 0) {
			o->iterations = 20000;
			o->checkpoint = 5000;
			o->counted = 1000;
			continue;
		}
		if (value == NULL)
			goto usage;
		if (strcmp(argv[i], "--iterations") == 0)
			o->iterations = parse_count(value);
		else if (strcmp(argv[i], "--checkpoint") == 0)
			o->checkpoint = parse_count(value);
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
	if (o->iterations < 1 || o->checkpoint < 1)
		goto usage;
	if (o->checkpoint > o->iterations)
		o->checkpoint = o->iterations;
	return 0;

usage:
	fprintf(stderr,
	    "usage: hu-bench-memory [--smoke] [--iterations N] [--checkpoint N]\n"
	    "                       [--script bench.lua] [--module-dir DIR] [--prosody-dir DIR]\n"
	    "  --smoke          20000 verifications, RSS first read after 5000\n"
	    "                   (also HU_BENCH_SMOKE=1)\n"
	    "  --iterations N   verifications per RSS row (default 10000000, also\n"
	    "                   HU_BENCH_ITERATIONS)\n"
	    "  --checkpoint N   verifications before the first RSS reading (default 100000)\n");
	return -1;
}

int main(int argc, char **argv)
{
	struct bench_fixture fixture;
	struct lua_bench lua;
	struct options o;
	int hooked;

	/* OpenSSL accepts new allocator hooks only before its first allocation. */
	hooked = CRYPTO_set_mem_functions(counting_crypto_malloc,
	    counting_crypto_realloc, counting_crypto_free);
	json_set_alloc_funcs(counting_json_malloc, counting_json_free);

	if (parse_options(argc, argv, &o) != 0)
		return 2;
	if (bench_fixture_init(&fixture) != 0) {
		bench_fixture_free(&fixture);
		return 1;
	}
	if (bench_lua_open(&lua, &o.paths, &fixture, bench_lua_alloc) != 0) {
		bench_lua_close(&lua);
		bench_fixture_free(&fixture);
		return 1;
	}

	printf("# hu-bench-memory\n\n");
	bench_print_machine();
	if (!hooked)
		printf("OpenSSL refused the allocator hooks, so its column is 0.\n\n");
	print_allocations(&fixture, &lua, &o);
	print_rss(&fixture, &lua, &o);

	bench_lua_close(&lua);
	bench_fixture_free(&fixture);
	if (total_errors != 0) {
		fprintf(stderr, "hu-bench-memory: %ld runs gave an unexpected result\n",
		    total_errors);
		return 1;
	}
	return 0;
}
