/*
 * The Lua state of the bench. hu-bench links the Lua 5.4 core into itself,
 * as the lua5.4 interpreter that runs Prosody does, and loads the compiled
 * huddleup.token module and Prosody's util.jwt from their installed files.
 */
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "bench.h"

int bench_lua_open(struct lua_bench *lua, const struct lua_paths *paths,
    const struct bench_fixture *f, lua_Alloc alloc)
{
	lua_State *L;

	memset(lua, 0, sizeof *lua);
	L = alloc != NULL ? lua_newstate(alloc, NULL) : luaL_newstate();
	if (L == NULL) {
		fprintf(stderr, "hu-bench: cannot create a Lua state\n");
		return -1;
	}
	lua->L = L;
	luaL_openlibs(L);

	if (luaL_loadfile(L, paths->script) != LUA_OK) {
		fprintf(stderr, "hu-bench: cannot load %s: %s\n", paths->script,
		    lua_tostring(L, -1));
		return -1;
	}
	lua_createtable(L, 0, 7);
	lua_pushstring(L, paths->module_dir);
	lua_setfield(L, -2, "module_dir");
	lua_pushstring(L, paths->prosody_dir);
	lua_setfield(L, -2, "prosody_dir");
	lua_pushlstring(L, (const char *)f->secret, sizeof f->secret);
	lua_setfield(L, -2, "secret");
	lua_pushstring(L, f->issuer);
	lua_setfield(L, -2, "issuer");
	lua_pushstring(L, f->audience);
	lua_setfield(L, -2, "audience");
	lua_pushinteger(L, (lua_Integer)f->now);
	lua_setfield(L, -2, "now");
	if (lua_pcall(L, 1, 2, 0) != LUA_OK) {
		fprintf(stderr, "hu-bench: %s failed: %s\n", paths->script,
		    lua_tostring(L, -1));
		return -1;
	}

	/* Stack: runners, true or the reason util.jwt did not load. */
	lua->have_prosody_jwt = lua_toboolean(L, -1) && !lua_isstring(L, -1);
	if (!lua->have_prosody_jwt)
		snprintf(lua->prosody_error, sizeof lua->prosody_error, "%s",
		    lua_isstring(L, -1) ? lua_tostring(L, -1) : "unknown error");
	lua_pop(L, 1);
	lua_setfield(L, LUA_REGISTRYINDEX, "hu_bench_runners");
	return 0;
}

void bench_lua_close(struct lua_bench *lua)
{
	if (lua->L != NULL)
		lua_close(lua->L);
	lua->L = NULL;
}

int bench_lua_runner(struct lua_bench *lua, const char *kind,
    const char *token, struct lua_runner_context *out)
{
	lua_State *L = lua->L;

	lua_getfield(L, LUA_REGISTRYINDEX, "hu_bench_runners");
	lua_getfield(L, -1, kind);
	lua_pushstring(L, token);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
		fprintf(stderr, "hu-bench: cannot make the %s runner: %s\n", kind,
		    lua_tostring(L, -1));
		lua_pop(L, 2);
		return -1;
	}
	out->L = L;
	out->ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_pop(L, 1);
	return 0;
}

long bench_op_lua(void *context, long iterations)
{
	const struct lua_runner_context *c = context;
	lua_State *L = c->L;
	long errors;

	lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref);
	lua_pushinteger(L, iterations);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
		fprintf(stderr, "hu-bench: Lua runner failed: %s\n", lua_tostring(L, -1));
		lua_pop(L, 1);
		return iterations;
	}
	errors = (long)lua_tointeger(L, -1);
	lua_pop(L, 1);
	return errors;
}
