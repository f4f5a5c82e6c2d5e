/* The machine and software a bench run measured, and process helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>

#include <jansson.h>
#include <lua.h>
#include <openssl/crypto.h>

#include "bench.h"

#ifndef HU_BENCH_BUILD_TYPE
#define HU_BENCH_BUILD_TYPE "unknown"
#endif
#ifndef HU_BENCH_C_FLAGS
#define HU_BENCH_C_FLAGS "unknown"
#endif

double bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

long bench_proc_status_kib(const char *field)
{
	FILE *file = fopen("/proc/self/status", "r");
	char line[256];
	size_t field_len = strlen(field);
	long value = -1;

	if (file == NULL)
		return -1;
	while (fgets(line, sizeof line, file) != NULL) {
		if (strncmp(line, field, field_len) == 0 && line[field_len] == ':') {
			value = strtol(line + field_len + 1, NULL, 10);
			break;
		}
	}
	fclose(file);
	return value;
}

/* Copies the value of the first "name : value" line of path into out. */
static void read_keyed_line(const char *path, const char *name, char *out,
    size_t size)
{
	FILE *file = fopen(path, "r");
	char line[1024];
	size_t name_len = strlen(name);

	snprintf(out, size, "unknown");
	if (file == NULL)
		return;
	while (fgets(line, sizeof line, file) != NULL) {
		char *colon = strchr(line, ':');

		if (strncmp(line, name, name_len) != 0 || colon == NULL)
			continue;
		colon++;
		while (*colon == ' ' || *colon == '\t')
			colon++;
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(out, size, "%s", colon);
		break;
	}
	fclose(file);
}

/* Writes the installed version of a Debian package, asking dpkg-query,
 * which only reads the package database. */
static void package_version(const char *package, char *out, size_t size)
{
	char command[160];
	FILE *pipe;

	snprintf(out, size, "not installed");
	snprintf(command, sizeof command,
	    "dpkg-query -W -f='${Version}' %s 2>/dev/null", package);
	pipe = popen(command, "r");
	if (pipe == NULL)
		return;
	if (fgets(out, (int)size, pipe) == NULL || out[0] == '\0')
		snprintf(out, size, "not installed");
	out[strcspn(out, "\n")] = '\0';
	pclose(pipe);
}

static int cpu_has_flag(const char *flag)
{
	char flags[4096], *word;
	char *saveptr = NULL;

	read_keyed_line("/proc/cpuinfo", "flags", flags, sizeof flags);
	for (word = strtok_r(flags, " ", &saveptr); word != NULL;
	    word = strtok_r(NULL, " ", &saveptr))
		if (strcmp(word, flag) == 0)
			return 1;
	return 0;
}

void bench_print_machine(void)
{
	char model[256], family[32], cpu_model[32], loadavg[128];
	char prosody[64], libjwt[64], lua_package[64];
	struct utsname uts;

	read_keyed_line("/proc/cpuinfo", "model name", model, sizeof model);
	read_keyed_line("/proc/cpuinfo", "cpu family", family, sizeof family);
	read_keyed_line("/proc/cpuinfo", "model\t", cpu_model, sizeof cpu_model);
	package_version("prosody", prosody, sizeof prosody);
	package_version("libjwt0", libjwt, sizeof libjwt);
	package_version("liblua5.4-dev", lua_package, sizeof lua_package);
	if (uname(&uts) != 0)
		snprintf(uts.release, sizeof uts.release, "unknown");
	{
		FILE *file = fopen("/proc/loadavg", "r");

		snprintf(loadavg, sizeof loadavg, "unknown");
		if (file != NULL) {
			if (fgets(loadavg, sizeof loadavg, file) != NULL)
				loadavg[strcspn(loadavg, "\n")] = '\0';
			fclose(file);
		}
	}

	printf("## Machine\n\n");
	printf("- CPU: %s (family %s, model %s), %ld online cores, SHA extensions %s\n",
	    model, family, cpu_model, sysconf(_SC_NPROCESSORS_ONLN),
	    cpu_has_flag("sha_ni") ? "yes" : "no");
	printf("- Kernel: %s %s; load average at start: %s\n", uts.sysname,
	    uts.release, loadavg);
	printf("- OpenSSL: %s\n", OpenSSL_version(OPENSSL_VERSION));
	printf("- jansson: %s; libjwt: %s (Debian package libjwt0)\n",
	    jansson_version_str(), libjwt);
	printf("- Lua: %s (core linked into hu-bench from liblua5.4-dev %s)\n",
	    LUA_RELEASE, lua_package);
	printf("- Prosody: %s (dpkg-query -W prosody)\n", prosody);
	printf("- huddleup-token %s, build type \"%s\", C flags \"%s\"\n",
	    hu_version(), HU_BENCH_BUILD_TYPE, HU_BENCH_C_FLAGS);
	if (strcmp(HU_BENCH_BUILD_TYPE, "Release") != 0 &&
	    strcmp(HU_BENCH_BUILD_TYPE, "RelWithDebInfo") != 0 &&
	    strstr(HU_BENCH_C_FLAGS, "-O") == NULL)
		printf("- WARNING: the library was built without optimisation; "
		    "configure with -DCMAKE_BUILD_TYPE=RelWithDebInfo for numbers "
		    "that mean anything\n");
	printf("\n");
}
