-- LuaRocks package of the Prosody side of huddleup-token: the Lua 5.4 C
-- module huddleup.token and the Prosody modules in lua/.
--
-- Build and install from a checkout, offline (no rock is downloaded):
--   luarocks --lua-version=5.4 make rockspec/huddleup-token-scm-1.rockspec
-- Add --tree DIR to install somewhere other than the system tree.
rockspec_format = "3.0"
package = "huddleup-token"
version = "scm-1"

source = {
	-- TODO: put the public repository address here once it exists. The
	-- .invalid host marks the placeholder. `luarocks make` builds the
	-- working tree and never reads this URL.
	url = "git+https://huddleup-token.invalid/huddleup-token.git",
}

description = {
	summary = "Verify HuddleUp's Jitsi Meet JWTs in Prosody with a C verifier",
	detailed = [[
The Lua 5.4 C module huddleup.token verifies Jitsi-format JWTs in C on
OpenSSL and jansson. mod_auth_huddleup_token admits a Prosody login only
with a valid token, and mod_huddleup_moderation checks the token's room on
every MUC join and makes moderator tokens the room's owners.
The Prosody modules are installed as Lua files (share/lua/5.4/mod_*.lua in
the tree), where Prosody finds them when plugin_paths names that folder.
]],
	license = "MIT",
	labels = { "prosody", "jitsi", "jwt" },
}

dependencies = {
	"lua >= 5.4, < 5.5",
}

external_dependencies = {
	OPENSSL = { header = "openssl/evp.h", library = "crypto" },
	JANSSON = { header = "jansson.h", library = "jansson" },
	LIBJWT = { header = "jwt.h", library = "jwt" },
}

-- The project's CMake build compiles the module, so that the version
-- (CMake's project(VERSION)) and the compiler flags have one source. Its
-- install step puts huddleup/token.so in LuaRocks' LIBDIR and the Prosody
-- modules in LUADIR. The variables below leave out the C library, the CLI
-- and the tests. LuaRocks builds in build.luarocks/ inside the checkout.
build = {
	type = "cmake",
	variables = {
		CMAKE_BUILD_TYPE = "Release",
		CMAKE_INSTALL_PREFIX = "$(PREFIX)",
		CMAKE_C_FLAGS = "$(CFLAGS)",
		LUA_INCLUDE_DIR = "$(LUA_INCDIR)",
		HU_INSTALL_LUA_CMOD_DIR = "$(LIBDIR)",
		HU_INSTALL_PROSODY_MODULES_DIR = "$(LUADIR)",
		HU_INSTALL_LIBRARY = "OFF",
		HU_BUILD_CLI = "OFF",
		BUILD_TESTING = "OFF",
	},
	copy_directories = {},
}
