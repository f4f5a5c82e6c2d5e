/* Strict base64url (RFC 4648 section 5, unpadded) as JWS compact form uses. */
#include "internal.h"

/* Maps a byte to its 6-bit value, or 0xff outside the URL-safe alphabet. */
static const unsigned char decode_table[256] = {
	['A'] = 0,  ['B'] = 1,  ['C'] = 2,  ['D'] = 3,  ['E'] = 4,  ['F'] = 5,
	['G'] = 6,  ['H'] = 7,  ['I'] = 8,  ['J'] = 9,  ['K'] = 10, ['L'] = 11,
	['M'] = 12, ['N'] = 13, ['O'] = 14, ['P'] = 15, ['Q'] = 16, ['R'] = 17,
	['S'] = 18, ['T'] = 19, ['U'] = 20, ['V'] = 21, ['W'] = 22, ['X'] = 23,
	['Y'] = 24, ['Z'] = 25, ['a'] = 26, ['b'] = 27, ['c'] = 28, ['d'] = 29,
	['e'] = 30, ['f'] = 31, ['g'] = 32, ['h'] = 33, ['i'] = 34, ['j'] = 35,
	['k'] = 36, ['l'] = 37, ['m'] = 38, ['n'] = 39, ['o'] = 40, ['p'] = 41,
	['q'] = 42, ['r'] = 43, ['s'] = 44, ['t'] = 45, ['u'] = 46, ['v'] = 47,
	['w'] = 48, ['x'] = 49, ['y'] = 50, ['z'] = 51, ['0'] = 52, ['1'] = 53,
	['2'] = 54, ['3'] = 55, ['4'] = 56, ['5'] = 57, ['6'] = 58, ['7'] = 59,
	['8'] = 60, ['9'] = 61, ['-'] = 62, ['_'] = 63,
};

/* 1 for each byte of the alphabet; decode_table alone cannot tell 'A' (0)
 * from a byte that is not listed. */
static const unsigned char in_alphabet[256] = {
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
	['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
	['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1,
	['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1,
	['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
	['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1,
	['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1, ['0'] = 1, ['1'] = 1,
	['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
	['8'] = 1, ['9'] = 1, ['-'] = 1, ['_'] = 1,
};

static const char encode_table[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t hu_b64url_decoded_max(size_t len)
{
	return len / 4 * 3 + 2;
}

long hu_b64url_decode(const char *src, size_t len, unsigned char *dst)
{
	const unsigned char *in = (const unsigned char *)src;
	size_t i, full = len / 4 * 4, rest = len % 4;
	unsigned char *out = dst;
	uint32_t v;

	if (len == 0 || rest == 1)
		return -1;

	for (i = 0; i < len; i++)
		if (!in_alphabet[in[i]])
			return -1;

	for (i = 0; i < full; i += 4) {
		v = (uint32_t)decode_table[in[i]] << 18 |
		    (uint32_t)decode_table[in[i + 1]] << 12 |
		    (uint32_t)decode_table[in[i + 2]] << 6 |
		    (uint32_t)decode_table[in[i + 3]];
		*out++ = (unsigned char)(v >> 16);
		*out++ = (unsigned char)(v >> 8);
		*out++ = (unsigned char)v;
	}

	/* A final group of 2 or 3 characters carries 4 or 2 unused bits, which
	 * must be zero: otherwise several texts would decode to one value. */
	if (rest == 2) {
		v = (uint32_t)decode_table[in[i]] << 6 | decode_table[in[i + 1]];
		if (v & 0x0f)
			return -1;
		*out++ = (unsigned char)(v >> 4);
	} else if (rest == 3) {
		v = (uint32_t)decode_table[in[i]] << 12 |
		    (uint32_t)decode_table[in[i + 1]] << 6 |
		    decode_table[in[i + 2]];
		if (v & 0x03)
			return -1;
		*out++ = (unsigned char)(v >> 10);
		*out++ = (unsigned char)(v >> 2);
	}

	return (long)(out - dst);
}

size_t hu_b64url_encode(const unsigned char *src, size_t len, char *dst)
{
	size_t i;
	char *out = dst;
	uint32_t v;

	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 | src[i + 2];
		*out++ = encode_table[v >> 18 & 63];
		*out++ = encode_table[v >> 12 & 63];
		*out++ = encode_table[v >> 6 & 63];
		*out++ = encode_table[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)src[i] << 16;
		*out++ = encode_table[v >> 18 & 63];
		*out++ = encode_table[v >> 12 & 63];
	} else if (len - i == 2) {
		v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8;
		*out++ = encode_table[v >> 18 & 63];
		*out++ = encode_table[v >> 12 & 63];
		*out++ = encode_table[v >> 6 & 63];
	}
	*out = '\0';

	return (size_t)(out - dst);
}
