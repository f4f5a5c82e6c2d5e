/*
 * test_url.c - tests of hu_join_url().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "huddleup/token.h"
#include "harness.h"

#define TOKEN "eyJhbGciOiJIUzI1NiJ9.eyJyb29tIjoiYSJ9.c2lnbmF0dXJl-_"

static void test_valid_urls(void)
{
	static const struct {
		const char *base;
		const char *room;
		const char *token;
		const char *expected;
	} cases[] = {
		{ "https://meet.example.com", "weekly-sync", TOKEN,
		    "https://meet.example.com/weekly-sync?jwt=" TOKEN },
		{ "https://meet.example.com/", "weekly-sync", TOKEN,
		    "https://meet.example.com/weekly-sync?jwt=" TOKEN },
		/* Only one trailing "/" is removed. */
		{ "https://meet.example.com//", "weekly-sync", NULL,
		    "https://meet.example.com//weekly-sync" },
		{ "http://127.0.0.1:8443/jitsi", "lobby", NULL,
		    "http://127.0.0.1:8443/jitsi/lobby" },
		{ "HTTPS://Meet.Example.com", "lobby", NULL,
		    "HTTPS://Meet.Example.com/lobby" },
		{ "https://meet.example.com", "a~b-c.d_e09AZ", NULL,
		    "https://meet.example.com/a~b-c.d_e09AZ" },
		{ "https://meet.example.com", "Team Sync+1*%?#&=", NULL,
		    "https://meet.example.com/Team%20Sync%2B1%2A%25%3F%23%26%3D" },
		{ "https://meet.example.com",
		    "caf\xc3\xa9-\xe6\x9d\xb1\xe4\xba\xac", TOKEN,
		    "https://meet.example.com/caf%C3%A9-%E6%9D%B1%E4%BA%AC?jwt="
		    TOKEN },
		{ "https://meet.example.com", "it's \"q\" \\ x", NULL,
		    "https://meet.example.com/it%27s%20%22q%22%20%5C%20x" },
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *url = NULL;
		hu_status status;

		status = hu_join_url(cases[i].base, cases[i].room,
		    cases[i].token, &url);
		CHECK(status == HU_OK);
		CHECK(url != NULL);
		if (url != NULL && strcmp(url, cases[i].expected) != 0) {
			fprintf(stderr, "got      %s\nexpected %s\n", url,
			    cases[i].expected);
		}
		CHECK(url == NULL || strcmp(url, cases[i].expected) == 0);
		hu_free(url);
	}
}

static void test_invalid_arguments(void)
{
	static const struct {
		const char *description;
		const char *base;
		const char *room;
		const char *token;
	} cases[] = {
		{ "base NULL", NULL, "lobby", NULL },
		{ "base empty", "", "lobby", NULL },
		{ "base without scheme", "meet.example.com", "lobby", NULL },
		{ "base ftp", "ftp://meet.example.com", "lobby", NULL },
		{ "base javascript", "javascript:alert(1)//", "lobby", NULL },
		{ "base scheme only", "https://", "lobby", NULL },
		{ "base without host", "https:///path", "lobby", NULL },
		{ "base with query", "https://meet.example.com?x=1", "lobby",
		    NULL },
		{ "base with fragment", "https://meet.example.com#x", "lobby",
		    NULL },
		{ "base with space", "https://meet example.com", "lobby", NULL },
		{ "base with newline", "https://meet.example.com\n", "lobby",
		    NULL },
		{ "base non-ASCII", "https://m\xc3\xa9" "et.example.com",
		    "lobby", NULL },
		{ "room NULL", "https://meet.example.com", NULL, NULL },
		{ "room empty", "https://meet.example.com", "", NULL },
		{ "room with /", "https://meet.example.com", "a/b", NULL },
		{ "room with @", "https://meet.example.com", "a@b", NULL },
		{ "room wildcard", "https://meet.example.com", "*", NULL },
		{ "room control", "https://meet.example.com", "a\rb", NULL },
		{ "room invalid UTF-8", "https://meet.example.com", "\xff",
		    NULL },
		{ "token empty", "https://meet.example.com", "lobby", "" },
		{ "token with &", "https://meet.example.com", "lobby",
		    "a.b.c&x=1" },
		{ "token with space", "https://meet.example.com", "lobby",
		    "a.b c" },
		{ "token with +", "https://meet.example.com", "lobby",
		    "a.b+/c=" },
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *url = (char *)"not touched";
		hu_status status;

		status = hu_join_url(cases[i].base, cases[i].room,
		    cases[i].token, &url);
		if (status != HU_ERR_INVALID_ARGUMENT)
			fprintf(stderr, "case: %s\n", cases[i].description);
		CHECK(status == HU_ERR_INVALID_ARGUMENT);
		CHECK(url == NULL);
	}

	CHECK(hu_join_url("https://meet.example.com", "lobby", NULL, NULL) ==
	    HU_ERR_INVALID_ARGUMENT);
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;

	test_valid_urls();
	test_invalid_arguments();

	return hu_test_finish("test_url");
}
