/*
 * cli.c - the huddleup-token command: issues tokens, prints join URLs,
 * verifies tokens and prints the public half of a signing key, configured
 * by the HuddleUp backend's environment variables (HU_JITSI_HOST,
 * HU_JITSI_JWT_ENABLED, HU_JITSI_JWT_APP_ID, HU_JITSI_JWT_SECRET,
 * HU_JITSI_JWT_PRIVATE_KEY_FILE, HU_JITSI_JWT_KID, HU_JITSI_JWT_ALG).
 * Secrets and private keys come only from the environment or a file, never
 * from the command line, and are never printed.
 *
 * Exit status: 0 on success, 1 when verify rejects a token, 2 on a usage,
 * configuration or internal error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "huddleup/token.h"
#include "issue_private.h"

#ifndef HU_VERSION_STRING
#error "the build must define HU_VERSION_STRING"
#endif

#define PROGRAM "huddleup-token"

#define EXIT_REJECTED 1
#define EXIT_USAGE 2

/* Bytes read from standard input for "verify -". A longer input is passed
 * on truncated to one byte more, so the verifier's size limit (at most
 * 65536 bytes) rejects it as token-too-large. */
#define MAX_TOKEN_INPUT (1024 * 1024)
#define MAX_KEY_FILE 65536 /* bytes of a secret file or PEM key file */
#define MAX_PATH_BYTES 4096
#define MAX_TTL 604800L    /* seconds (7 days), the issuer's limit */

enum command { COMMAND_ISSUE, COMMAND_URL, COMMAND_VERIFY, COMMAND_KEY };

/* Output format of "huddleup-token key". */
enum key_format { FORMAT_PEM, FORMAT_JWK, FORMAT_JWKS, FORMAT_ASAP_NAME };

enum option_code {
	OPT_ROOM = 256,
	OPT_NAME,
	OPT_EMAIL,
	OPT_ID,
	OPT_AVATAR,
	OPT_GROUP,
	OPT_MODERATOR,
	OPT_TTL,
	OPT_SUB,
	OPT_AUDIENCE,
	OPT_APP_ID,
	OPT_HOST,
	OPT_ALG,
	OPT_SECRET_FILE,
	OPT_PRIVATE_KEY,
	OPT_PUBLIC_KEY,
	OPT_KID,
	OPT_NOW,
	OPT_LEEWAY,
	OPT_MAX_SIZE,
	OPT_MAX_LIFETIME,
	OPT_KEY_DIR,
	OPT_JWKS,
	OPT_FORMAT,
};

static const struct option issue_options[] = {
	{ "room", required_argument, NULL, OPT_ROOM },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "email", required_argument, NULL, OPT_EMAIL },
	{ "id", required_argument, NULL, OPT_ID },
	{ "avatar", required_argument, NULL, OPT_AVATAR },
	{ "group", required_argument, NULL, OPT_GROUP },
	{ "moderator", no_argument, NULL, OPT_MODERATOR },
	{ "ttl", required_argument, NULL, OPT_TTL },
	{ "sub", required_argument, NULL, OPT_SUB },
	{ "audience", required_argument, NULL, OPT_AUDIENCE },
	{ "app-id", required_argument, NULL, OPT_APP_ID },
	{ "host", required_argument, NULL, OPT_HOST },
	{ "alg", required_argument, NULL, OPT_ALG },
	{ "secret-file", required_argument, NULL, OPT_SECRET_FILE },
	{ "private-key", required_argument, NULL, OPT_PRIVATE_KEY },
	{ "kid", required_argument, NULL, OPT_KID },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const struct option verify_options[] = {
	{ "room", required_argument, NULL, OPT_ROOM },
	{ "now", required_argument, NULL, OPT_NOW },
	{ "leeway", required_argument, NULL, OPT_LEEWAY },
	{ "app-id", required_argument, NULL, OPT_APP_ID },
	{ "audience", required_argument, NULL, OPT_AUDIENCE },
	{ "alg", required_argument, NULL, OPT_ALG },
	{ "secret-file", required_argument, NULL, OPT_SECRET_FILE },
	{ "public-key", required_argument, NULL, OPT_PUBLIC_KEY },
	{ "key-dir", required_argument, NULL, OPT_KEY_DIR },
	{ "jwks", required_argument, NULL, OPT_JWKS },
	{ "kid", required_argument, NULL, OPT_KID },
	{ "max-size", required_argument, NULL, OPT_MAX_SIZE },
	{ "max-lifetime", required_argument, NULL, OPT_MAX_LIFETIME },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const struct option key_options[] = {
	{ "private-key", required_argument, NULL, OPT_PRIVATE_KEY },
	{ "kid", required_argument, NULL, OPT_KID },
	{ "alg", required_argument, NULL, OPT_ALG },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* The command line of one run. Option values point into argv or the
 * environment. */
struct settings {
	enum command command;
	const char *command_name;
	const struct option *options;
	hu_token_request request; /* issue and url; room also for verify */
	const char *host;
	const char *app_id;
	const char *audience;
	const char *alg;
	const char *secret_file;
	const char *private_key_file;
	const char *public_key_file;
	const char *key_dir;      /* verify: Jitsi's ASAP key folder layout */
	const char *jwks_file;    /* verify */
	const char *kid;
	/* Sources of alg, kid and the private key, named in messages: the
	 * option ("--alg") or the environment variable. */
	const char *alg_source;
	const char *kid_source;
	const char *private_key_source;
	enum key_format format;   /* key */
	const char *token_arg;    /* verify */
	const char *now_text;     /* verify: the option texts, parsed late */
	const char *leeway_text;
	const char *max_size_text;
	const char *max_lifetime_text;
};

/* Bytes of a secret or key, wiped when freed. */
struct key_material {
	char *data;
	size_t len;
};

static void print_error(const char *format, ...)
    __attribute__((format(printf, 1, 2)));

static void print_error(const char *format, ...)
{
	va_list args;

	fputs(PROGRAM ": ", stderr);
	va_start(args, format);
	vfprintf(stderr, format, args);
	va_end(args);
	fputc('\n', stderr);
}

static int usage_error(const struct settings *settings, const char *format,
    ...) __attribute__((format(printf, 2, 3)));

/* Prints a usage error for the current command and returns EXIT_USAGE. */
static int usage_error(const struct settings *settings, const char *format,
    ...)
{
	va_list args;

	fprintf(stderr, PROGRAM " %s: ", settings->command_name);
	va_start(args, format);
	vfprintf(stderr, format, args);
	va_end(args);
	fprintf(stderr, "\nRun '" PROGRAM " %s --help' for its options.\n",
	    settings->command_name);
	return EXIT_USAGE;
}

static void print_main_help(void)
{
	fputs(
"Usage: " PROGRAM " COMMAND [OPTIONS]\n"
"\n"
"Issues and verifies the JWTs that admit HuddleUp users to a self-hosted\n"
"Jitsi Meet.\n"
"\n"
"Commands:\n"
"  issue    print a signed token for one participant\n"
"  url      print the join URL for one participant, with a token when JWT\n"
"           is enabled\n"
"  verify   check a token and print the result as JSON\n"
"  key      print the public key of a private signing key, as PEM, as a\n"
"           JWK or JWK Set, or its file name in Jitsi's ASAP key layout\n"
"\n"
"Options:\n"
"  -h, --help   print this help and exit\n"
"  --version    print the version and exit\n"
"\n"
"Run '" PROGRAM " COMMAND --help' for the options of a command.\n"
"\n"
"Environment (the HuddleUp backend's settings):\n"
"  HU_JITSI_HOST          Jitsi Meet base URL, for example\n"
"                         https://meet.example.com (issue and url)\n"
"  HU_JITSI_JWT_ENABLED   true or false (also 1/0, yes/no); unset means\n"
"                         false\n"
"  HU_JITSI_JWT_APP_ID    app id: the \"iss\" claim that tokens carry and\n"
"                         Prosody accepts\n"
"  HU_JITSI_JWT_SECRET    HMAC secret shared with Prosody, at least 32 bytes\n"
"  HU_JITSI_JWT_PRIVATE_KEY_FILE\n"
"                         PEM private key file to sign with instead of the\n"
"                         secret (issue, url and key)\n"
"  HU_JITSI_JWT_KID       \"kid\" header written with the private key\n"
"  HU_JITSI_JWT_ALG       signing algorithm: HS256 (default), HS384, HS512,\n"
"                         or with a private key RS256, RS384, RS512, ES256,\n"
"                         ES384\n"
"Command-line options take precedence over these variables.\n"
"\n"
"Exit status: 0 on success, 1 when verify rejects a token, 2 on a usage,\n"
"configuration or internal error.\n", stdout);
}

static void print_issue_help(enum command command)
{
	if (command == COMMAND_ISSUE)
		fputs(
"Usage: " PROGRAM " issue --room ROOM [OPTIONS]\n"
"\n"
"Prints a token signed with HU_JITSI_JWT_SECRET (or --private-key) for one\n"
"participant. HU_JITSI_JWT_ENABLED must be true.\n", stdout);
	else
		fputs(
"Usage: " PROGRAM " url --room ROOM [OPTIONS]\n"
"\n"
"Prints HU_JITSI_HOST/ROOM?jwt=TOKEN, with ROOM percent-encoded. When\n"
"HU_JITSI_JWT_ENABLED is false or unset, prints HU_JITSI_HOST/ROOM without a\n"
"token and warns that the instance then has no moderator rights and no\n"
"access protection.\n", stdout);
	fputs(
"\n"
"Options:\n"
"  --room ROOM         \"room\" claim: the Jitsi room name (required); issue\n"
"                      also accepts \"*\" for any room\n"
"  --name NAME         context.user.name: the display name\n"
"  --email EMAIL       context.user.email\n"
"  --id ID             context.user.id: the user's id in HuddleUp\n"
"  --avatar URL        context.user.avatar: the URL of the user's picture\n"
"  --group GROUP       context.group\n"
"  --moderator         set moderator and context.user.moderator to true\n"
"                      (default false)\n"
"  --ttl SECONDS       token lifetime in seconds, 1 to 604800 (7 days);\n"
"                      default 3600\n"
"  --sub SUB           \"sub\" claim; default the host name of HU_JITSI_HOST\n"
"  --audience AUD      \"aud\" claim; default \"jitsi\"\n"
"  --app-id ID         \"iss\" claim; overrides HU_JITSI_JWT_APP_ID\n"
"  --host URL          Jitsi Meet base URL; overrides HU_JITSI_HOST\n"
"  --alg ALG           signing algorithm: HS256 (default), HS384, HS512, or\n"
"                      with --private-key RS256, RS384, RS512, ES256, ES384;\n"
"                      overrides HU_JITSI_JWT_ALG\n"
"  --secret-file FILE  read the HMAC secret from FILE instead of\n"
"                      HU_JITSI_JWT_SECRET; one trailing newline is removed\n"
"  --private-key FILE  sign with the PEM private key in FILE instead of a\n"
"                      secret; overrides HU_JITSI_JWT_PRIVATE_KEY_FILE\n"
"  --kid KID           \"kid\" header written with --private-key; overrides\n"
"                      HU_JITSI_JWT_KID\n"
"  -h, --help          print this help and exit\n"
"\n"
"Tokens carry iat = now, nbf = now - 10 s and exp = now + ttl.\n", stdout);
}

static void print_verify_help(void)
{
	fputs(
"Usage: " PROGRAM " verify [OPTIONS] TOKEN\n"
"\n"
"Verifies TOKEN (\"-\" reads it from standard input and removes one trailing\n"
"newline) and prints the result as one line of JSON:\n"
"  {\"valid\":true,\"moderator\":BOOL,\"claims\":{...}}     exit status 0\n"
"  {\"valid\":false,\"reason\":REASON,\"detail\":TEXT}    exit status 1\n"
"A usage or configuration error (for example a secret shorter than 32 bytes)\n"
"prints a message on standard error and exits with status 2.\n"
"\n"
"Options:\n"
"  --room ROOM              also require the token to admit ROOM; reject\n"
"                           with reason room-mismatch otherwise\n"
"  --now EPOCH              check the times as of EPOCH, in seconds since\n"
"                           1970-01-01 UTC; default the current time\n"
"  --leeway SECONDS         clock leeway applied to exp, nbf and iat, 0 to\n"
"                           3600 seconds; default 30\n"
"  --app-id ID              accepted \"iss\"; overrides HU_JITSI_JWT_APP_ID\n"
"  --audience AUD           accepted \"aud\"; default \"jitsi\"\n"
"  --alg ALG                accepted algorithm: HS256 (default), HS384,\n"
"                           HS512, or with --public-key RS256, RS384, RS512,\n"
"                           ES256, ES384\n"
"  --secret-file FILE       read the HMAC secret from FILE instead of\n"
"                           HU_JITSI_JWT_SECRET; one trailing newline is\n"
"                           removed\n"
"  --public-key FILE        verify with the PEM public key in FILE instead\n"
"                           of a secret\n"
"  --key-dir DIR            verify with the PEM public key that Jitsi's ASAP\n"
"                           layout stores for the token's \"kid\":\n"
"                           DIR/<hex SHA-256 of the kid>.pem; without --alg\n"
"                           an RSA key verifies RS256, a P-256 key ES256 and\n"
"                           a P-384 key ES384. A token without a kid, or\n"
"                           whose kid has no file, is rejected with reason\n"
"                           unknown-key\n"
"  --jwks FILE              verify with the keys of the JWK Set in FILE\n"
"                           ({\"keys\": [...]}, RSA and EC keys, each with a\n"
"                           kid); the token's kid selects the key\n"
"  --kid KID                use the --public-key or secret only for tokens\n"
"                           whose \"kid\" header is KID; without --kid the\n"
"                           one key verifies every token, whatever its \"kid\"\n"
"  --max-size BYTES         largest accepted token in bytes, 256 to 65536;\n"
"                           default 8192\n"
"  --max-lifetime SECONDS   how far exp may lie ahead of now, in seconds,\n"
"                           60 to 10 years; default 604800 (7 days)\n"
"  -h, --help               print this help and exit\n", stdout);
}

static void print_key_help(void)
{
	fputs(
"Usage: " PROGRAM " key [OPTIONS]\n"
"\n"
"Prints the public half of a PEM private key, for the verifying side\n"
"(Prosody's huddleup_token_public_key_file, huddleup_token_keys, key folder,\n"
"key server or JWK Set), or the file name under which Jitsi's ASAP layout\n"
"stores it. The key must pass the verifier's key policy: RSA of at least\n"
"2048 bits with public exponent 65537, or EC on P-256 (ES256) or P-384\n"
"(ES384). The private key itself is never printed.\n"
"\n"
"Options:\n"
"  --private-key FILE  the PEM private key (not encrypted); overrides\n"
"                      HU_JITSI_JWT_PRIVATE_KEY_FILE\n"
"  --kid KID           key id written to the JWK and used for the ASAP file\n"
"                      name; overrides HU_JITSI_JWT_KID\n"
"  --alg ALG           RS256, RS384, RS512, ES256 or ES384; overrides\n"
"                      HU_JITSI_JWT_ALG. Default: RS256 for an RSA key,\n"
"                      ES256 for a P-256 key, ES384 for a P-384 key\n"
"  --format FORMAT     what to print (default pem):\n"
"                        pem        the public key, -----BEGIN PUBLIC KEY-----\n"
"                        jwk        one JWK as a line of JSON (needs a kid)\n"
"                        jwks       a JWK Set with that one key (needs a kid)\n"
"                        asap-name  <hex SHA-256 of the kid>.pem, the file\n"
"                                   name in an ASAP key folder or on an\n"
"                                   asap_key_server (needs a kid; the private\n"
"                                   key is checked when one is given)\n"
"  -h, --help          print this help and exit\n", stdout);
}

static void print_command_help(enum command command)
{
	if (command == COMMAND_VERIFY)
		print_verify_help();
	else if (command == COMMAND_KEY)
		print_key_help();
	else
		print_issue_help(command);
}

static int equals_ignoring_case(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++) {
		char ca = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
		char cb = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;

		if (ca != cb)
			return 0;
	}
	return *a == *b;
}

static int is_hmac_alg(const char *alg)
{
	return alg == NULL || strcmp(alg, "HS256") == 0 ||
	    strcmp(alg, "HS384") == 0 || strcmp(alg, "HS512") == 0;
}

static int is_public_key_alg(const char *alg)
{
	return alg != NULL && (strcmp(alg, "RS256") == 0 ||
	    strcmp(alg, "RS384") == 0 || strcmp(alg, "RS512") == 0 ||
	    strcmp(alg, "ES256") == 0 || strcmp(alg, "ES384") == 0);
}

static const char *option_name(const struct option *options, int code)
{
	size_t i;

	for (i = 0; options[i].name != NULL; i++) {
		if (options[i].val == code)
			return options[i].name;
	}
	return "?";
}

/* Parses a whole number of text into *value, within min and max. */
static int parse_whole_number(const char *text, long min, long max,
    long *value)
{
	char *end;
	long parsed;

	if (text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	parsed = strtol(text, &end, 10);
	if (errno != 0 || *end != '\0' || parsed < min || parsed > max)
		return -1;
	*value = parsed;
	return 0;
}

/* Parses a non-negative decimal number of seconds ("12" or "12.5"). */
static int parse_seconds(const char *text, double *value)
{
	size_t digits = strspn(text, "0123456789");
	char *end;

	if (digits == 0)
		return -1;
	if (text[digits] == '.' &&
	    strspn(text + digits + 1, "0123456789") == 0)
		return -1;
	errno = 0;
	*value = strtod(text, &end);
	if (errno != 0 || *end != '\0')
		return -1;
	return 0;
}

/* Stores one option's value in settings. Returns 0 or EXIT_USAGE. */
static int apply_option(struct settings *settings, int code,
    const char *value)
{
	long ttl;

	switch (code) {
	case OPT_ROOM: settings->request.room = value; break;
	case OPT_NAME: settings->request.name = value; break;
	case OPT_EMAIL: settings->request.email = value; break;
	case OPT_ID: settings->request.id = value; break;
	case OPT_AVATAR: settings->request.avatar = value; break;
	case OPT_GROUP: settings->request.group = value; break;
	case OPT_MODERATOR: settings->request.moderator = 1; break;
	case OPT_SUB: settings->request.sub = value; break;
	case OPT_AUDIENCE: settings->audience = value; break;
	case OPT_APP_ID: settings->app_id = value; break;
	case OPT_HOST: settings->host = value; break;
	case OPT_SECRET_FILE: settings->secret_file = value; break;
	case OPT_PUBLIC_KEY: settings->public_key_file = value; break;
	case OPT_KEY_DIR: settings->key_dir = value; break;
	case OPT_JWKS: settings->jwks_file = value; break;
	case OPT_ALG:
		settings->alg = value;
		settings->alg_source = "--alg";
		break;
	case OPT_KID:
		settings->kid = value;
		settings->kid_source = "--kid";
		break;
	case OPT_PRIVATE_KEY:
		settings->private_key_file = value;
		settings->private_key_source = "--private-key";
		break;
	case OPT_FORMAT:
		if (strcmp(value, "pem") == 0)
			settings->format = FORMAT_PEM;
		else if (strcmp(value, "jwk") == 0)
			settings->format = FORMAT_JWK;
		else if (strcmp(value, "jwks") == 0)
			settings->format = FORMAT_JWKS;
		else if (strcmp(value, "asap-name") == 0)
			settings->format = FORMAT_ASAP_NAME;
		else
			return usage_error(settings, "invalid value '%s' for "
			    "--format: use pem, jwk, jwks or asap-name", value);
		break;
	case OPT_NOW: settings->now_text = value; break;
	case OPT_LEEWAY: settings->leeway_text = value; break;
	case OPT_MAX_SIZE: settings->max_size_text = value; break;
	case OPT_MAX_LIFETIME: settings->max_lifetime_text = value; break;
	case OPT_TTL:
		if (parse_whole_number(value, 1, MAX_TTL, &ttl) != 0)
			return usage_error(settings,
			    "invalid value '%s' for --ttl: expected whole "
			    "seconds from 1 to %ld (7 days)", value, MAX_TTL);
		settings->request.ttl = ttl;
		break;
	default:
		return usage_error(settings, "unhandled option code %d", code);
	}
	return 0;
}

/* Reports the option error that getopt_long() returned as code. */
static int option_error(struct settings *settings, int code, char **argv)
{
	const char *arg = argv[optind - 1];

	if (code == ':')
		return usage_error(settings, "option '--%s' needs an argument",
		    option_name(settings->options, optopt));
	/* getopt_long() sets optopt to the option's code when a long option
	 * that takes no value got one ("--moderator=yes"), to the letter of
	 * an unknown short option, and to 0 for an unknown long option. */
	if (optopt >= OPT_ROOM || optopt == 'h')
		return usage_error(settings, "option '--%s' does not take a "
		    "value", option_name(settings->options, optopt));
	if (optopt != 0)
		return usage_error(settings, "unknown option '-%c'", optopt);
	return usage_error(settings, "unknown option '%.*s'",
	    (int)strcspn(arg, "="), arg);
}

/*
 * Parses the options of a command. argv[0] is the command's name. Returns
 * -1 when the command should run, or the exit status when the run ends
 * here (help printed or a usage error reported).
 */
static int parse_arguments(int argc, char **argv, struct settings *settings)
{
	int code;
	int status;

	opterr = 0;
	optind = 1;
	while ((code = getopt_long(argc, argv, ":h", settings->options,
	    NULL)) != -1) {
		if (code == 'h') {
			print_command_help(settings->command);
			return 0;
		}
		if (code == ':' || code == '?')
			return option_error(settings, code, argv);

		/* "--room --name Ada" would take "--name" as the room. */
		if (optarg != NULL && strncmp(optarg, "--", 2) == 0 &&
		    optarg[2] != '\0')
			return usage_error(settings, "option '--%s' needs an "
			    "argument, but got the option '%s'",
			    option_name(settings->options, code), optarg);
		status = apply_option(settings, code, optarg);
		if (status != 0)
			return status;
	}

	if (settings->command == COMMAND_VERIFY) {
		if (optind == argc)
			return usage_error(settings, "missing TOKEN argument "
			    "(use '-' to read it from standard input)");
		settings->token_arg = argv[optind++];
	}
	if (optind < argc)
		return usage_error(settings, "unexpected argument '%s'",
		    argv[optind]);
	return -1;
}

/* Checks the key options of issue and url. Returns 0 or EXIT_USAGE. */
static int check_issue_key_options(const struct settings *settings)
{
	const char *key_source = settings->private_key_source;

	if (settings->private_key_file != NULL && is_hmac_alg(settings->alg))
		return usage_error(settings, "%s needs %s RS256, RS384, RS512, "
		    "ES256 or ES384", key_source, settings->alg_source != NULL ?
		    settings->alg_source : "--alg (or HU_JITSI_JWT_ALG)");
	if (settings->private_key_file == NULL &&
	    is_public_key_alg(settings->alg))
		return usage_error(settings, "%s %s needs --private-key FILE (or "
		    "HU_JITSI_JWT_PRIVATE_KEY_FILE)", settings->alg_source,
		    settings->alg);
	if (settings->private_key_file != NULL &&
	    settings->secret_file != NULL)
		return usage_error(settings, "--secret-file and %s cannot be "
		    "combined", key_source);
	if (settings->kid != NULL && settings->private_key_file == NULL)
		return usage_error(settings, "%s needs --private-key FILE (or "
		    "HU_JITSI_JWT_PRIVATE_KEY_FILE): HMAC tokens carry no kid",
		    settings->kid_source);
	return 0;
}

/* Checks the key options of verify: at most one key source, and --alg and
 * --kid only where they apply. Returns 0 or EXIT_USAGE. */
static int check_verify_key_options(const struct settings *settings)
{
	int sources = (settings->secret_file != NULL) +
	    (settings->public_key_file != NULL) + (settings->key_dir != NULL) +
	    (settings->jwks_file != NULL);

	if (sources > 1)
		return usage_error(settings, "use only one of --secret-file, "
		    "--public-key, --key-dir and --jwks");
	if (settings->jwks_file != NULL && settings->alg != NULL)
		return usage_error(settings, "--alg does not apply to --jwks: "
		    "each JWK names its algorithm, or its key type sets one");
	if ((settings->jwks_file != NULL || settings->key_dir != NULL) &&
	    settings->kid != NULL)
		return usage_error(settings, "--kid does not apply to %s: the "
		    "token's kid selects the key", settings->jwks_file != NULL ?
		    "--jwks" : "--key-dir");
	if (settings->key_dir != NULL && settings->alg != NULL &&
	    !is_public_key_alg(settings->alg))
		return usage_error(settings, "--key-dir needs --alg RS256, RS384, "
		    "RS512, ES256 or ES384, or no --alg");
	if (settings->public_key_file != NULL && is_hmac_alg(settings->alg))
		return usage_error(settings, "--public-key needs --alg RS256, "
		    "RS384, RS512, ES256 or ES384");
	if (sources == 0 && is_public_key_alg(settings->alg))
		return usage_error(settings, "--alg %s needs --public-key FILE or "
		    "--key-dir DIR", settings->alg);
	if (settings->secret_file != NULL && is_public_key_alg(settings->alg))
		return usage_error(settings, "--alg %s needs --public-key FILE or "
		    "--key-dir DIR instead of --secret-file", settings->alg);
	return 0;
}

/* Checks the options of key. Returns 0 or EXIT_USAGE. */
static int check_key_command_options(const struct settings *settings)
{
	if (settings->alg != NULL && !is_public_key_alg(settings->alg))
		return usage_error(settings, "%s must be RS256, RS384, RS512, "
		    "ES256 or ES384: HMAC secrets have no public key",
		    settings->alg_source);
	if (settings->private_key_file == NULL &&
	    settings->format != FORMAT_ASAP_NAME)
		return usage_error(settings, "missing --private-key FILE (or "
		    "HU_JITSI_JWT_PRIVATE_KEY_FILE)");
	if (settings->kid == NULL && settings->format != FORMAT_PEM)
		return usage_error(settings, "--format %s needs --kid KID (or "
		    "HU_JITSI_JWT_KID)", settings->format == FORMAT_JWK ? "jwk" :
		    settings->format == FORMAT_JWKS ? "jwks" : "asap-name");
	return 0;
}

/* Checks that the key options fit together. Returns 0 or EXIT_USAGE. */
static int check_key_options(const struct settings *settings)
{
	if (!is_hmac_alg(settings->alg) && !is_public_key_alg(settings->alg))
		return usage_error(settings, "unsupported %s '%s': use "
		    "HS256, HS384, HS512, RS256, RS384, RS512, ES256 or ES384",
		    settings->alg_source, settings->alg);
	if (settings->command == COMMAND_VERIFY)
		return check_verify_key_options(settings);
	if (settings->command == COMMAND_KEY)
		return check_key_command_options(settings);
	return check_issue_key_options(settings);
}

/* Reads HU_JITSI_JWT_ENABLED into *enabled. Returns 0 or EXIT_USAGE. */
static int read_jwt_enabled(int *enabled)
{
	static const char *const true_words[] = { "true", "1", "yes" };
	static const char *const false_words[] = { "false", "0", "no" };
	const char *value = getenv("HU_JITSI_JWT_ENABLED");
	size_t i;

	*enabled = 0;
	if (value == NULL || value[0] == '\0')
		return 0;
	for (i = 0; i < 3; i++) {
		if (equals_ignoring_case(value, true_words[i])) {
			*enabled = 1;
			return 0;
		}
		if (equals_ignoring_case(value, false_words[i]))
			return 0;
	}
	print_error("invalid value '%s' for HU_JITSI_JWT_ENABLED: expected "
	    "true or false (also 1/0, yes/no)", value);
	return EXIT_USAGE;
}

/* Returns the option's value, else the environment variable's, or NULL
 * when both are missing or empty. */
static const char *option_or_environment(const char *option_value,
    const char *variable)
{
	const char *value = option_value != NULL ? option_value :
	    getenv(variable);

	return value != NULL && value[0] != '\0' ? value : NULL;
}

/*
 * Fills the private key, alg and kid of issue, url and key from
 * HU_JITSI_JWT_PRIVATE_KEY_FILE, HU_JITSI_JWT_ALG and HU_JITSI_JWT_KID where
 * the command line leaves them unset. --secret-file on the command line
 * takes precedence over HU_JITSI_JWT_PRIVATE_KEY_FILE. Returns 0, or
 * EXIT_USAGE when both HU_JITSI_JWT_SECRET and HU_JITSI_JWT_PRIVATE_KEY_FILE
 * are set and no option chooses between them.
 */
static int apply_key_environment(struct settings *settings)
{
	const char *private_key = option_or_environment(NULL,
	    "HU_JITSI_JWT_PRIVATE_KEY_FILE");
	const char *alg = option_or_environment(NULL, "HU_JITSI_JWT_ALG");
	const char *kid = option_or_environment(NULL, "HU_JITSI_JWT_KID");

	if (settings->alg == NULL && alg != NULL) {
		settings->alg = alg;
		settings->alg_source = "HU_JITSI_JWT_ALG";
	}
	if (settings->kid == NULL && kid != NULL) {
		settings->kid = kid;
		settings->kid_source = "HU_JITSI_JWT_KID";
	}
	if (settings->private_key_file != NULL || settings->secret_file != NULL ||
	    private_key == NULL)
		return 0;

	if (settings->command != COMMAND_KEY &&
	    option_or_environment(NULL, "HU_JITSI_JWT_SECRET") != NULL) {
		print_error("both HU_JITSI_JWT_SECRET and "
		    "HU_JITSI_JWT_PRIVATE_KEY_FILE are set, so the signing key "
		    "is ambiguous; unset one of them, or choose with "
		    "--secret-file or --private-key");
		return EXIT_USAGE;
	}
	settings->private_key_file = private_key;
	settings->private_key_source = "HU_JITSI_JWT_PRIVATE_KEY_FILE";
	return 0;
}

static void free_key_material(struct key_material *key)
{
	if (key->data != NULL) {
		OPENSSL_cleanse(key->data, key->len);
		free(key->data);
	}
	key->data = NULL;
	key->len = 0;
}

/* Reads up to max bytes of the file at path into key. Returns 0 or
 * EXIT_USAGE. The message names the file, never its contents. */
static int read_key_file(const char *path, const char *what, size_t max,
    struct key_material *key)
{
	FILE *file;
	struct stat info;
	size_t len;
	int fd, read_error;

	key->data = malloc(max + 1);
	if (key->data == NULL) {
		print_error("out of memory");
		return EXIT_USAGE;
	}
	/* O_NONBLOCK keeps open() from waiting for a writer when path is a
	 * FIFO; only regular files are read. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		print_error("cannot open %s '%s': %s", what, path,
		    strerror(errno));
		free_key_material(key);
		return EXIT_USAGE;
	}
	if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
		print_error("cannot read %s '%s': not a regular file", what, path);
		close(fd);
		free_key_material(key);
		return EXIT_USAGE;
	}
	file = fdopen(fd, "rb");
	if (file == NULL) {
		print_error("cannot open %s '%s': %s", what, path,
		    strerror(errno));
		close(fd);
		free_key_material(key);
		return EXIT_USAGE;
	}
	len = fread(key->data, 1, max + 1, file);
	read_error = ferror(file);
	fclose(file);
	key->len = len;
	if (read_error) {
		print_error("cannot read %s '%s'", what, path);
		free_key_material(key);
		return EXIT_USAGE;
	}
	if (len > max) {
		print_error("%s '%s' is larger than %zu bytes", what, path,
		    max);
		free_key_material(key);
		return EXIT_USAGE;
	}
	key->data[len] = '\0';
	return 0;
}

/* Removes one trailing newline ("\n" or "\r\n") from data. */
static size_t strip_newline(const char *data, size_t len)
{
	if (len > 0 && data[len - 1] == '\n') {
		len--;
		if (len > 0 && data[len - 1] == '\r')
			len--;
	}
	return len;
}

/* Loads the HMAC secret from --secret-file or HU_JITSI_JWT_SECRET. Returns
 * 0 or EXIT_USAGE. */
static int load_secret(const struct settings *settings,
    struct key_material *secret)
{
	const char *value;
	int status;

	if (settings->secret_file != NULL) {
		status = read_key_file(settings->secret_file, "secret file",
		    MAX_KEY_FILE, secret);
		if (status == 0)
			secret->len = strip_newline(secret->data, secret->len);
		return status;
	}

	value = getenv("HU_JITSI_JWT_SECRET");
	if (value == NULL || value[0] == '\0') {
		print_error("HU_JITSI_JWT_SECRET is not set; set it to the HMAC "
		    "secret shared with Prosody (at least %d bytes), or use "
		    "--secret-file FILE", HU_MIN_HMAC_SECRET);
		return EXIT_USAGE;
	}
	secret->len = strlen(value);
	secret->data = malloc(secret->len + 1);
	if (secret->data == NULL) {
		print_error("out of memory");
		return EXIT_USAGE;
	}
	memcpy(secret->data, value, secret->len + 1);
	return 0;
}

static const char *app_id_or_report(const struct settings *settings)
{
	const char *app_id = option_or_environment(settings->app_id,
	    "HU_JITSI_JWT_APP_ID");

	if (app_id == NULL)
		print_error("HU_JITSI_JWT_APP_ID is not set; set it to the app "
		    "id that Prosody accepts as issuer (\"iss\"), or use "
		    "--app-id");
	return app_id;
}

/*
 * Copies the host name of url (already checked by hu_url_base_length())
 * into buffer: lowercase, without user info, port or IPv6 brackets.
 * Returns 0, or -1 when it is empty or does not fit.
 */
static int copy_host_name(const char *url, char *buffer, size_t size)
{
	const char *start = strstr(url, "://") + 3;
	const char *end = start + strcspn(start, "/?#");
	const char *at;
	const char *colon;
	size_t len;
	size_t i;

	for (at = end; at > start; at--) {
		if (at[-1] == '@') {
			start = at;
			break;
		}
	}
	if (*start == '[') {
		const char *close = memchr(start, ']', (size_t)(end - start));

		if (close == NULL)
			return -1;
		start++;
		end = close;
	} else {
		colon = memchr(start, ':', (size_t)(end - start));
		if (colon != NULL)
			end = colon;
	}

	len = (size_t)(end - start);
	if (len == 0 || len >= size)
		return -1;
	for (i = 0; i < len; i++) {
		char c = start[i];

		buffer[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	buffer[len] = '\0';
	return 0;
}

/* Creates the issuer from the settings and the environment. Returns 0 or
 * EXIT_USAGE. */
static int create_issuer(const struct settings *settings,
    const char *host_name, hu_issuer **issuer)
{
	struct key_material key = { NULL, 0 };
	char detail[HU_DETAIL_SIZE] = "";
	const char *app_id;
	hu_status status;
	int exit_status;

	app_id = app_id_or_report(settings);
	if (app_id == NULL)
		return EXIT_USAGE;

	if (settings->private_key_file != NULL) {
		exit_status = read_key_file(settings->private_key_file,
		    "private key file", MAX_KEY_FILE, &key);
		if (exit_status != 0)
			return exit_status;
		status = hu_issuer_new_private_key_pem(issuer, settings->alg,
		    app_id, settings->kid, key.data, key.len, detail,
		    sizeof detail);
	} else {
		exit_status = load_secret(settings, &key);
		if (exit_status != 0)
			return exit_status;
		status = hu_issuer_new_hmac(issuer, settings->alg, app_id,
		    key.data, key.len, detail, sizeof detail);
	}
	free_key_material(&key);
	if (status != HU_OK) {
		print_error("%s: %s", hu_strerror(status), detail);
		return EXIT_USAGE;
	}

	if (hu_issuer_set_subject(*issuer, host_name) != HU_OK) {
		print_error("cannot use the host name '%s' as \"sub\"; use --sub",
		    host_name);
		return EXIT_USAGE;
	}
	if (settings->audience != NULL &&
	    hu_issuer_set_audience(*issuer, settings->audience) != HU_OK) {
		print_error("invalid value for --audience: expected non-empty "
		    "UTF-8 text of at most %d bytes without control characters",
		    HU_MAX_FIELD_BYTES);
		return EXIT_USAGE;
	}
	return 0;
}

static int print_line(const char *text)
{
	if (puts(text) == EOF || fflush(stdout) != 0) {
		print_error("cannot write to standard output");
		return EXIT_USAGE;
	}
	return 0;
}

/* Prints the join URL without a token, for an instance without JWT. */
static int print_plain_url(const char *host, const char *room)
{
	char detail[HU_DETAIL_SIZE] = "";
	char *url = NULL;
	int exit_status;

	if (hu_issue_check_room(room, detail, sizeof detail) != HU_OK) {
		print_error("invalid --room: %s", detail);
		return EXIT_USAGE;
	}
	if (hu_join_url(host, room, NULL, &url) != HU_OK) {
		print_error("cannot build the join URL from HU_JITSI_HOST and "
		    "--room");
		return EXIT_USAGE;
	}
	fputs(PROGRAM ": warning: JWT is disabled (HU_JITSI_JWT_ENABLED is "
	    "false or unset), so this URL carries no token: the Jitsi instance "
	    "then has no moderator rights and no access protection, and anyone "
	    "with the URL can join\n", stderr);
	exit_status = print_line(url);
	hu_free(url);
	return exit_status;
}

static int run_issue_or_url(const struct settings *settings)
{
	const char *host_source = settings->host != NULL ? "--host" :
	    "HU_JITSI_HOST";
	const char *room = settings->request.room;
	char detail[HU_DETAIL_SIZE] = "";
	char host_name[256];
	hu_issuer *issuer = NULL;
	char *token = NULL;
	char *url = NULL;
	const char *host;
	hu_status status;
	int exit_status;
	int enabled;

	exit_status = read_jwt_enabled(&enabled);
	if (exit_status != 0)
		return exit_status;
	host = option_or_environment(settings->host, "HU_JITSI_HOST");
	if (host == NULL) {
		print_error("HU_JITSI_HOST is not set; set it to the Jitsi Meet "
		    "base URL, for example https://meet.example.com, or use "
		    "--host");
		return EXIT_USAGE;
	}
	if (hu_url_base_length(host) == 0 ||
	    copy_host_name(host, host_name, sizeof host_name) != 0) {
		print_error("invalid %s '%s': expected an http:// or https:// "
		    "URL with a host and without query or fragment, for "
		    "example https://meet.example.com", host_source, host);
		return EXIT_USAGE;
	}
	if (room == NULL)
		return usage_error(settings, "missing required option --room");
	if (settings->command == COMMAND_URL && strcmp(room, "*") == 0)
		return usage_error(settings, "--room '*' admits any room, but "
		    "a join URL needs the name of one room");

	if (!enabled) {
		if (settings->command == COMMAND_URL)
			return print_plain_url(host, room);
		print_error("JWT is disabled (HU_JITSI_JWT_ENABLED is false or "
		    "unset), so there is no token to issue; set "
		    "HU_JITSI_JWT_ENABLED=true");
		return EXIT_USAGE;
	}

	exit_status = create_issuer(settings, host_name, &issuer);
	if (exit_status == 0) {
		status = hu_issue(issuer, &settings->request,
		    (int64_t)time(NULL), &token, detail, sizeof detail);
		if (status != HU_OK) {
			print_error("cannot issue the token: %s (%s)", detail,
			    hu_strerror(status));
			exit_status = EXIT_USAGE;
		}
	}
	hu_issuer_free(issuer);
	if (exit_status != 0)
		return exit_status;

	if (settings->command == COMMAND_ISSUE) {
		exit_status = print_line(token);
	} else if (hu_join_url(host, room, token, &url) != HU_OK) {
		print_error("cannot build the join URL from %s and --room",
		    host_source);
		exit_status = EXIT_USAGE;
	} else {
		exit_status = print_line(url);
	}
	hu_free(url);
	hu_free(token);
	return exit_status;
}

/* Applies --leeway, --max-lifetime and --max-size. Returns 0 or
 * EXIT_USAGE. */
static int apply_verifier_limits(const struct settings *settings,
    hu_verifier *verifier)
{
	double seconds;
	long bytes;

	if (settings->leeway_text != NULL &&
	    (parse_seconds(settings->leeway_text, &seconds) != 0 ||
	    hu_verifier_set_leeway(verifier, seconds) != HU_OK))
		return usage_error(settings, "invalid value '%s' for --leeway: "
		    "expected seconds from 0 to 3600", settings->leeway_text);
	if (settings->max_lifetime_text != NULL &&
	    (parse_seconds(settings->max_lifetime_text, &seconds) != 0 ||
	    hu_verifier_set_max_lifetime(verifier, seconds) != HU_OK))
		return usage_error(settings, "invalid value '%s' for "
		    "--max-lifetime: expected seconds from 60 to 10 years",
		    settings->max_lifetime_text);
	if (settings->max_size_text != NULL &&
	    (parse_whole_number(settings->max_size_text, 0, LONG_MAX,
	    &bytes) != 0 ||
	    hu_verifier_set_max_size(verifier, (size_t)bytes) != HU_OK))
		return usage_error(settings, "invalid value '%s' for "
		    "--max-size: expected bytes from 256 to 65536",
		    settings->max_size_text);
	return 0;
}

/* Checks that --key-dir names a folder that can be read. Returns 0 or
 * EXIT_USAGE. */
static int check_key_dir(const char *path)
{
	DIR *dir = opendir(path);

	if (dir == NULL) {
		print_error("cannot open --key-dir '%s': %s", path,
		    strerror(errno));
		return EXIT_USAGE;
	}
	closedir(dir);
	return 0;
}

/* Adds the keys of the JWK Set text in key (read from path). A set without
 * keys is an error too, because it would reject every token. */
static hu_status add_jwks_file(const char *path, hu_verifier *verifier,
    const struct key_material *key, char *detail, size_t detail_size)
{
	char set_detail[HU_DETAIL_SIZE] = "";
	size_t added = 0;
	hu_status status;

	status = hu_verifier_add_jwks(verifier, key->data, key->len, &added,
	    set_detail, sizeof set_detail);
	if (status != HU_OK) {
		snprintf(detail, detail_size, "JWK Set file '%s': %s", path,
		    set_detail);
		return status;
	}
	if (added == 0) {
		snprintf(detail, detail_size, "JWK Set file '%s' has no keys",
		    path);
		return HU_ERR_CONFIGURATION;
	}
	return HU_OK;
}

/* Creates the verifier from the settings and the environment. Returns 0
 * or EXIT_USAGE. */
static int create_verifier(const struct settings *settings,
    hu_verifier **out)
{
	const char *alg = settings->alg != NULL ? settings->alg : "HS256";
	struct key_material key = { NULL, 0 };
	char detail[HU_DETAIL_SIZE] = "";
	hu_verifier *verifier;
	const char *app_id;
	hu_status status;
	int exit_status;

	app_id = app_id_or_report(settings);
	if (app_id == NULL)
		return EXIT_USAGE;
	if (settings->public_key_file != NULL)
		exit_status = read_key_file(settings->public_key_file,
		    "public key file", MAX_KEY_FILE, &key);
	else if (settings->jwks_file != NULL)
		exit_status = read_key_file(settings->jwks_file, "JWK Set file",
		    HU_MAX_JWKS_SIZE, &key);
	else if (settings->key_dir != NULL)
		exit_status = check_key_dir(settings->key_dir);
	else
		exit_status = load_secret(settings, &key);
	if (exit_status != 0)
		return exit_status;

	verifier = hu_verifier_new();
	if (verifier == NULL) {
		free_key_material(&key);
		print_error("out of memory");
		return EXIT_USAGE;
	}
	if (settings->public_key_file != NULL)
		status = hu_verifier_add_public_key_pem(verifier, settings->kid,
		    alg, key.data, key.len, detail, sizeof detail);
	else if (settings->jwks_file != NULL)
		status = add_jwks_file(settings->jwks_file, verifier, &key, detail,
		    sizeof detail);
	else if (settings->key_dir != NULL)
		status = HU_OK; /* run_verify() adds the token's key */
	else
		status = hu_verifier_add_hmac_key(verifier, settings->kid, alg,
		    key.data, key.len, detail, sizeof detail);
	free_key_material(&key);
	if (status != HU_OK) {
		print_error("%s: %s", hu_strerror(status), detail);
		hu_verifier_free(verifier);
		return EXIT_USAGE;
	}

	if (hu_verifier_add_issuer(verifier, app_id) != HU_OK ||
	    (settings->audience != NULL &&
	    hu_verifier_add_audience(verifier, settings->audience) != HU_OK)) {
		print_error("configuration-error: cannot add the accepted issuer "
		    "or audience");
		hu_verifier_free(verifier);
		return EXIT_USAGE;
	}
	exit_status = apply_verifier_limits(settings, verifier);
	if (exit_status != 0) {
		hu_verifier_free(verifier);
		return exit_status;
	}
	*out = verifier;
	return 0;
}

/* Reads the token from standard input into *token (freed by the caller).
 * Returns 0 or EXIT_USAGE. */
static int read_token_from_stdin(char **token, size_t *len)
{
	char *buffer = malloc(MAX_TOKEN_INPUT + 1);
	size_t total = 0;
	size_t got;

	if (buffer == NULL) {
		print_error("out of memory");
		return EXIT_USAGE;
	}
	do {
		got = fread(buffer + total, 1, MAX_TOKEN_INPUT + 1 - total,
		    stdin);
		total += got;
	} while (got > 0 && total < MAX_TOKEN_INPUT + 1);
	if (ferror(stdin)) {
		print_error("cannot read the token from standard input");
		free(buffer);
		return EXIT_USAGE;
	}
	if (total <= MAX_TOKEN_INPUT)
		total = strip_newline(buffer, total);
	*token = buffer;
	*len = total;
	return 0;
}

/* Prints json (which this call frees) as one compact line. */
static int print_json(json_t *json)
{
	char *text = json != NULL ? json_dumps(json, JSON_COMPACT) : NULL;
	int exit_status;

	json_decref(json);
	if (text == NULL) {
		print_error("out of memory while writing the JSON result");
		return EXIT_USAGE;
	}
	exit_status = print_line(text);
	free(text);
	return exit_status;
}

static int print_valid(const hu_claims *claims)
{
	const char *claims_text = hu_claims_json(claims);
	json_t *claims_json;
	json_error_t error;

	claims_json = claims_text != NULL ? json_loads(claims_text, 0, &error) :
	    NULL;
	if (claims_json == NULL) {
		print_error("internal-error: cannot read back the verified "
		    "claims");
		return EXIT_USAGE;
	}
	return print_json(json_pack("{s:b, s:b, s:o}", "valid", 1,
	    "moderator", hu_claims_is_moderator(claims), "claims",
	    claims_json));
}

static int print_rejected(hu_status status, const char *detail)
{
	int exit_status;

	exit_status = print_json(json_pack("{s:b, s:s, s:s}", "valid", 0,
	    "reason", hu_strerror(status), "detail", detail));
	return exit_status != 0 ? exit_status : EXIT_REJECTED;
}

/* Reads the key file at path into key. Returns 0, 1 when the file does
 * not exist, or EXIT_USAGE after reporting another error. */
static int read_optional_key_file(const char *path, struct key_material *key)
{
	struct stat info;

	if (stat(path, &info) != 0 && errno == ENOENT)
		return 1;
	return read_key_file(path, "key file", MAX_KEY_FILE, key);
}

/* Adds the PEM public key in key under kid: with alg, or without it as the
 * first of RS256, ES256 and ES384 that fits the key. */
static hu_status add_key_dir_key(hu_verifier *verifier, const char *kid,
    const char *alg, const struct key_material *key, char *detail,
    size_t detail_size)
{
	static const char *const default_algs[] = { "RS256", "ES256", "ES384" };
	char attempt_detail[HU_DETAIL_SIZE];
	size_t used = 0;
	hu_status status = HU_ERR_CONFIGURATION;
	size_t i;

	if (alg != NULL)
		return hu_verifier_add_public_key_pem(verifier, kid, alg,
		    key->data, key->len, detail, detail_size);

	/* Each failed attempt's reason is kept, so an RSA key that is too
	 * short reports that and not only that it is no EC key. */
	detail[0] = '\0';
	for (i = 0; i < sizeof default_algs / sizeof default_algs[0]; i++) {
		attempt_detail[0] = '\0';
		status = hu_verifier_add_public_key_pem(verifier, kid,
		    default_algs[i], key->data, key->len, attempt_detail,
		    sizeof attempt_detail);
		if (status == HU_OK || status == HU_ERR_NO_MEMORY)
			return status;
		if (used < detail_size)
			used += (size_t)snprintf(detail + used, detail_size - used,
			    "%s%s: %s", i > 0 ? "; " : "", default_algs[i],
			    attempt_detail);
	}
	return status;
}

/*
 * Adds the key that Jitsi's ASAP layout stores for the token's kid in
 * --key-dir (DIR/<hex SHA-256 of the kid>.pem). Returns -1 when the key was
 * added, or the exit status after printing a rejection (no readable kid, no
 * key file) or an error.
 */
static int add_key_from_dir(const struct settings *settings,
    hu_verifier *verifier, const char *token, size_t token_len)
{
	struct key_material key = { NULL, 0 };
	char detail[4 * HU_DETAIL_SIZE] = "";
	char name[HU_ASAP_KEY_NAME_SIZE];
	char path[MAX_PATH_BYTES];
	char kid[HU_KID_SIZE];
	hu_status status;
	int exit_status;
	int written;

	status = hu_peek_kid(token, token_len, kid, sizeof kid);
	if (status != HU_OK)
		return print_rejected(status, "cannot read the kid from the "
		    "token's header");
	if (kid[0] == '\0')
		return print_rejected(HU_ERR_UNKNOWN_KEY, "token has no kid, "
		    "which --key-dir needs to find the key file");
	if (hu_asap_key_name(kid, name) != HU_OK) {
		print_error("internal-error: cannot derive the key file name");
		return EXIT_USAGE;
	}
	written = snprintf(path, sizeof path, "%s/%s", settings->key_dir, name);
	if (written < 0 || (size_t)written >= sizeof path) {
		print_error("--key-dir '%s' is too long", settings->key_dir);
		return EXIT_USAGE;
	}

	exit_status = read_optional_key_file(path, &key);
	if (exit_status == 1) {
		snprintf(detail, sizeof detail, "no key file %s for the token's "
		    "kid in --key-dir", name);
		return print_rejected(HU_ERR_UNKNOWN_KEY, detail);
	}
	if (exit_status != 0)
		return exit_status;
	status = add_key_dir_key(verifier, kid, settings->alg, &key, detail,
	    sizeof detail);
	free_key_material(&key);
	if (status != HU_OK) {
		print_error("%s: key file '%s': %s", hu_strerror(status), path,
		    detail);
		return EXIT_USAGE;
	}
	return -1;
}

static int run_verify(const struct settings *settings)
{
	const char *room = settings->request.room;
	char detail[HU_DETAIL_SIZE] = "";
	hu_verifier *verifier = NULL;
	hu_claims *claims = NULL;
	char *stdin_token = NULL;
	const char *token;
	size_t token_len;
	hu_status status;
	double now;
	int exit_status;
	int enabled;

	/* verify does not use HU_JITSI_JWT_ENABLED, but an invalid value
	 * fails every command alike. */
	exit_status = read_jwt_enabled(&enabled);
	if (exit_status != 0)
		return exit_status;
	now = (double)time(NULL);
	if (settings->now_text != NULL &&
	    parse_seconds(settings->now_text, &now) != 0)
		return usage_error(settings, "invalid value '%s' for --now: "
		    "expected seconds since 1970-01-01 UTC", settings->now_text);

	/* The configuration is checked before the token is read. */
	exit_status = create_verifier(settings, &verifier);
	if (exit_status != 0)
		return exit_status;
	if (strcmp(settings->token_arg, "-") == 0) {
		exit_status = read_token_from_stdin(&stdin_token, &token_len);
		if (exit_status != 0) {
			hu_verifier_free(verifier);
			return exit_status;
		}
		token = stdin_token;
	} else {
		token = settings->token_arg;
		token_len = strlen(token);
	}
	if (settings->key_dir != NULL) {
		exit_status = add_key_from_dir(settings, verifier, token,
		    token_len);
		if (exit_status >= 0) {
			hu_verifier_free(verifier);
			free(stdin_token);
			return exit_status;
		}
	}

	status = hu_verify(verifier, token, token_len, now, &claims, detail,
	    sizeof detail);
	if (status == HU_OK && room != NULL) {
		status = hu_claims_check_room(claims, room, strlen(room));
		if (status != HU_OK)
			snprintf(detail, sizeof detail, "the token's room claim "
			    "does not admit the room given with --room");
	}

	if (status == HU_OK) {
		exit_status = print_valid(claims);
	} else if (hu_status_is_rejection(status)) {
		exit_status = print_rejected(status, detail);
	} else {
		print_error("cannot verify the token: %s: %s",
		    hu_strerror(status), detail);
		exit_status = EXIT_USAGE;
	}
	hu_claims_free(claims);
	hu_verifier_free(verifier);
	free(stdin_token);
	return exit_status;
}

/* Prints output, the public key or JWK, in the format asked for. */
static int print_key_output(enum key_format format, char *output)
{
	size_t len = strlen(output);
	char *set;
	int exit_status;

	if (format != FORMAT_JWKS) {
		/* A PEM ends with a newline, which print_line() adds again. */
		if (len > 0 && output[len - 1] == '\n')
			output[len - 1] = '\0';
		return print_line(output);
	}

	set = malloc(len + sizeof "{\"keys\":[]}");
	if (set == NULL) {
		print_error("out of memory");
		return EXIT_USAGE;
	}
	snprintf(set, len + sizeof "{\"keys\":[]}", "{\"keys\":[%s]}", output);
	exit_status = print_line(set);
	free(set);
	return exit_status;
}

static int run_key(const struct settings *settings)
{
	struct key_material key = { NULL, 0 };
	char detail[HU_DETAIL_SIZE] = "";
	char name[HU_ASAP_KEY_NAME_SIZE];
	char *output = NULL;
	hu_status status = HU_OK;
	int exit_status;

	if (settings->private_key_file != NULL) {
		exit_status = read_key_file(settings->private_key_file,
		    "private key file", MAX_KEY_FILE, &key);
		if (exit_status != 0)
			return exit_status;
	}

	/* asap-name checks a given private key too, so that a key the
	 * verifier would reject is not published under the name. */
	if (settings->format == FORMAT_JWK || settings->format == FORMAT_JWKS)
		status = hu_public_jwk_from_private(settings->alg, settings->kid,
		    key.data, key.len, &output, detail, sizeof detail);
	else if (settings->format == FORMAT_PEM || key.data != NULL)
		status = hu_public_key_pem_from_private(settings->alg, key.data,
		    key.len, &output, detail, sizeof detail);
	free_key_material(&key);
	if (status != HU_OK) {
		print_error("%s: private key file '%s' (from %s): %s",
		    hu_strerror(status), settings->private_key_file,
		    settings->private_key_source, detail);
		return EXIT_USAGE;
	}

	if (settings->format == FORMAT_ASAP_NAME) {
		hu_free(output);
		if (hu_asap_key_name(settings->kid, name) != HU_OK) {
			print_error("invalid %s: a kid is 1 to 256 bytes",
			    settings->kid_source);
			return EXIT_USAGE;
		}
		return print_line(name);
	}
	exit_status = print_key_output(settings->format, output);
	hu_free(output);
	return exit_status;
}

/* Selects the command named by name. Returns 0, or -1 for an unknown
 * name. */
static int select_command(const char *name, struct settings *settings)
{
	if (strcmp(name, "issue") == 0)
		settings->command = COMMAND_ISSUE;
	else if (strcmp(name, "url") == 0)
		settings->command = COMMAND_URL;
	else if (strcmp(name, "verify") == 0)
		settings->command = COMMAND_VERIFY;
	else if (strcmp(name, "key") == 0)
		settings->command = COMMAND_KEY;
	else
		return -1;
	settings->command_name = name;
	if (settings->command == COMMAND_VERIFY)
		settings->options = verify_options;
	else if (settings->command == COMMAND_KEY)
		settings->options = key_options;
	else
		settings->options = issue_options;
	return 0;
}

int main(int argc, char **argv)
{
	struct settings settings;
	int exit_status;

	memset(&settings, 0, sizeof settings);
	if (argc < 2) {
		print_error("missing command: use issue, url, verify or key\n"
		    "Run '" PROGRAM " --help' for usage.");
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_main_help();
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf(PROGRAM " %s\n", HU_VERSION_STRING);
		return 0;
	}
	if (select_command(argv[1], &settings) != 0) {
		if (argv[1][0] == '-')
			print_error("unknown option '%s'\nRun '" PROGRAM
			    " --help' for usage.", argv[1]);
		else
			print_error("unknown command '%s': use issue, url, verify "
			    "or key", argv[1]);
		return EXIT_USAGE;
	}

	exit_status = parse_arguments(argc - 1, argv + 1, &settings);
	if (exit_status >= 0)
		return exit_status;
	if (settings.command != COMMAND_VERIFY) {
		exit_status = apply_key_environment(&settings);
		if (exit_status != 0)
			return exit_status;
	}
	exit_status = check_key_options(&settings);
	if (exit_status != 0)
		return exit_status;

	if (settings.command == COMMAND_VERIFY)
		return run_verify(&settings);
	if (settings.command == COMMAND_KEY)
		return run_key(&settings);
	return run_issue_or_url(&settings);
}
