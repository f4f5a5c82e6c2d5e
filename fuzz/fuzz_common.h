/*
 * Settings shared by the fuzz targets. The secret, issuer and time are those
 * of the HS256 tokens in the seed corpus, so that seeds reach the claim
 * checks before the fuzzer mutates them.
 */
#ifndef HU_FUZZ_COMMON_H
#define HU_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_SECRET "test-only-shared-secret-0123456789abcdef"
#define FUZZ_APP_ID "my-app"
#define FUZZ_NOW 1767225600.0

/* Stops the run with a message; libFuzzer saves the input as a crash. */
#define FUZZ_ASSERT(cond, ...)                                          \
	do {                                                            \
		if (!(cond)) {                                              \
			fprintf(stderr, "fuzz property failed: %s: ", #cond);   \
			fprintf(stderr, __VA_ARGS__);                           \
			fputc('\n', stderr);                                    \
			abort();                                                \
		}                                                           \
	} while (0)

#endif
