#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

int hu_test_failures;
int hu_test_checks;

void hu_test_fail(const char *file, int line, const char *expr, const char *note)
{
	hu_test_failures++;
	fprintf(stderr, "%s:%d: check failed: %s %s\n", file, line, expr, note);
}

int hu_test_finish(const char *suite)
{
	printf("%s: %d checks, %d failed\n", suite, hu_test_checks, hu_test_failures);
	return hu_test_failures == 0 ? 0 : 1;
}

char *hu_test_read_file(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	long size;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)size + 1)) != NULL) {
		if (fread(data, 1, (size_t)size, f) != (size_t)size) {
			free(data);
			data = NULL;
		} else {
			data[size] = '\0';
			if (len_out != NULL)
				*len_out = (size_t)size;
		}
	}
	fclose(f);
	return data;
}
