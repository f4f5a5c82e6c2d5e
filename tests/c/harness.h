/* A minimal test harness: CHECK records a failure and goes on. */
#ifndef HU_TEST_HARNESS_H
#define HU_TEST_HARNESS_H

#include <stddef.h>

extern int hu_test_failures;
extern int hu_test_checks;

void hu_test_fail(const char *file, int line, const char *expr, const char *note);

#define CHECK(cond) CHECK_MSG(cond, "")
#define CHECK_MSG(cond, note)                                      \
	do {                                                           \
		hu_test_checks++;                                          \
		if (!(cond))                                               \
			hu_test_fail(__FILE__, __LINE__, #cond, (note));       \
	} while (0)

/* Prints the summary line and returns the process exit code. */
int hu_test_finish(const char *suite);

/* Reads a whole file; the caller frees the result. NULL on failure. */
char *hu_test_read_file(const char *path, size_t *len_out);

#endif
