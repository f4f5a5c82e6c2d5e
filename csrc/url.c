/*
 * url.c - hu_join_url(), the link that opens a Jitsi Meet room, and
 * hu_free().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "huddleup/token.h"
#include "issue_private.h"

static int has_prefix_ignoring_case(const char *text, const char *prefix)
{
	size_t i;

	for (i = 0; prefix[i] != '\0'; i++) {
		char c = text[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != prefix[i])
			return 0;
	}
	return 1;
}

size_t hu_url_base_length(const char *base)
{
	size_t scheme_len;
	size_t len;
	size_t i;

	if (has_prefix_ignoring_case(base, "https://"))
		scheme_len = strlen("https://");
	else if (has_prefix_ignoring_case(base, "http://"))
		scheme_len = strlen("http://");
	else
		return 0;

	len = strlen(base);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)base[i];

		/* Controls, space and non-ASCII bytes need encoding, and "?"
		 * or "#" would move the room out of the path. */
		if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#')
			return 0;
	}
	if (len == scheme_len || base[scheme_len] == '/')
		return 0;

	if (base[len - 1] == '/')
		len--;
	return len;
}

/* Returns nonzero when token contains only base64url characters and dots,
 * so that it can stand in a query string without encoding. */
static int is_compact_token(const char *token)
{
	size_t i;

	if (token[0] == '\0')
		return 0;
	for (i = 0; token[i] != '\0'; i++) {
		char c = token[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return 0;
	}
	return 1;
}

/* RFC 3986 unreserved characters, which percent-encoding leaves as they
 * are. */
static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

hu_status hu_join_url(const char *base, const char *room, const char *token,
    char **url_out)
{
	static const char hex_digits[] = "0123456789ABCDEF";
	static const char query[] = "?jwt=";
	size_t base_len;
	size_t room_len;
	size_t token_len = 0;
	size_t url_size;
	char *url;
	char *end;
	size_t i;

	if (url_out != NULL)
		*url_out = NULL;
	if (base == NULL || room == NULL || url_out == NULL)
		return HU_ERR_INVALID_ARGUMENT;
	base_len = hu_url_base_length(base);
	if (base_len == 0)
		return HU_ERR_INVALID_ARGUMENT;
	/* A join URL names one room, so the wildcard "*" that a token may
	 * carry is no room to join. */
	if (hu_issue_check_room(room, NULL, 0) != HU_OK ||
	    strcmp(room, "*") == 0)
		return HU_ERR_INVALID_ARGUMENT;
	if (token != NULL) {
		if (!is_compact_token(token))
			return HU_ERR_INVALID_ARGUMENT;
		token_len = strlen(token);
	}

	/* Both fields are bounded (HU_MAX_FIELD_BYTES for the room, and the
	 * token by the caller's memory), so only the sum can overflow. */
	room_len = strlen(room);
	if (token_len > SIZE_MAX / 2 || base_len > SIZE_MAX / 4)
		return HU_ERR_INVALID_ARGUMENT;
	url_size = base_len + 1 + 3 * room_len + 1;
	if (token != NULL)
		url_size += sizeof query - 1 + token_len;

	url = malloc(url_size);
	if (url == NULL)
		return HU_ERR_NO_MEMORY;
	memcpy(url, base, base_len);
	end = url + base_len;
	*end++ = '/';
	for (i = 0; i < room_len; i++) {
		unsigned char c = (unsigned char)room[i];

		if (is_unreserved(c)) {
			*end++ = (char)c;
		} else {
			*end++ = '%';
			*end++ = hex_digits[c >> 4];
			*end++ = hex_digits[c & 0x0f];
		}
	}
	if (token != NULL) {
		memcpy(end, query, sizeof query - 1);
		end += sizeof query - 1;
		memcpy(end, token, token_len);
		end += token_len;
	}
	*end = '\0';

	*url_out = url;
	return HU_OK;
}

void hu_free(void *ptr)
{
	free(ptr);
}
