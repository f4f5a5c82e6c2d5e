/*
 * issue_private.h - checks shared by the issuer (issue.c), the join URL
 * builder (url.c) and the command (cli.c). Not part of the public API.
 */
#ifndef HUDDLEUP_ISSUE_PRIVATE_H
#define HUDDLEUP_ISSUE_PRIVATE_H

#include <stddef.h>

#include "huddleup/token.h"

/* Maximum length in bytes of each string claim that the issuer writes. */
#define HU_MAX_FIELD_BYTES 1024

/*
 * Checks a room name as hu_issue() requires it: non-empty, at most
 * HU_MAX_FIELD_BYTES bytes of valid UTF-8, no control characters, no "@" or
 * "/". Returns HU_OK or HU_ERR_INVALID_ARGUMENT with the problem in detail
 * (detail may be NULL).
 */
hu_status hu_issue_check_room(const char *room, char *detail,
    size_t detail_size);

/*
 * Checks that base is an http:// or https:// URL (scheme in any case) with a
 * host, in printable ASCII, without "?" or "#". Returns its length without
 * one trailing "/", or 0 when base is invalid.
 */
size_t hu_url_base_length(const char *base);

#endif /* HUDDLEUP_ISSUE_PRIVATE_H */
