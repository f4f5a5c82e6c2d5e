/*
 * issue_token.c - prints a Jitsi Meet join URL with a HuddleUp token, the
 * way a HuddleUp backend written in C would build it.
 *
 * Build:  cc issue_token.c $(pkg-config --cflags --libs huddleup-token) -o issue_token
 * Run:    HU_JITSI_HOST=https://meet.example.com HU_JITSI_JWT_APP_ID=huddleup \
 *         HU_JITSI_JWT_SECRET=... ./issue_token ROOM NAME [moderator]
 *
 * The environment variables are the ones the huddleup-token command reads.
 * Exits 0 after printing the URL, 1 when the token cannot be issued and 2
 * on a usage or configuration error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <huddleup/token.h>

static const char *require_environment(const char *name)
{
	const char *value = getenv(name);

	if (value == NULL || value[0] == '\0') {
		fprintf(stderr, "issue_token: %s is not set\n", name);
		return NULL;
	}
	return value;
}

int main(int argc, char **argv)
{
	char detail[HU_DETAIL_SIZE] = "";
	hu_token_request request;
	hu_issuer *issuer = NULL;
	char *token = NULL;
	char *url = NULL;
	const char *host, *app_id, *secret;
	hu_status status;

	if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "moderator") != 0)) {
		fprintf(stderr, "usage: issue_token ROOM NAME [moderator]\n");
		return 2;
	}
	host = require_environment("HU_JITSI_HOST");
	app_id = require_environment("HU_JITSI_JWT_APP_ID");
	secret = require_environment("HU_JITSI_JWT_SECRET");
	if (host == NULL || app_id == NULL || secret == NULL)
		return 2;

	/* An issuer copies the secret and can issue any number of tokens. */
	status = hu_issuer_new_hmac(&issuer, "HS256", app_id, secret,
	    strlen(secret), detail, sizeof detail);
	if (status != HU_OK) {
		fprintf(stderr, "issue_token: %s: %s\n", hu_strerror(status), detail);
		return 2;
	}

	/* Fields left NULL are not written, and ttl 0 means one hour. The
	 * issuer has no default "sub" here, so the token carries none. */
	memset(&request, 0, sizeof request);
	request.room = argv[1];
	request.name = argv[2];
	request.moderator = argc == 4;

	status = hu_issue(issuer, &request, (int64_t)time(NULL), &token, detail,
	    sizeof detail);
	hu_issuer_free(issuer);
	if (status != HU_OK) {
		fprintf(stderr, "issue_token: cannot issue the token: %s (%s)\n",
		    detail, hu_strerror(status));
		return 1;
	}

	status = hu_join_url(host, request.room, token, &url);
	hu_free(token);
	if (status != HU_OK) {
		fprintf(stderr, "issue_token: cannot build the join URL: %s\n",
		    hu_strerror(status));
		return 1;
	}
	printf("%s\n", url);
	hu_free(url);
	return 0;
}
