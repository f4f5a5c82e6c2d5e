/*
 * The base64url decoder and encoder on arbitrary bytes. Properties:
 * - decoding succeeds exactly when a reference check of canonical unpadded
 *   base64url finds the input valid;
 * - a decoded input encodes back to the same text, and fits the size that
 *   hu_b64url_decoded_max() promises (the output buffer has exactly that
 *   size, so AddressSanitizer sees any write past it);
 * - any bytes survive encoding and decoding unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "internal.h"

static int url_value(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Canonical unpadded base64url: alphabet only, no length of 1 mod 4, and
 * zero bits after the last full byte. */
static int reference_valid(const uint8_t *src, size_t len)
{
	size_t i;
	int last;

	if (len == 0 || len % 4 == 1)
		return 0;
	for (i = 0; i < len; i++)
		if (url_value(src[i]) < 0)
			return 0;
	last = url_value(src[len - 1]);
	if (len % 4 == 2)
		return (last & 0x0f) == 0;
	if (len % 4 == 3)
		return (last & 0x03) == 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t max = hu_b64url_decoded_max(size);
	unsigned char *decoded = malloc(max);
	unsigned char *round_trip;
	char *encoded;
	long decoded_len;
	size_t encoded_len;

	FUZZ_ASSERT(decoded != NULL, "out of memory");
	decoded_len = hu_b64url_decode((const char *)data, size, decoded);
	FUZZ_ASSERT((decoded_len >= 0) == reference_valid(data, size),
	    "decoder returned %ld for %zu bytes", decoded_len, size);

	if (decoded_len >= 0) {
		FUZZ_ASSERT((size_t)decoded_len == size * 3 / 4,
		    "%zu characters decoded to %ld bytes", size, decoded_len);
		encoded = malloc(((size_t)decoded_len + 2) / 3 * 4 + 1);
		FUZZ_ASSERT(encoded != NULL, "out of memory");
		encoded_len = hu_b64url_encode(decoded, (size_t)decoded_len, encoded);
		FUZZ_ASSERT(encoded_len == size && memcmp(encoded, data, size) == 0,
		    "decoded text does not encode back to itself");
		free(encoded);
	}
	free(decoded);

	/* Any bytes: encode, then decode. */
	encoded = malloc((size + 2) / 3 * 4 + 1);
	FUZZ_ASSERT(encoded != NULL, "out of memory");
	encoded_len = hu_b64url_encode(data, size, encoded);
	FUZZ_ASSERT(encoded[encoded_len] == '\0', "encoding is not terminated");
	FUZZ_ASSERT(encoded_len == (size * 4 + 2) / 3,
	    "%zu bytes encoded to %zu characters", size, encoded_len);
	if (size > 0) {
		round_trip = malloc(hu_b64url_decoded_max(encoded_len));
		FUZZ_ASSERT(round_trip != NULL, "out of memory");
		decoded_len = hu_b64url_decode(encoded, encoded_len, round_trip);
		FUZZ_ASSERT(decoded_len == (long)size &&
		    memcmp(round_trip, data, size) == 0,
		    "%zu bytes did not survive encoding and decoding", size);
		free(round_trip);
	}
	free(encoded);
	return 0;
}
