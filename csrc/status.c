/* Status codes, their reasons, and the detail buffer helper. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

#ifndef HU_VERSION_STRING
#define HU_VERSION_STRING "0.0.0"
#endif

static const char *const reasons[] = {
	[HU_OK] = "ok",
	[HU_ERR_INVALID_ENCODING] = "invalid-encoding",
	[HU_ERR_TOKEN_TOO_LARGE] = "token-too-large",
	[HU_ERR_UNSUPPORTED_ALGORITHM] = "unsupported-algorithm",
	[HU_ERR_UNSUPPORTED_HEADER] = "unsupported-header",
	[HU_ERR_SIGNATURE_MISMATCH] = "signature-mismatch",
	[HU_ERR_INVALID_JSON] = "invalid-json",
	[HU_ERR_INVALID_CLAIM] = "invalid-claim",
	[HU_ERR_TOKEN_EXPIRED] = "token-expired",
	[HU_ERR_TOKEN_NOT_YET_VALID] = "token-not-yet-valid",
	[HU_ERR_TOKEN_ISSUED_IN_FUTURE] = "token-issued-in-future",
	[HU_ERR_TOKEN_LIFETIME_TOO_LONG] = "token-lifetime-too-long",
	[HU_ERR_ISSUER_NOT_ACCEPTED] = "issuer-not-accepted",
	[HU_ERR_AUDIENCE_NOT_ACCEPTED] = "audience-not-accepted",
	[HU_ERR_INVALID_ROOM_CLAIM] = "invalid-room-claim",
	[HU_ERR_ROOM_MISMATCH] = "room-mismatch",
	[HU_ERR_TENANT_MISMATCH] = "tenant-mismatch",
	[HU_ERR_UNKNOWN_KEY] = "unknown-key",
	[HU_ERR_KEY_UNAVAILABLE] = "key-unavailable",
	[HU_ERR_CONFIGURATION] = "configuration-error",
	[HU_ERR_INVALID_ARGUMENT] = "invalid-argument",
	[HU_ERR_NO_MEMORY] = "out-of-memory",
	[HU_ERR_INTERNAL] = "internal-error",
};

const char *hu_strerror(hu_status status)
{
	if ((unsigned)status >= sizeof reasons / sizeof reasons[0])
		return "unknown-status";
	return reasons[status];
}

int hu_status_is_rejection(hu_status status)
{
	return status >= HU_ERR_INVALID_ENCODING && status <= HU_ERR_KEY_UNAVAILABLE;
}

const char *hu_version(void)
{
	return HU_VERSION_STRING;
}

void hu_set_detail(char *detail, size_t detail_size, const char *fmt, ...)
{
	va_list ap;

	if (detail == NULL || detail_size == 0)
		return;

	va_start(ap, fmt);
	vsnprintf(detail, detail_size, fmt, ap);
	va_end(ap);
}
