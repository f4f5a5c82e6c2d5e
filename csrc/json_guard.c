/* A linear pre-scan that bounds JSON nesting and size before jansson runs. */
#include "internal.h"

int hu_json_within_bounds(const unsigned char *text, size_t len)
{
	size_t i, values = 0;
	int depth = 0, in_string = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = text[i];

		if (in_string) {
			if (c == '\\')
				i++; /* the escaped byte cannot end the string */
			else if (c == '"')
				in_string = 0;
			continue;
		}

		switch (c) {
		case '"':
			in_string = 1;
			values++;
			break;
		case '{':
		case '[':
			if (++depth > HU_MAX_JSON_DEPTH)
				return -1;
			values++;
			break;
		case '}':
		case ']':
			depth--;
			break;
		case ',':
			values++;
			break;
		default:
			break;
		}
		if (values > HU_MAX_JSON_VALUES)
			return -1;
	}

	return 0;
}
