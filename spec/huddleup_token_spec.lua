-- Specs for the Lua C module huddleup.token (csrc/lua_token.c).
-- Run with: busted --lua=lua5.4 (LUA_CPATH_5_4 must reach build/lua/?.so).
local json = require "dkjson";

local hu_token = require "huddleup.token";

local shared_dir = os.getenv("HU_SHARED_DIR") or "../shared";

local function read_cases()
	local file = assert(io.open(shared_dir .. "/cases/tokens.json", "rb"),
		"cannot open " .. shared_dir .. "/cases/tokens.json (set HU_SHARED_DIR)");
	local text = file:read("a");
	file:close();
	local corpus = assert(json.decode(text));
	return corpus.cases;
end

local function hex_decode(hex)
	return (hex:gsub("..", function (byte) return string.char(tonumber(byte, 16)); end));
end

local function config_for(case)
	local config = {
		algorithm = case.alg,
		issuers = { case.app_id },
		audiences = { case.audience },
		leeway = case.leeway,
	};
	if case.secret then
		config.secret = case.secret;
	elseif case.secret_hex then
		config.secret = hex_decode(case.secret_hex);
	else
		config.public_key = case.public_key_pem;
	end
	return config;
end

local function listed(reasons, reason)
	for _, r in ipairs(reasons or {}) do
		if r == reason then return true; end
	end
	return false;
end

describe("huddleup.token", function ()
	local secret = "test-only-shared-secret-0123456789abcdef";

	it("reports its version", function ()
		assert.is_string(hu_token._VERSION);
		assert.matches("^%d+%.%d+%.%d+$", hu_token._VERSION);
	end);

	describe("shared token cases", function ()
		for _, case in ipairs(read_cases()) do
			it("decides " .. case.name, function ()
				if listed(case.reasons, "configuration-error") then
					local ok, err = pcall(hu_token.new, config_for(case));
					assert.is_false(ok);
					assert.matches("^configuration%-error: ", err);
					return;
				end
				local verifier = hu_token.new(config_for(case));
				local claims, moderator, detail = verifier:verify(case.token, case.now);
				if case.expect == "accept" then
					assert.is_table(claims, "rejected: " .. tostring(moderator) .. " " .. tostring(detail));
					assert.equal(case.moderator, moderator);
				else
					assert.is_nil(claims);
					assert.is_true(listed(case.reasons, moderator),
						"reason " .. tostring(moderator) .. " not listed for " .. case.name);
					assert.is_string(detail);
				end
			end);
		end
	end);

	describe("new", function ()
		it("raises on a weak secret", function ()
			assert.has_error(function ()
				hu_token.new({ secret = "too-short", issuers = { "app" } });
			end, "configuration-error: HMAC secret is 9 bytes; at least 32 are required");
		end);

		it("raises without issuers", function ()
			assert.has_error(function () hu_token.new({ secret = secret }); end);
		end);

		it("raises without a key", function ()
			assert.has_error(function () hu_token.new({ issuers = { "app" } }); end);
		end);

		it("raises on alg none", function ()
			assert.has_error(function ()
				hu_token.new({ algorithm = "none", secret = secret, issuers = { "app" } });
			end);
		end);

		it("names an unsupported algorithm", function ()
			assert.has_error(function ()
				hu_token.new({ algorithm = "none", secret = secret, issuers = { "app" } });
			end, "configuration-error: algorithm 'none' is not supported "
				.. "(use HS256, HS384, HS512, RS256, RS384, RS512, ES256 or ES384)");
		end);

		it("raises on an empty issuer list", function ()
			assert.has_error(function ()
				hu_token.new({ secret = secret, issuers = {} });
			end);
		end);

		it("raises on a kid with a NUL byte", function ()
			assert.has_error(function ()
				hu_token.new({ keys = { ["a\0b"] = { secret = secret } }, issuers = { "app" } });
			end, "configuration-error: a kid in 'keys' contains a NUL byte");
		end);

		it("raises on a public key for HS256", function ()
			assert.has_error(function ()
				hu_token.new({ algorithm = "HS256", public_key = "x", issuers = { "app" } });
			end);
		end);

		it("raises on out-of-range numbers", function ()
			assert.has_error(function ()
				hu_token.new({ secret = secret, issuers = { "app" }, leeway = -1 });
			end);
			assert.has_error(function ()
				hu_token.new({ secret = secret, issuers = { "app" }, max_size = 10 });
			end);
		end);

		-- Regression: a NaN max_size reached a cast to size_t, which is
		-- undefined behaviour (reported by UBSan's float-cast-overflow).
		it("raises on NaN numbers", function ()
			for _, field in ipairs({ "leeway", "max_lifetime", "max_size" }) do
				local ok, err = pcall(hu_token.new,
					{ secret = secret, issuers = { "app" }, [field] = 0/0 });
				assert.is_false(ok);
				assert.matches("^configuration%-error: '" .. field .. "'", err);
			end
		end);

		it("keeps verifiers independent", function ()
			local cases = read_cases();
			local baseline;
			for _, case in ipairs(cases) do
				if case.name == "valid_baseline" then baseline = case; end
			end
			local accepting = hu_token.new(config_for(baseline));
			local other = hu_token.new({ secret = secret, issuers = { "another-app" } });
			assert.is_table(accepting:verify(baseline.token, baseline.now));
			local claims, reason = other:verify(baseline.token, baseline.now);
			assert.is_nil(claims);
			assert.equal("issuer-not-accepted", reason);
			assert.is_table((accepting:verify(baseline.token, baseline.now)));
		end);
	end);

	describe("verify", function ()
		it("raises on a non-string token", function ()
			local verifier = hu_token.new({ secret = secret, issuers = { "app" } });
			assert.has_error(function () verifier:verify(nil); end);
			assert.has_error(function () verifier:verify({}); end);
		end);

		it("rejects an empty token", function ()
			local verifier = hu_token.new({ secret = secret, issuers = { "app" } });
			local claims, reason = verifier:verify("");
			assert.is_nil(claims);
			assert.equal("invalid-encoding", reason);
		end);

		it("rejects an oversized token by size", function ()
			local verifier = hu_token.new({ secret = secret, issuers = { "app" } });
			local claims, reason = verifier:verify(string.rep("a", 9000));
			assert.is_nil(claims);
			assert.equal("token-too-large", reason);
		end);
	end);

	describe("room_matches", function ()
		it("matches the wildcard", function ()
			assert.is_true(hu_token.room_matches("*", "anything"));
		end);

		it("ignores ASCII case", function ()
			assert.is_true(hu_token.room_matches("Weekly-Sync", "weekly-sync"));
		end);

		it("decodes percent-encoding on both sides", function ()
			assert.is_true(hu_token.room_matches("caf%C3%A9", "café"));
			assert.is_true(hu_token.room_matches("café", "caf%c3%a9"));
		end);

		it("rejects another room", function ()
			assert.is_false(hu_token.room_matches("lobby", "lobby2"));
		end);

		it("keeps escapes of unreserved characters", function ()
			-- An encoder never writes %65 for "e", so the claim names the
			-- room "w%65ekly", never the room "weekly".
			assert.is_false(hu_token.room_matches("w%65ekly-sync", "weekly-sync"));
			assert.is_false(hu_token.room_matches("weekly-sync", "w%65ekly-sync"));
			assert.is_true(hu_token.room_matches("w%2565ekly-sync", "w%2565ekly-sync"));
			assert.is_true(hu_token.room_matches("w%2565ekly-sync", "w%65ekly-sync"));
		end);

		it("decodes escaped reserved characters", function ()
			assert.is_true(hu_token.room_matches("50%25off", "50%off"));
			assert.is_true(hu_token.room_matches("a%20b", "a b"));
		end);
	end);

	describe("hash_prefix", function ()
		it("returns 12 hex digits of SHA-256", function ()
			assert.equal("ba7816bf8f01", hu_token.hash_prefix("abc"));
		end);
	end);
end);
