-- Specs for lua/mod_auth_huddleup_token.lua, loaded outside Prosody.
--
-- The first groups stub huddleup.token to test how the module turns
-- verification results into SASL results and session fields. The last group
-- uses the real C module with tokens signed by Prosody's util.jwt.

package.path = "spec/support/?.lua;"..package.path;
local fake = require "fake_prosody_module";

local plugin_path = "lua/mod_auth_huddleup_token.lua";
local secret = "0123456789abcdef0123456789abcdef";
local wrong_secret = "fedcba9876543210fedcba9876543210";

local moderator_claims = {
	iss = "huddleup", aud = "jitsi", sub = "meet.jitsi.test", room = "standup",
	context = {
		user = { name = "Ada", moderator = true },
		group = "team-a",
		features = { recording = true },
	},
};
local member_claims = { iss = "huddleup", aud = "jitsi", sub = "meet.jitsi.test", room = "standup" };

-- Verification results by token, returned by the stub verifier.
local stub_results = {
	["moderator-token"] = { moderator_claims, true },
	["member-token"] = { member_claims, false },
	["expired-token"] = { nil, "token-expired", "exp is 40 s in the past" },
	["forged-token"] = { nil, "signature-mismatch", "HS256 signature does not match\nforged line" },
};

-- Returns a stand-in for huddleup.token and the list of configs passed to new().
local function new_stub_hu_token()
	local configs = {};
	local stub = { _VERSION = "0.1.0-stub" };

	function stub.new(config)
		table.insert(configs, config);
		if config.secret == "too-short" then
			error("configuration-error: secret must be at least 32 bytes", 0);
		end
		return {
			verify = function(_, token)
				local result = stub_results[token];
				if result == nil then
					return nil, "invalid-encoding", "not a JWT";
				end
				return result[1], result[2], result[3];
			end;
		};
	end

	function stub.hash_prefix(token)
		return ("%012x"):format(#token);
	end

	function stub.room_matches(claim, node)
		return claim == "*" or claim == node;
	end

	return stub, configs;
end

local function load_plugin(options)
	local stub, configs = new_stub_hu_token();
	local world = fake.load(plugin_path, {
		options = options or { app_id = "huddleup", app_secret = secret };
		preload = { ["huddleup.token"] = stub };
	});
	return world, configs, stub;
end

-- Creates a session as mod_websocket does and fires its websocket-session
-- event with `query` as the URL query.
local function websocket_session(world, query)
	local session = { id = "c2s"..tostring(math.random(1e9)), type = "c2s_unauthed" };
	world.fire_global("websocket-session", { session = session, request = { url = { query = query } } });
	return session;
end

-- Runs SASL ANONYMOUS for `session`. Returns process()'s status, condition
-- and text, then the SASL handler.
local function login(world, session)
	local handler = world.provided.auth.get_sasl_handler(session);
	assert.is_true(handler:select("ANONYMOUS"));
	local status, condition, text = handler:process("");
	return status, condition, text, handler;
end

describe("mod_auth_huddleup_token loading", function()
	it("provides the huddleup_token auth provider", function()
		local world = load_plugin();
		assert.equal("huddleup_token", world.provided.auth.name);
	end);

	it("accepts app_id as the only issuer by default", function()
		local _, configs = load_plugin();
		assert.same({ "huddleup" }, configs[1].issuers);
	end);

	it("defaults the audience to jitsi", function()
		local _, configs = load_plugin();
		assert.same({ "jitsi" }, configs[1].audiences);
	end);

	it("requires a room claim by default", function()
		local _, configs = load_plugin();
		assert.is_true(configs[1].require_room);
	end);

	it("uses HS256 and app_secret by default", function()
		local _, configs = load_plugin();
		assert.equal("HS256", configs[1].algorithm);
		assert.equal(secret, configs[1].secret);
	end);

	it("passes Jitsi and huddleup_token options", function()
		local _, configs = load_plugin({
			app_id = "huddleup", app_secret = secret,
			asap_accepted_issuers = { "huddleup", "other-app" },
			asap_accepted_audiences = { "jitsi", "meet" },
			asap_require_room_claim = false,
			huddleup_token_leeway = 5,
			huddleup_token_max_lifetime = 3600,
			huddleup_token_max_size = 4096,
		});
		local config = configs[1];
		assert.same({ "huddleup", "other-app" }, config.issuers);
		assert.same({ "jitsi", "meet" }, config.audiences);
		assert.is_false(config.require_room);
		assert.equal(5, config.leeway);
		assert.equal(3600, config.max_lifetime);
		assert.equal(4096, config.max_size);
	end);

	it("passes the configured leeway to sessions", function()
		local world = load_plugin({ app_id = "huddleup", app_secret = secret, huddleup_token_leeway = 5 });
		local session = websocket_session(world, "token=member-token");
		login(world, session);
		assert.equal(5, session.huddleup_token_leeway);
	end);

	it("passes enable_domain_verification to sessions", function()
		local world = load_plugin({ app_id = "huddleup", app_secret = secret, enable_domain_verification = true });
		local session = websocket_session(world, "token=member-token");
		login(world, session);
		assert.is_true(session.huddleup_domain_verification);
		assert.matches("domain verification on", world.log_text("info"), 1, true);
	end);

	it("leaves unset limits to the verifier defaults", function()
		local _, configs = load_plugin();
		assert.is_nil(configs[1].leeway);
		assert.is_nil(configs[1].max_lifetime);
		assert.is_nil(configs[1].max_size);
	end);

	it("reads the public key file for RS256", function()
		local key_path = os.tmpname();
		local file = assert(io.open(key_path, "w"));
		file:write("-----BEGIN PUBLIC KEY-----\nstub\n-----END PUBLIC KEY-----\n");
		file:close();

		local _, configs = load_plugin({
			app_id = "huddleup",
			huddleup_token_algorithm = "RS256",
			huddleup_token_public_key_file = key_path,
		});
		os.remove(key_path);
		assert.equal("RS256", configs[1].algorithm);
		assert.matches("BEGIN PUBLIC KEY", configs[1].public_key);
		assert.is_nil(configs[1].secret);
	end);

	it("fails without an issuer", function()
		assert.has_error(function()
			load_plugin({ app_secret = secret });
		end, "configuration-error: set app_id or asap_accepted_issuers to the accepted token issuer");
	end);

	it("fails without app_secret for HS256", function()
		assert.has_error(function()
			load_plugin({ app_id = "huddleup" });
		end, "configuration-error: app_secret is required for algorithm HS256");
	end);

	it("fails without a public key file for ES256", function()
		assert.has_error(function()
			load_plugin({ app_id = "huddleup", huddleup_token_algorithm = "ES256" });
		end, "configuration-error: huddleup_token_public_key_file is required for algorithm ES256");
	end);

	it("fails on a missing public key file", function()
		local ok, err = pcall(load_plugin, {
			app_id = "huddleup",
			huddleup_token_algorithm = "RS256",
			huddleup_token_public_key_file = "/nonexistent/huddleup.pem",
		});
		assert.is_false(ok);
		assert.matches("^configuration%-error: failed to read huddleup_token_public_key_file", err);
	end);

	it("fails on a leeway that is not a number", function()
		local ok, err = pcall(load_plugin, { app_id = "huddleup", app_secret = secret, huddleup_token_leeway = "soon" });
		assert.is_false(ok);
		assert.matches("huddleup_token_leeway must be a number", err, 1, true);
	end);

	it("fails when the verifier rejects the config", function()
		local ok, err = pcall(load_plugin, { app_id = "huddleup", app_secret = "too-short" });
		assert.is_false(ok);
		assert.matches("^configuration%-error: secret must be at least 32 bytes", err);
		assert.matches("app_secret", err, 1, true);
	end);

	it("logs its settings without the secret", function()
		local world = load_plugin();
		local info = world.log_text("info");
		assert.matches("HS256", info, 1, true);
		assert.matches("huddleup", info, 1, true);
		assert.not_matches(secret, world.log_text(), 1, true);
	end);
end);

describe("mod_auth_huddleup_token URL token", function()
	local world;
	before_each(function()
		world = load_plugin();
	end);

	it("stores the token of a WebSocket URL", function()
		local session = websocket_session(world, "room=standup&token=member-token");
		assert.equal("member-token", session.huddleup_token);
	end);

	it("decodes a percent-encoded token", function()
		local session = websocket_session(world, "token=member%2Dtoken");
		assert.equal("member-token", session.huddleup_token);
	end);

	it("stores the token of a BOSH URL for this host", function()
		local session = { sid = "bosh-1", host = "meet.jitsi.test" };
		world.fire_global("bosh-session", { session = session, request = { url = { query = "token=member-token" } } });
		assert.equal("member-token", session.huddleup_token);
	end);

	it("ignores BOSH sessions of other hosts", function()
		local session = { sid = "bosh-2", host = "other.example" };
		world.fire_global("bosh-session", { session = session, request = { url = { query = "token=member-token" } } });
		assert.is_nil(session.huddleup_token);
	end);

	it("handles a URL without query", function()
		local session = websocket_session(world, nil);
		assert.is_nil(session.huddleup_token);
		assert.is_nil(session.huddleup_token_error);
	end);

	it("handles a query without fields", function()
		local session = websocket_session(world, "member-token");
		assert.is_nil(session.huddleup_token);
	end);

	it("marks a URL with two tokens as invalid", function()
		local session = websocket_session(world, "token=member-token&token=moderator-token");
		assert.is_nil(session.huddleup_token);
		assert.equal("invalid-encoding", session.huddleup_token_error);
	end);

	-- util.http.formdecode decodes field names too, so "tok%65n" is a
	-- token field.
	it("marks a second token with an encoded name as invalid", function()
		local session = websocket_session(world, "token=member-token&tok%65n=moderator-token");
		assert.is_nil(session.huddleup_token);
		assert.equal("invalid-encoding", session.huddleup_token_error);
	end);

	it("stores the token of a field with an encoded name", function()
		local session = websocket_session(world, "room=standup&tok%65n=member-token");
		assert.equal("member-token", session.huddleup_token);
	end);

	it("ignores fields whose names contain token", function()
		local session = websocket_session(world, "tokens=a&xtoken=b&token=member-token&token_type=c");
		assert.equal("member-token", session.huddleup_token);
		assert.is_nil(session.huddleup_token_error);
	end);

	it("decodes a plus in the token as a space", function()
		local session = websocket_session(world, "token=member+token");
		assert.equal("member token", session.huddleup_token);
	end);

	local formdecode = require "util.http".formdecode;
	local queries = {
		"token=a%2Bb+c%zz%4", "a=b=c&token=d", "=token&token=", "token&token=x", "tok+en=x&token=y",
		"token=x&&token=", "room=%E2%82%AC&token=%7e", "a&=b&token", "token=x&", "&token=x=y", "token==",
		"%74oken=x&token=y",
	};
	for _, query in ipairs(queries) do
		it(("finds the token fields of %s as formdecode"):format(query), function()
			local expected, count = nil, 0;
			for _, field in ipairs(formdecode(query)) do
				if field.name == "token" then
					expected, count = field.value, count + 1;
				end
			end
			local session = websocket_session(world, query);
			if count > 1 then
				assert.equal("invalid-encoding", session.huddleup_token_error);
			else
				assert.equal(expected, session.huddleup_token);
			end
		end);
	end

	it("parses the query of a session once for all hosts", function()
		local other = load_plugin();
		local session = websocket_session(world, "token=member-token");
		other.fire_global("websocket-session", { session = session, request = { url = { query = "token=moderator-token" } } });
		assert.equal("member-token", session.huddleup_token);
	end);
end);

describe("mod_auth_huddleup_token URL query size", function()
	-- The default token size limit (8192 bytes) plus 1 KiB.
	local default_limit = 8192 + 1024;

	-- Returns a query of exactly `size` bytes with one token parameter.
	local function query_of_size(size)
		return "token="..("a"):rep(size - #"token=");
	end

	it("parses a query at the limit", function()
		local world = load_plugin();
		local session = websocket_session(world, query_of_size(default_limit));
		assert.equal(default_limit - #"token=", #session.huddleup_token);
		local _, _, text = login(world, session);
		assert.equal("invalid-encoding", text);
	end);

	it("rejects a longer query without decoding it", function()
		local world = load_plugin();
		local session = websocket_session(world, query_of_size(default_limit + 1));
		assert.is_nil(session.huddleup_token);
		assert.is_nil(session.huddleup_token_error);
		local status, condition, text = login(world, session);
		assert.equal("failure", status);
		assert.equal("not-authorized", condition);
		assert.equal("token-too-large", text);
	end);

	it("rejects a long query of many token parameters", function()
		local world = load_plugin();
		local query = ("token=a&"):rep(2000);
		local session = websocket_session(world, query);
		assert.is_nil(session.huddleup_token_error);
		local _, _, text = login(world, session);
		assert.equal("token-too-large", text);
	end);

	it("follows huddleup_token_max_size", function()
		local world = load_plugin({ app_id = "huddleup", app_secret = secret, huddleup_token_max_size = 4096 });
		local _, _, at_limit = login(world, websocket_session(world, query_of_size(4096 + 1024)));
		local _, _, over_limit = login(world, websocket_session(world, query_of_size(4096 + 1025)));
		assert.equal("invalid-encoding", at_limit);
		assert.equal("token-too-large", over_limit);
	end);

	it("logs the sizes without the query", function()
		local world = load_plugin();
		login(world, websocket_session(world, query_of_size(default_limit + 1)));
		local warning = world.log_text("warn");
		assert.matches("token-too-large", warning, 1, true);
		assert.matches(("URL query is %d bytes; the limit is %d"):format(default_limit + 1, default_limit), warning, 1, true);
		assert.not_matches("aaaaaaaaaaaaaaaaaaaa", world.log_text(), 1, true);
	end);

	-- A WebSocket session reaches the hooks of every host before it names
	-- its host, so each host must apply its own limit whatever the order.
	it("applies each host's limit to a shared WebSocket session", function()
		for _, small_first in ipairs({ true, false }) do
			local small = load_plugin({ app_id = "huddleup", app_secret = secret, huddleup_token_max_size = 4096 });
			local large = load_plugin();
			local session = { id = "c2s-shared", type = "c2s_unauthed" };
			local event = { session = session, request = { url = { query = query_of_size(6000) } } };
			local order = small_first and { small, large } or { large, small };
			for _, world in ipairs(order) do
				world.fire_global("websocket-session", event);
			end

			local _, _, small_text = login(small, session);
			local _, _, large_text = login(large, session);
			assert.equal("token-too-large", small_text);
			assert.equal("invalid-encoding", large_text);
		end
	end);
end);

describe("mod_auth_huddleup_token SASL", function()
	local world;
	before_each(function()
		world = load_plugin();
	end);

	it("offers only ANONYMOUS", function()
		local handler = world.provided.auth.get_sasl_handler({});
		assert.same({ ANONYMOUS = true }, handler:mechanisms());
	end);

	it("rejects other mechanisms", function()
		local handler = world.provided.auth.get_sasl_handler({});
		assert.is_false(handler:select("PLAIN"));
		assert.is_nil(handler.selected);
	end);

	it("selects a mechanism only once", function()
		local handler = world.provided.auth.get_sasl_handler({});
		assert.is_true(handler:select("ANONYMOUS"));
		assert.is_false(handler:select("ANONYMOUS"));
	end);

	it("clean_clone returns an unselected handler", function()
		local handler = world.provided.auth.get_sasl_handler({});
		handler:select("ANONYMOUS");
		local clone = handler:clean_clone();
		assert.is_nil(clone.selected);
		assert.is_true(clone:select("ANONYMOUS"));
	end);

	it("logs in a moderator token", function()
		local session = websocket_session(world, "token=moderator-token");
		local status, _, _, handler = login(world, session);
		assert.equal("success", status);
		assert.matches("^%x+%-%x+%-%x+%-%x+%-%x+$", handler.username);
		assert.is_true(session.huddleup_moderator);
		assert.is_false(session.huddleup_guest);
		assert.equal(moderator_claims, session.huddleup_claims);
	end);

	it("fills the session fields Jitsi reads", function()
		local session = websocket_session(world, "token=moderator-token");
		login(world, session);
		assert.equal("moderator-token", session.auth_token);
		assert.equal("standup", session.jitsi_meet_room);
		assert.equal("meet.jitsi.test", session.jitsi_meet_domain);
		assert.equal(moderator_claims.context.user, session.jitsi_meet_context_user);
		assert.equal("team-a", session.jitsi_meet_context_group);
		assert.equal(moderator_claims.context.features, session.jitsi_meet_context_features);
		assert.is_true(session.huddleup_room_required);
	end);

	it("stores the verifier leeway for the moderation module", function()
		local session = websocket_session(world, "token=member-token");
		login(world, session);
		assert.equal(30, session.huddleup_token_leeway);
		assert.is_false(session.huddleup_domain_verification);
	end);

	it("gives token sessions the host's default role", function()
		local _, _, _, handler = login(world, websocket_session(world, "token=member-token"));
		assert.is_nil(handler.role);
	end);

	it("logs in a member token", function()
		local session = websocket_session(world, "token=member-token");
		local status = login(world, session);
		assert.equal("success", status);
		assert.is_false(session.huddleup_moderator);
		assert.is_nil(session.jitsi_meet_context_user);
	end);

	it("gives each login a different username", function()
		local _, _, _, first = login(world, websocket_session(world, "token=member-token"));
		local _, _, _, second = login(world, websocket_session(world, "token=member-token"));
		assert.not_equal(first.username, second.username);
	end);

	it("rejects an expired token", function()
		local session = websocket_session(world, "token=expired-token");
		local status, condition, text = login(world, session);
		assert.equal("failure", status);
		assert.equal("not-authorized", condition);
		assert.equal("token-expired", text);
		assert.is_nil(session.huddleup_claims);
		assert.is_nil(session.auth_token);
	end);

	it("rejects a token that is not a JWT", function()
		local status, condition, text = login(world, websocket_session(world, "token=garbage"));
		assert.equal("failure", status);
		assert.equal("not-authorized", condition);
		assert.equal("invalid-encoding", text);
	end);

	it("rejects a missing token", function()
		local status, condition, text = login(world, websocket_session(world, nil));
		assert.equal("failure", status);
		assert.equal("not-authorized", condition);
		assert.equal("missing-token", text);
	end);

	it("rejects a URL with two tokens", function()
		local session = websocket_session(world, "token=member-token&token=moderator-token");
		local status, _, text = login(world, session);
		assert.equal("failure", status);
		assert.equal("invalid-encoding", text);
	end);

	it("warns with a hash prefix, never the token", function()
		local session = websocket_session(world, "token=forged-token");
		login(world, session);
		local warning = world.log_text("warn");
		assert.matches("signature-mismatch", warning, 1, true);
		assert.matches(("%012x"):format(#"forged-token"), warning, 1, true);
		assert.matches(session.id, warning, 1, true);
		assert.not_matches("forged-token", world.log_text(), 1, true);
	end);

	it("keeps control characters out of the warning", function()
		login(world, websocket_session(world, "token=forged-token"));
		assert.not_matches("\n", world.log_text("warn"), 1, true);
	end);

	-- Prosody's log sinks format their arguments with util.format, which
	-- calls tostring on the arguments of %s.
	it("hashes the token of the debug line only when it is formatted", function()
		local plugin, _, stub = load_plugin();
		local hashed = 0;
		local hash_prefix = stub.hash_prefix;
		stub.hash_prefix = function(token)
			hashed = hashed + 1;
			return hash_prefix(token);
		end
		local lines = {};
		function plugin.module.log(_, level, format, ...)
			table.insert(lines, { level = level, format = format, args = table.pack(...) });
		end

		assert.equal("success", login(plugin, websocket_session(plugin, "token=member-token")));
		assert.equal(0, hashed);
		local line = lines[#lines];
		assert.equal("debug", line.level);
		assert.matches(("%012x"):format(#"member-token"), line.format:format(table.unpack(line.args, 1, line.args.n)), 1, true);
		assert.equal(1, hashed);
	end);
end);

describe("mod_auth_huddleup_token with allow_empty_token", function()
	local world;
	before_each(function()
		world = load_plugin({ app_id = "huddleup", app_secret = secret, allow_empty_token = true });
	end);

	it("logs in a missing token as a guest", function()
		local session = websocket_session(world, "room=standup");
		local status, _, _, handler = login(world, session);
		assert.equal("success", status);
		assert.equal("prosody:guest", handler.role);
		assert.is_true(session.huddleup_guest);
		assert.is_false(session.huddleup_moderator);
		assert.is_nil(session.huddleup_claims);
		assert.is_nil(session.auth_token);
	end);

	it("still rejects an invalid token", function()
		local session = websocket_session(world, "token=expired-token");
		local status, condition, text = login(world, session);
		assert.equal("failure", status);
		assert.equal("not-authorized", condition);
		assert.equal("token-expired", text);
		assert.is_nil(session.huddleup_guest);
	end);

	it("still rejects an empty token value", function()
		local status = login(world, websocket_session(world, "token="));
		assert.equal("failure", status);
	end);
end);

describe("mod_auth_huddleup_token provider", function()
	local provider;
	before_each(function()
		provider = load_plugin().provided.auth;
	end);

	it("has no passwords", function()
		assert.is_nil(provider.test_password("someone", "secret"));
		assert.is_nil(provider.get_password("someone"));
		assert.is_nil(provider.set_password("someone", "secret"));
	end);

	it("has no stored accounts", function()
		assert.is_nil(provider.user_exists("someone"));
		assert.is_nil(provider.create_user("someone", "secret"));
		assert.is_nil(provider.delete_user("someone"));
	end);
end);

describe("mod_auth_huddleup_token with the real verifier", function()
	-- Prosody's util.jwt signs HS256 tokens, independently of this project.
	local jwt = require "util.jwt";
	local world;

	before_each(function()
		world = fake.load(plugin_path, {
			options = { app_id = "huddleup", app_secret = secret, huddleup_token_leeway = 0 };
		});
	end);

	local function sign(key, overrides)
		local now = os.time();
		local payload = {
			iss = "huddleup", aud = "jitsi", sub = "meet.jitsi.test", room = "standup",
			nbf = now - 10, exp = now + 600,
			context = { user = { name = "Ada", moderator = true } },
		};
		for name, value in pairs(overrides or {}) do
			payload[name] = value;
		end
		return jwt.sign(key, payload);
	end

	it("logs in a signed moderator token", function()
		local session = websocket_session(world, "token="..sign(secret));
		local status = login(world, session);
		assert.equal("success", status);
		assert.is_true(session.huddleup_moderator);
		assert.equal("standup", session.jitsi_meet_room);
		assert.equal("Ada", session.jitsi_meet_context_user.name);
	end);

	it("rejects a token signed with another secret", function()
		local status, condition, text = login(world, websocket_session(world, "token="..sign(wrong_secret)));
		assert.equal("failure", status);
		assert.equal("not-authorized", condition);
		assert.equal("signature-mismatch", text);
	end);

	it("rejects an expired token", function()
		local now = os.time();
		local token = sign(secret, { nbf = now - 120, exp = now - 60 });
		local _, _, text = login(world, websocket_session(world, "token="..token));
		assert.equal("token-expired", text);
	end);

	it("rejects another issuer", function()
		local _, _, text = login(world, websocket_session(world, "token="..sign(secret, { iss = "someone-else" })));
		assert.equal("issuer-not-accepted", text);
	end);

	it("logs the real hash prefix of a rejected token", function()
		local token = sign(wrong_secret);
		login(world, websocket_session(world, "token="..token));
		local hu_token = require "huddleup.token";
		assert.matches(hu_token.hash_prefix(token), world.log_text("warn"), 1, true);
		assert.not_matches(token, world.log_text(), 1, true);
	end);
end);

describe("mod_auth_huddleup_token metrics", function()
	local function load_with(options, api)
		local stub = new_stub_hu_token();
		return fake.load(plugin_path, {
			options = options or { app_id = "huddleup", app_secret = secret };
			preload = { ["huddleup.token"] = stub };
			api = api;
		});
	end

	it("declares its counters with their labels", function()
		local world = load_with();
		assert.same({ "kind" }, world.metrics.accepted.label_keys);
		assert.same({ "reason" }, world.metrics.rejected.label_keys);
		assert.same({ "source" }, world.metrics.key_fetches.label_keys);
		assert.same({ "source" }, world.metrics.key_fetch_failures.label_keys);
		assert.equal("", world.metrics.accepted.unit);
	end);

	it("counts accepted tokens by kind", function()
		local world = load_with();
		login(world, websocket_session(world, "token=moderator-token"));
		login(world, websocket_session(world, "token=member-token"));
		login(world, websocket_session(world, "token=member-token"));
		assert.equal(1, world.metric_value("accepted", "moderator"));
		assert.equal(2, world.metric_value("accepted", "member"));
		assert.is_nil(world.metric_value("accepted", "guest"));
		assert.same({}, world.metrics.rejected.values);
	end);

	it("counts guests without a token", function()
		local world = load_with({ app_id = "huddleup", app_secret = secret, allow_empty_token = true });
		login(world, websocket_session(world, "room=standup"));
		assert.equal(1, world.metric_value("accepted", "guest"));
	end);

	it("counts rejections by reason", function()
		local world = load_with();
		login(world, websocket_session(world, "token=expired-token"));
		login(world, websocket_session(world, "token=forged-token"));
		login(world, websocket_session(world, "token=forged-token"));
		login(world, websocket_session(world, nil));
		login(world, websocket_session(world, "token=a&token=b"));
		assert.equal(1, world.metric_value("rejected", "token-expired"));
		assert.equal(2, world.metric_value("rejected", "signature-mismatch"));
		assert.equal(1, world.metric_value("rejected", "missing-token"));
		assert.equal(1, world.metric_value("rejected", "invalid-encoding"));
		assert.same({}, world.metrics.accepted.values);
	end);

	it("falls back to module:measure without module:metric", function()
		local measured = {};
		local world = load_with(nil, {
			metric = false;
			measure = function(_, name, stat_type)
				assert.equal("counter", stat_type);
				return function(amount)
					measured[name] = (measured[name] or 0) + amount;
				end;
			end;
		});
		login(world, websocket_session(world, "token=member-token"));
		login(world, websocket_session(world, "token=forged-token"));
		login(world, websocket_session(world, "token=forged-token"));
		assert.equal(1, measured.accepted_member);
		assert.equal(2, measured["rejected_signature-mismatch"]);
	end);

	it("logs its version and the files it was loaded from", function()
		local world = load_with(nil, { path = "/opt/plugins/mod_auth_huddleup_token.lua" });
		local ready = world.log_text("info"):match("Token authentication ready: [^\n]*");
		assert.matches("huddleup-token 0.1.0-stub", ready, 1, true);
		assert.matches("/opt/plugins/mod_auth_huddleup_token.lua", ready, 1, true);
	end);
end);
