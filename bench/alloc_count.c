/*
 * Counting replacements of the malloc family for hu-bench-memory.
 *
 * An executable's own malloc, calloc, realloc and free take the place of
 * glibc's for every library the process loads, OpenSSL, jansson, libjwt,
 * Lua and Prosody's C modules included, and glibc routes its internal
 * allocations through them too (glibc manual, "Replacing malloc"). Each
 * replacement counts, then calls glibc's allocator under its __libc_ name.
 * No LD_PRELOAD and no change to the code under test is needed.
 *
 * NOTE: the counters are plain integers because the bench is single-threaded;
 * a threaded caller would need atomic counters.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "bench.h"

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t count, size_t size);
void *__libc_realloc(void *ptr, size_t size);
void *__libc_memalign(size_t alignment, size_t size);
void __libc_free(void *ptr);

/* glibc's memalign, declared here because <malloc.h> is glibc-specific. */
void *memalign(size_t alignment, size_t size);

struct bench_alloc_counts bench_c_allocations;
struct bench_alloc_counts bench_lua_allocations;

static void count(struct bench_alloc_counts *counts, size_t size)
{
	counts->calls++;
	counts->bytes += size;
}

void *malloc(size_t size)
{
	count(&bench_c_allocations, size);
	return __libc_malloc(size);
}

void *calloc(size_t count_of, size_t size)
{
	count(&bench_c_allocations, count_of * size);
	return __libc_calloc(count_of, size);
}

void *realloc(void *ptr, size_t size)
{
	if (size > 0)
		count(&bench_c_allocations, size);
	return __libc_realloc(ptr, size);
}

void free(void *ptr)
{
	__libc_free(ptr);
}

void *memalign(size_t alignment, size_t size)
{
	count(&bench_c_allocations, size);
	return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size)
{
	return memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size)
{
	void *ptr;

	if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0)
		return EINVAL;
	ptr = memalign(alignment, size);
	if (ptr == NULL)
		return ENOMEM;
	*out = ptr;
	return 0;
}

void *bench_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	(void)ud;
	(void)osize;
	if (nsize == 0) {
		__libc_free(ptr);
		return NULL;
	}
	count(&bench_lua_allocations, nsize);
	return __libc_realloc(ptr, nsize);
}
