-- Specs for lua/huddleup_keys.lib.lua: key sources by kid for
-- mod_auth_huddleup_token (config keys, key folder, key server, JWK Sets),
-- with the real huddleup.token C module and Prosody's util.* libraries.
-- net.http is a fake that records requests, so each spec responds to them,
-- fails them or lets them time out.
--
-- Needs the openssl command (keys and signatures are made at run time) and
-- Debian's prosody package in /usr/lib/prosody (or PROSODY_LIB_DIR).

local prosody_dir = os.getenv("PROSODY_LIB_DIR") or "/usr/lib/prosody";
if not package.path:find(prosody_dir, 1, true) then
	package.path = prosody_dir.."/?.lua;"..package.path;
	package.cpath = prosody_dir.."/?.so;"..package.cpath;
end

local async = require "util.async";
local base64 = require "util.encodings".base64;
local json = require "util.json";
local lfs = require "lfs";
local hu_token = require "huddleup.token";

-- The fake net.http: request() records each request and returns it, and a
-- spec responds with respond(request, body, code).
local fake_http = { requests = {} };

function fake_http.request(url, options, callback)
	local request = { url = url, options = options, callback = callback };
	table.insert(fake_http.requests, request);
	return request;
end

function fake_http.destroy_request(request)
	request.destroyed = true;
end

local function respond(request, body, code)
	request.callback(body, code, {}, request);
end

package.loaded["net.http"] = fake_http;
local huddleup_keys = dofile("lua/huddleup_keys.lib.lua");

local APP = "keys-app";
local NOW = os.time();

------------------------------------------------------------------------
-- Keys and tokens
------------------------------------------------------------------------

local work_dir = os.tmpname();
os.remove(work_dir);
assert(lfs.mkdir(work_dir));

local function shell(command)
	local pipe = assert(io.popen(command, "r"));
	local output = pipe:read("a");
	local ok = pipe:close();
	assert(ok, "command failed: "..command);
	return output;
end

local function write_file(path, content)
	local file = assert(io.open(path, "wb"));
	file:write(content);
	file:close();
end

local function b64url(bytes)
	return (base64.encode(bytes):gsub("%+", "-"):gsub("/", "_"):gsub("=", ""));
end

-- Makes a key pair with openssl: kind "rsa" (2048 bits) or "ec" (P-256).
local function new_key(name, kind)
	local path = work_dir.."/"..name..".pem";
	if kind == "rsa" then
		shell(("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out %s 2>/dev/null"):format(path));
	else
		shell(("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s"):format(path));
	end
	return {
		kind = kind;
		private_path = path;
		private_pem = shell("cat "..path);
		public_pem = shell(("openssl pkey -in %s -pubout"):format(path));
	};
end

-- Turns an ECDSA signature from DER (what openssl writes) into r || s, 32
-- bytes each (what JWS uses).
local function der_to_raw(der)
	local function read_integer(position)
		assert(der:byte(position) == 0x02, "DER integer expected");
		local length = der:byte(position + 1);
		local value = der:sub(position + 2, position + 1 + length):gsub("^%z+", "");
		return ("\0"):rep(32 - #value)..value, position + 2 + length;
	end
	assert(der:byte(1) == 0x30, "DER sequence expected");
	local r, next_position = read_integer(3);
	local s = read_integer(next_position);
	return r..s;
end

-- Signs a token for room "lobby" with key under kid (nil: no kid header).
local function sign(key, kid)
	local header = { alg = key.kind == "rsa" and "RS256" or "ES256", typ = "JWT", kid = kid };
	local claims = { iss = APP, aud = "jitsi", sub = "meet.example.com", room = "lobby",
		iat = NOW, nbf = NOW - 10, exp = NOW + 3600 };
	local signing_input = b64url(json.encode(header)).."."..b64url(json.encode(claims));
	local input_path = work_dir.."/signing-input";
	write_file(input_path, signing_input);
	local signature = shell(("openssl dgst -sha256 -sign %s %s"):format(key.private_path, input_path));
	if key.kind == "ec" then
		signature = der_to_raw(signature);
	end
	return signing_input.."."..b64url(signature);
end

local rsa_old = new_key("rsa-old", "rsa");
local rsa_new = new_key("rsa-new", "rsa");
local ec_key = new_key("ec", "ec");

local function hex_to_bytes(hex)
	return (hex:gsub("%x%x", function (pair) return string.char(tonumber(pair, 16)); end));
end

-- Returns the JWK of key's public half under kid, read with openssl.
local function jwk_of(key, kid)
	local path = work_dir.."/jwk-input.pub";
	write_file(path, key.public_pem);
	if key.kind == "rsa" then
		local modulus = shell(("openssl rsa -pubin -in %s -modulus -noout"):format(path)):match("Modulus=(%x+)");
		return json.encode({ kty = "RSA", kid = kid, n = b64url(hex_to_bytes(modulus)), e = "AQAB" });
	end
	local text = shell(("openssl ec -pubin -in %s -text -noout 2>/dev/null"):format(path));
	-- The uncompressed point: 0x04, then x and y of 32 bytes each.
	local point = hex_to_bytes(text:match("pub:%s*([%x:%s]+)ASN1"):gsub("[:%s]", ""));
	return json.encode({ kty = "EC", crv = "P-256", kid = kid, x = b64url(point:sub(2, 33)),
		y = b64url(point:sub(34, 65)) });
end

------------------------------------------------------------------------
-- A stand-in for Prosody's module object
------------------------------------------------------------------------

local clock = { now = 1000 };

local function new_module(options)
	local module = { options = options or {}, logs = {}, timers = {}, global_hooks = {} };

	function module:get_option(name, default)
		local value = self.options[name];
		if value == nil then
			return default;
		end
		return value;
	end

	function module:get_option_path(name, default)
		return self:get_option(name, default);
	end

	function module:log(level, format, ...)
		table.insert(self.logs, { level = level, message = format:format(...) });
	end

	function module:add_timer(delay, callback)
		local timer = { delay = delay, callback = callback };
		function timer.stop()
			timer.stopped = true;
		end
		table.insert(self.timers, timer);
		return timer;
	end

	function module:hook_global(name, handler)
		self.global_hooks[name] = handler;
	end

	-- Runs the timers that are due, as if delay seconds had passed.
	function module:run_timers(delay)
		local due = {};
		for _, timer in ipairs(self.timers) do
			if not timer.stopped and not timer.ran and timer.delay <= delay then
				table.insert(due, timer);
			end
		end
		for _, timer in ipairs(due) do
			timer.ran = true;
			timer.callback(clock.now);
		end
		return #due;
	end

	-- Returns the log lines at level joined by newlines.
	function module:log_text(level)
		local lines = {};
		for _, entry in ipairs(self.logs) do
			if level == nil or entry.level == level then
				table.insert(lines, entry.message);
			end
		end
		return table.concat(lines, "\n");
	end

	return module;
end

-- Creates the key sources for options, with a verifier built as
-- mod_auth_huddleup_token builds it. default_secret adds an HS256 default
-- key, as app_secret does.
local function new_sources(options, default_secret)
	local module = new_module(options);
	local settings = huddleup_keys.read_options(module);
	local verifier = hu_token.new({
		issuers = { APP };
		secret = default_secret;
		keys = huddleup_keys.verifier_keys(settings, default_secret ~= nil);
	});
	local sources = huddleup_keys.new(module, verifier, settings, { clock = function () return clock.now; end });
	return sources, verifier, module;
end

local function new_key_dir(name)
	local path = work_dir.."/"..name;
	assert(lfs.mkdir(path));
	return path;
end

local function put_key(dir, kid, pem)
	write_file(dir.."/"..hu_token.asap_key_name(kid), pem);
end

-- Runs sources:check(token) and returns its outcome: READY ({ ready =
-- true }), { reason, detail }, or a lookup in flight ({ waiters }).
local function check(sources, token)
	return sources:check(token);
end

-- Runs sources:wait(token) inside a util.async runner, as Prosody's c2s
-- and BOSH sessions do, and returns a table that fills in when it ends.
local function wait_async(sources, token)
	local result = {};
	local runner = async.runner(function ()
		result.ok, result.reason, result.detail = sources:wait(token);
		result.done = true;
	end);
	runner:run(true);
	return result;
end

local function last_request()
	return fake_http.requests[#fake_http.requests];
end

before_each(function ()
	fake_http.requests = {};
	clock.now = clock.now + 100000;
end);

teardown(function ()
	shell("rm -rf "..work_dir);
end);

------------------------------------------------------------------------

describe("huddleup_keys.read_options", function ()
	it("has the documented defaults", function ()
		local settings = huddleup_keys.read_options(new_module({}));
		assert.equal(128, settings.cache_size);
		assert.equal(3600, settings.cache_ttl);
		assert.equal(5, settings.server_timeout);
		assert.equal(2, settings.server_retries);
		assert.same({ "RS256", "ES256", "ES384" }, settings.algorithms);
		assert.is_false(settings.has_sources);
	end);

	it("takes Jitsi's jwt_pubkey_cache_size as the cache size", function ()
		local settings = huddleup_keys.read_options(new_module({ jwt_pubkey_cache_size = 16 }));
		assert.equal(16, settings.cache_size);
		settings = huddleup_keys.read_options(new_module({ jwt_pubkey_cache_size = 16, huddleup_token_key_cache_size = 4 }));
		assert.equal(4, settings.cache_size);
	end);

	it("reads asap_key_server and the key options", function ()
		local settings = huddleup_keys.read_options(new_module({
			asap_key_server = "https://keys.example.com/asap/";
			huddleup_token_key_dir = work_dir;
			huddleup_token_key_server_timeout = 1.5;
			huddleup_token_key_server_retries = 0;
			huddleup_token_key_algorithms = { "ES256" };
		}));
		assert.equal("https://keys.example.com/asap/", settings.key_server);
		assert.equal(work_dir, settings.key_dir);
		assert.equal(1.5, settings.server_timeout);
		assert.equal(0, settings.server_retries);
		assert.same({ "ES256" }, settings.algorithms);
		assert.is_true(settings.has_sources);
	end);

	local invalid = {
		{ "asap_key_server = true", { asap_key_server = true }, "asap_key_server must be the URL" },
		{ "asap_key_server without scheme", { asap_key_server = "keys.example.com" }, "http:// or https://" },
		{ "key server URL with query", { asap_key_server = "https://k.example.com/?a=1" }, "without query" },
		{ "timeout of 0", { huddleup_token_key_server_timeout = 0 }, "huddleup_token_key_server_timeout" },
		{ "text cache size", { huddleup_token_key_cache_size = "many" }, "huddleup_token_key_cache_size" },
		{ "negative retries", { huddleup_token_key_server_retries = -1 }, "huddleup_token_key_server_retries" },
		{ "HMAC in key algorithms", { huddleup_token_key_algorithms = { "HS256" } }, "HS256" },
		{ "keys not a table", { huddleup_token_keys = "k1" }, "huddleup_token_keys must be a table" },
		{ "key without algorithm", { huddleup_token_keys = { k1 = { secret = ("s"):rep(32) } } }, "algorithm" },
		{ "HMAC key without secret", { huddleup_token_keys = { k1 = { algorithm = "HS256" } } }, "needs secret" },
		{ "public key without PEM", { huddleup_token_keys = { k1 = { algorithm = "RS256" } } }, "public_key_file" },
		{ "missing key file", { huddleup_token_keys = { k1 = { algorithm = "RS256",
			public_key_file = work_dir.."/missing.pem" } } }, "failed to read public_key_file" },
	};
	for _, case in ipairs(invalid) do
		it("rejects "..case[1], function ()
			local ok, err = pcall(huddleup_keys.read_options, new_module(case[2]));
			assert.is_false(ok);
			assert.matches("^configuration%-error: ", err);
			assert.truthy(err:find(case[3], 1, true), err);
		end);
	end

	it("reads huddleup_token_keys from a file, inline PEM and a secret", function ()
		write_file(work_dir.."/config-key.pem", rsa_old.public_pem);
		local settings = huddleup_keys.read_options(new_module({ huddleup_token_keys = {
			["from-file"] = { algorithm = "RS256", public_key_file = work_dir.."/config-key.pem" };
			inline = { algorithm = "ES256", public_key = ec_key.public_pem };
			legacy = { algorithm = "HS256", secret = ("legacy-secret-"):rep(3) };
		} }));
		assert.equal(rsa_old.public_pem, settings.config_keys["from-file"].public_key);
		assert.equal(ec_key.public_pem, settings.config_keys.inline.public_key);
		assert.equal("HS256", settings.config_keys.legacy.algorithm);
		assert.is_true(settings.has_sources);
	end);
end);

describe("huddleup_keys.verifier_keys", function ()
	it("adds a placeholder only when the verifier would have no key", function ()
		local settings = huddleup_keys.read_options(new_module({ asap_key_server = "http://127.0.0.1:1/" }));
		local keys = huddleup_keys.verifier_keys(settings, false);
		local count = 0;
		for kid, key in pairs(keys) do
			count = count + 1;
			assert.matches("^huddleup%-placeholder%-", kid);
			assert.equal("HS256", key.algorithm);
			assert.equal(32, #key.secret);
		end
		assert.equal(1, count);
		assert.same({}, huddleup_keys.verifier_keys(settings, true));
	end);

	it("gives each call its own random placeholder", function ()
		local settings = huddleup_keys.read_options(new_module({}));
		local first = next(huddleup_keys.verifier_keys(settings, false));
		local second = next(huddleup_keys.verifier_keys(settings, false));
		assert.not_equal(first, second);
	end);
end);

describe("key sources with config keys only", function ()
	it("verifies a token whose kid is in huddleup_token_keys", function ()
		local sources, verifier = new_sources({ huddleup_token_keys = {
			["rsa-old"] = { algorithm = "RS256", public_key = rsa_old.public_pem };
		} });
		local token = sign(rsa_old, "rsa-old");
		assert.is_true(check(sources, token).ready);
		assert.truthy(verifier:verify(token));
	end);

	it("leaves an unknown kid to verify()", function ()
		local sources, verifier = new_sources({ huddleup_token_keys = {
			["rsa-old"] = { algorithm = "RS256", public_key = rsa_old.public_pem };
		} });
		local token = sign(rsa_new, "rsa-new");
		assert.is_true(check(sources, token).ready);
		local claims, reason = verifier:verify(token);
		assert.is_nil(claims);
		assert.equal("unknown-key", reason);
	end);

	it("rejects a token without kid when there is no default key", function ()
		local sources, verifier = new_sources({ asap_key_server = "http://127.0.0.1:1/" });
		local token = sign(rsa_old, nil);
		assert.is_true(check(sources, token).ready);
		local claims, reason = verifier:verify(token);
		assert.is_nil(claims);
		-- The verifier has no RS256 key yet, only the placeholder.
		assert.equal("unsupported-algorithm", reason);
		assert.equal(0, #fake_http.requests);
	end);
end);

describe("key folder", function ()
	it("loads the key of a new kid on a miss, without a restart", function ()
		local dir = new_key_dir("folder-rotation");
		put_key(dir, "rsa-old", rsa_old.public_pem);
		local sources, verifier, module = new_sources({ huddleup_token_key_dir = dir });

		local old_token = sign(rsa_old, "rsa-old");
		assert.is_true(check(sources, old_token).ready);
		assert.truthy(verifier:verify(old_token));
		assert.truthy(module:log_text("info"):find('Token key added: kid "rsa-old" (RS256', 1, true));

		local new_token = sign(rsa_new, "rsa-new");
		assert.equal("unknown-key", check(sources, new_token).reason);

		put_key(dir, "rsa-new", rsa_new.public_pem);
		assert.is_true(check(sources, new_token).ready);
		assert.truthy(verifier:verify(new_token));
		assert.truthy(verifier:verify(old_token), "the old kid keeps working");
	end);

	it("binds an EC P-256 key to ES256", function ()
		local dir = new_key_dir("folder-ec");
		put_key(dir, "ec-1", ec_key.public_pem);
		local sources, verifier, module = new_sources({ huddleup_token_key_dir = dir });
		local token = sign(ec_key, "ec-1");
		assert.is_true(check(sources, token).ready);
		assert.truthy(verifier:verify(token));
		assert.truthy(module:log_text("info"):find("(ES256", 1, true));
	end);

	it("rejects a private key in the folder with key-unavailable, logged once", function ()
		local dir = new_key_dir("folder-private");
		put_key(dir, "rsa-old", rsa_old.private_pem);
		local sources, verifier, module = new_sources({ huddleup_token_key_dir = dir });
		local token = sign(rsa_old, "rsa-old");
		assert.equal("key-unavailable", check(sources, token).reason);
		assert.equal("key-unavailable", check(sources, token).reason);
		assert.is_false(verifier:has_key("rsa-old"));
		local errors = module:log_text("error");
		assert.truthy(errors:find("contains a private key", 1, true));
		local _, count = errors:gsub("contains a private key", "");
		assert.equal(1, count);
		assert.is_nil(module:log_text():find(rsa_old.private_pem:match("\n(.-)\n"), 1, true));
	end);

	it("rejects a key that fits none of the algorithms", function ()
		local dir = new_key_dir("folder-only-es");
		put_key(dir, "rsa-old", rsa_old.public_pem);
		local sources, _, module = new_sources({ huddleup_token_key_dir = dir,
			huddleup_token_key_algorithms = { "ES256" } });
		assert.equal("key-unavailable", check(sources, sign(rsa_old, "rsa-old")).reason);
		assert.truthy(module:log_text("error"):find("fits none of ES256", 1, true));
	end);

	it("drops a key whose file was deleted, after the cache TTL", function ()
		local dir = new_key_dir("folder-ttl");
		put_key(dir, "rsa-old", rsa_old.public_pem);
		local sources, verifier, module = new_sources({ huddleup_token_key_dir = dir, huddleup_token_key_cache_ttl = 60 });
		local token = sign(rsa_old, "rsa-old");
		assert.is_true(check(sources, token).ready);

		os.remove(dir.."/"..hu_token.asap_key_name("rsa-old"));
		clock.now = clock.now + 30;
		assert.is_true(check(sources, token).ready);
		assert.is_true(verifier:has_key("rsa-old"), "kept within the TTL");

		clock.now = clock.now + 31;
		-- The folder check at this use removes the key at once.
		assert.equal("unknown-key", check(sources, token).reason);
		assert.is_false(verifier:has_key("rsa-old"));
		assert.truthy(module:log_text("info"):find('Token key removed: kid "rsa-old"', 1, true));
		assert.equal("unknown-key", check(sources, token).reason);
	end);

	it("replaces a key whose file changed, after the cache TTL", function ()
		local dir = new_key_dir("folder-replace");
		put_key(dir, "k", rsa_old.public_pem);
		local sources, verifier = new_sources({ huddleup_token_key_dir = dir, huddleup_token_key_cache_ttl = 60 });
		assert.is_true(check(sources, sign(rsa_old, "k")).ready);
		put_key(dir, "k", rsa_new.public_pem);
		clock.now = clock.now + 61;
		check(sources, sign(rsa_old, "k"));
		assert.truthy(verifier:verify(sign(rsa_new, "k")));
		assert.is_nil(verifier:verify(sign(rsa_old, "k")));
	end);

	it("raises a configuration error for a folder that does not exist", function ()
		local ok, err = pcall(new_sources, { huddleup_token_key_dir = work_dir.."/no-such-folder" });
		assert.is_false(ok);
		assert.matches("configuration%-error: huddleup_token_key_dir", err);
	end);

	it("evicts the least recently used key when the cache is full", function ()
		local dir = new_key_dir("folder-lru");
		put_key(dir, "a", rsa_old.public_pem);
		put_key(dir, "b", rsa_new.public_pem);
		local sources, verifier, module = new_sources({ huddleup_token_key_dir = dir, huddleup_token_key_cache_size = 1 });
		assert.is_true(check(sources, sign(rsa_old, "a")).ready);
		assert.is_true(check(sources, sign(rsa_new, "b")).ready);
		assert.is_false(verifier:has_key("a"));
		assert.is_true(verifier:has_key("b"));
		assert.truthy(module:log_text("info"):find("evicted from the key cache of 1", 1, true));
		-- A miss loads it again.
		assert.is_true(check(sources, sign(rsa_old, "a")).ready);
		assert.truthy(verifier:verify(sign(rsa_old, "a")));
	end);
end);

describe("key server", function ()
	local server = "http://127.0.0.1:8080/asap";

	it("fetches the key of a new kid from <url>/<hex SHA-256>.pem", function ()
		local sources, verifier = new_sources({ asap_key_server = server.."/" });
		local token = sign(rsa_old, "rsa-old");
		local outcome = check(sources, token);
		assert.truthy(outcome.waiters, "the lookup is in flight");
		assert.equal(1, #fake_http.requests);
		assert.equal(server.."/"..hu_token.asap_key_name("rsa-old"), last_request().url);
		assert.equal("GET", last_request().options.method);

		respond(last_request(), rsa_old.public_pem, 200);
		assert.is_true(outcome.outcome.ready);
		assert.truthy(verifier:verify(token));
		assert.is_true(check(sources, token).ready, "cached");
		assert.equal(1, #fake_http.requests);
	end);

	it("makes one request for concurrent logins with the same kid", function ()
		local sources = new_sources({ asap_key_server = server });
		local token = sign(rsa_old, "rsa-old");
		local first = wait_async(sources, token);
		local second = wait_async(sources, token);
		assert.is_nil(first.done);
		assert.is_nil(second.done);
		assert.equal(1, #fake_http.requests);
		respond(last_request(), rsa_old.public_pem, 200);
		assert.is_true(first.ok);
		assert.is_true(second.ok);
	end);

	it("waits in the session's async thread while other logins go on", function ()
		local sources = new_sources({ asap_key_server = server, huddleup_token_keys = {
			cached = { algorithm = "RS256", public_key = rsa_new.public_pem };
		} });
		local slow = wait_async(sources, sign(rsa_old, "rsa-old"));
		assert.is_nil(slow.done);
		local fast = wait_async(sources, sign(rsa_new, "cached"));
		assert.is_true(fast.done);
		assert.is_true(fast.ok);
		assert.is_nil(slow.done, "the fetch is still pending");
		respond(last_request(), rsa_old.public_pem, 200);
		assert.is_true(slow.ok);
	end);

	it("rejects an unknown kid with unknown-key on 404, without retrying", function ()
		local sources = new_sources({ asap_key_server = server });
		local result = wait_async(sources, sign(rsa_new, "nobody"));
		respond(last_request(), "not found", 404);
		assert.is_true(result.done);
		assert.equal("unknown-key", result.reason);
		assert.equal(1, #fake_http.requests);
	end);

	it("retries a failed connection, then rejects with key-unavailable", function ()
		local sources, _, module = new_sources({ asap_key_server = server, huddleup_token_key_server_retries = 2 });
		local result = wait_async(sources, sign(rsa_old, "rsa-old"));
		respond(last_request(), "connection refused", 0);
		assert.equal(1, #fake_http.requests, "the retry waits for its timer");
		assert.equal(1, module:run_timers(10));
		assert.equal(2, #fake_http.requests);
		respond(last_request(), "connection refused", 0);
		assert.equal(1, module:run_timers(10));
		assert.equal(3, #fake_http.requests);
		assert.is_nil(result.done);
		respond(last_request(), "connection refused", 0);
		assert.is_true(result.done);
		assert.equal("key-unavailable", result.reason);
		assert.truthy(result.detail:find("unreachable", 1, true));
		local warnings = module:log_text("warn");
		assert.truthy(warnings:find("Key server http://127.0.0.1:8080/asap/", 1, true));
		local _, count = warnings:gsub("is unreachable", "");
		assert.equal(1, count, "one warning per outage");
	end);

	it("times out a server that never responds", function ()
		local sources, _, module = new_sources({ asap_key_server = server, huddleup_token_key_server_retries = 0,
			huddleup_token_key_server_timeout = 2 });
		local result = wait_async(sources, sign(rsa_old, "rsa-old"));
		assert.equal(0, module:run_timers(1.9));
		assert.is_nil(result.done);
		assert.equal(1, module:run_timers(2));
		assert.is_true(last_request().destroyed);
		assert.equal("key-unavailable", result.reason);
		assert.truthy(result.detail:find("no response within 2 s", 1, true));
		-- A late response changes nothing.
		respond(last_request(), rsa_old.public_pem, 200);
		assert.is_false(sources.verifier:has_key("rsa-old"));
	end);

	it("keeps cached keys working while the server is down", function ()
		local sources, verifier, module = new_sources({ asap_key_server = server, huddleup_token_key_server_retries = 0,
			huddleup_token_key_cache_ttl = 60 });
		local old_token = sign(rsa_old, "rsa-old");
		check(sources, old_token);
		respond(last_request(), rsa_old.public_pem, 200);

		local new_result = wait_async(sources, sign(rsa_new, "rsa-new"));
		respond(last_request(), "connection refused", 0);
		assert.equal("key-unavailable", new_result.reason);

		-- After the TTL the cached key is checked in the background and
		-- kept when the server does not respond.
		clock.now = clock.now + 61;
		local requests = #fake_http.requests;
		assert.is_true(check(sources, old_token).ready);
		assert.equal(requests + 1, #fake_http.requests);
		respond(last_request(), "connection refused", 0);
		assert.is_true(verifier:has_key("rsa-old"));
		assert.truthy(verifier:verify(old_token));
		assert.is_true(check(sources, old_token).ready);
		assert.equal(requests + 1, #fake_http.requests, "no new check right after a failed one");
		assert.is_nil(module:log_text("info"):find("removed", 1, true));
	end);

	it("removes a cached key that the server no longer has", function ()
		local sources, verifier = new_sources({ asap_key_server = server, huddleup_token_key_cache_ttl = 60 });
		local token = sign(rsa_old, "rsa-old");
		check(sources, token);
		respond(last_request(), rsa_old.public_pem, 200);
		clock.now = clock.now + 61;
		check(sources, token);
		respond(last_request(), "gone", 404);
		assert.is_false(verifier:has_key("rsa-old"));
	end);

	-- name, response body, expected problem, a part of the body that must
	-- not reach the log
	local bad_responses = {
		{ "an HTML page", "<html><body>Welcome</body></html>", "not a PEM public key", "Welcome" },
		{ "a private key", rsa_old.private_pem, "contains a private key", rsa_old.private_pem:match("\n(.-)\n") },
		{ "a certificate", "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n", "not a PEM public key",
			"MIIBcert" },
		{ "a broken public key", "-----BEGIN PUBLIC KEY-----\nAAAAbroken\n-----END PUBLIC KEY-----\n", "fits none of",
			"AAAAbroken" },
	};
	for _, case in ipairs(bad_responses) do
		it("logs "..case[1].." once, with the URL and the problem", function ()
			local sources, verifier, module = new_sources({ asap_key_server = server });
			local token = sign(rsa_old, "rsa-old");
			for _ = 1, 2 do
				local result = wait_async(sources, token);
				respond(last_request(), case[2], 200);
				assert.equal("key-unavailable", result.reason);
			end
			assert.is_false(verifier:has_key("rsa-old"));
			local errors = module:log_text("error");
			local url = server.."/"..hu_token.asap_key_name("rsa-old");
			assert.truthy(errors:find(url, 1, true), errors);
			assert.truthy(errors:find(case[3], 1, true), errors);
			local _, count = errors:gsub("\n", "");
			assert.equal(0, count, "logged once: "..errors);
			assert.is_nil(errors:find(case[4], 1, true), "no response content in the log");
		end);
	end

	it("limits the response size and does not retry a larger one", function ()
		local sources, _, module = new_sources({ asap_key_server = server });
		local result = wait_async(sources, sign(rsa_old, "rsa-old"));
		assert.equal(65536, last_request().body_size_limit);
		respond(last_request(), "content-length-limit-exceeded", 0);
		assert.equal("key-unavailable", result.reason);
		assert.equal(1, #fake_http.requests);
		assert.truthy(module:log_text("error"):find("larger than 65536 bytes", 1, true));
	end);

	it("logs an unexpected HTTP status once with key-unavailable", function ()
		local sources, _, module = new_sources({ asap_key_server = server });
		local result = wait_async(sources, sign(rsa_old, "rsa-old"));
		respond(last_request(), "forbidden", 403);
		assert.equal("key-unavailable", result.reason);
		assert.truthy(module:log_text("error"):find("unexpected HTTP status 403", 1, true));
	end);

	it("rejects a kid at once when too many requests are in flight", function ()
		local sources = new_sources({ asap_key_server = server });
		for i = 1, 64 do
			assert.truthy(check(sources, sign(rsa_old, "kid-"..i)).waiters);
		end
		local outcome = check(sources, sign(rsa_old, "kid-65"));
		assert.equal("key-unavailable", outcome.reason);
		assert.equal(64, #fake_http.requests);
	end);

	it("looks in the folder before the key server", function ()
		local dir = new_key_dir("folder-and-server");
		put_key(dir, "rsa-old", rsa_old.public_pem);
		local sources = new_sources({ asap_key_server = server, huddleup_token_key_dir = dir });
		assert.is_true(check(sources, sign(rsa_old, "rsa-old")).ready);
		assert.equal(0, #fake_http.requests);
		assert.truthy(check(sources, sign(rsa_new, "rsa-new")).waiters);
		assert.equal(1, #fake_http.requests);
	end);

	it("rejects outside an async thread while the key is fetched", function ()
		local sources = new_sources({ asap_key_server = server });
		local ok, reason = sources:wait(sign(rsa_old, "rsa-old"));
		assert.is_nil(ok);
		assert.equal("key-unavailable", reason);
		respond(last_request(), rsa_old.public_pem, 200);
		assert.is_true((sources:wait(sign(rsa_old, "rsa-old"))));
	end);

	it("offers the lookup as a promise", function ()
		local sources = new_sources({ asap_key_server = server });
		local value;
		sources:prepare(sign(rsa_old, "rsa-old")):next(function (outcome) value = outcome; end);
		assert.is_nil(value);
		respond(last_request(), rsa_old.public_pem, 200);
		assert.is_true(value.ready);
	end);
end);

describe("JWK Sets", function ()
	local function jwks(...)
		local keys = {};
		for _, jwk in ipairs({ ... }) do
			table.insert(keys, jwk);
		end
		return '{"keys":['..table.concat(keys, ",")..']}';
	end

	describe("from a file", function ()
		it("loads the set at start and on config reload", function ()
			local path = work_dir.."/set.json";
			write_file(path, jwks(jwk_of(rsa_old, "rsa-old")));
			local sources, verifier, module = new_sources({ huddleup_token_jwks_file = path });
			local old_token = sign(rsa_old, "rsa-old");
			assert.truthy(verifier:verify(old_token));

			write_file(path, jwks(jwk_of(rsa_new, "rsa-new"), jwk_of(rsa_old, "rsa-old")));
			module.global_hooks["config-reloaded"]({});
			assert.truthy(verifier:verify(sign(rsa_new, "rsa-new")));
			assert.truthy(verifier:verify(old_token));
			assert.truthy(module:log_text("info"):find('Token key added: kid "rsa-new" (from JWK Set file)', 1, true));

			write_file(path, jwks(jwk_of(rsa_new, "rsa-new")));
			module.global_hooks["config-reloaded"]({});
			assert.is_nil(verifier:verify(old_token));
			assert.truthy(module:log_text("info"):find('Token key removed: kid "rsa-old"', 1, true));
			assert.is_not_nil(sources);
		end);

		it("keeps the previous keys when the new set is invalid", function ()
			local path = work_dir.."/set-invalid.json";
			write_file(path, jwks(jwk_of(rsa_old, "rsa-old")));
			local _, verifier, module = new_sources({ huddleup_token_jwks_file = path });
			write_file(path, '{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"x"}]}');
			module.global_hooks["config-reloaded"]({});
			assert.truthy(verifier:verify(sign(rsa_old, "rsa-old")));
			assert.truthy(module:log_text("error"):find("JWK Set file not reloaded", 1, true));
		end);

		it("re-reads the file on a miss", function ()
			local path = work_dir.."/set-miss.json";
			write_file(path, jwks(jwk_of(rsa_old, "rsa-old")));
			local sources, verifier = new_sources({ huddleup_token_jwks_file = path });
			write_file(path, jwks(jwk_of(rsa_old, "rsa-old"), jwk_of(ec_key, "ec-1")));
			clock.now = clock.now + 11;
			assert.is_true(check(sources, sign(ec_key, "ec-1")).ready);
			assert.truthy(verifier:verify(sign(ec_key, "ec-1")));
		end);
	end);

	it("raises a configuration error for an invalid set at start", function ()
		local path = work_dir.."/set-start-invalid.json";
		write_file(path, '{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}');
		local ok, err = pcall(new_sources, { huddleup_token_jwks_file = path });
		assert.is_false(ok);
		assert.matches("configuration%-error: huddleup_token_jwks_file", err);
	end);

	it("accepts an empty set", function ()
		local path = work_dir.."/set-empty.json";
		write_file(path, '{"keys":[]}');
		local sources = new_sources({ huddleup_token_jwks_file = path });
		assert.equal("unknown-key", check(sources, sign(rsa_old, "rsa-old")).reason);
	end);

	describe("from a URL", function ()
		it("fetches the set at start and refreshes it on a miss", function ()
			local url = "http://127.0.0.1:8080/jwks.json";
			local sources, verifier = new_sources({ huddleup_token_jwks_url = url });
			assert.equal(url, last_request().url);
			respond(last_request(), jwks(jwk_of(rsa_old, "rsa-old")), 200);
			assert.truthy(verifier:verify(sign(rsa_old, "rsa-old")));

			clock.now = clock.now + 11;
			local result = wait_async(sources, sign(rsa_new, "rsa-new"));
			assert.is_nil(result.done);
			respond(last_request(), jwks(jwk_of(rsa_old, "rsa-old"), jwk_of(rsa_new, "rsa-new")), 200);
			assert.is_true(result.ok);
			assert.truthy(verifier:verify(sign(rsa_new, "rsa-new")));
		end);

		it("does not refresh on every miss", function ()
			local url = "http://127.0.0.1:8080/jwks.json";
			local sources = new_sources({ huddleup_token_jwks_url = url });
			respond(last_request(), jwks(jwk_of(rsa_old, "rsa-old")), 200);
			assert.equal("unknown-key", check(sources, sign(rsa_new, "rsa-new")).reason);
			assert.equal(1, #fake_http.requests);
		end);
	end);
end);

describe("config reload", function ()
	it("adds, replaces and removes huddleup_token_keys", function ()
		local options = { huddleup_token_keys = {
			a = { algorithm = "RS256", public_key = rsa_old.public_pem };
			b = { algorithm = "RS256", public_key = rsa_old.public_pem };
		} };
		local _, verifier, module = new_sources(options);
		options.huddleup_token_keys = {
			a = { algorithm = "RS256", public_key = rsa_old.public_pem };
			b = { algorithm = "RS256", public_key = rsa_new.public_pem };
			c = { algorithm = "ES256", public_key = ec_key.public_pem };
		};
		module.global_hooks["config-reloaded"]({});
		assert.truthy(verifier:verify(sign(rsa_old, "a")));
		assert.truthy(verifier:verify(sign(rsa_new, "b")));
		assert.truthy(verifier:verify(sign(ec_key, "c")));

		options.huddleup_token_keys = { c = { algorithm = "ES256", public_key = ec_key.public_pem } };
		module.global_hooks["config-reloaded"]({});
		assert.is_false(verifier:has_key("a"));
		assert.is_false(verifier:has_key("b"));
		assert.truthy(verifier:verify(sign(ec_key, "c")));
		local info = module:log_text("info");
		assert.truthy(info:find('Token key removed: kid "a" (from huddleup_token_keys)', 1, true));
		assert.truthy(info:find('Token key added: kid "c"', 1, true));
	end);

	it("keeps the running keys when the new options are unusable", function ()
		local options = { huddleup_token_keys = { a = { algorithm = "RS256", public_key = rsa_old.public_pem } } };
		local _, verifier, module = new_sources(options);
		options.huddleup_token_keys = { a = { algorithm = "XS256" } };
		module.global_hooks["config-reloaded"]({});
		assert.truthy(verifier:verify(sign(rsa_old, "a")));
		assert.truthy(module:log_text("error"):find("not reloaded", 1, true));
	end);

	it("logs a new config key that cannot be used", function ()
		local options = { huddleup_token_keys = { a = { algorithm = "RS256", public_key = rsa_old.public_pem } } };
		local _, verifier, module = new_sources(options);
		options.huddleup_token_keys.b = { algorithm = "ES256", public_key = rsa_new.public_pem };
		module.global_hooks["config-reloaded"]({});
		assert.is_false(verifier:has_key("b"));
		assert.truthy(module:log_text("error"):find('huddleup_token_keys["b"] is not used', 1, true));
	end);

	it("checks fetched keys with their source at their next use", function ()
		local dir = new_key_dir("folder-reload");
		put_key(dir, "rsa-old", rsa_old.public_pem);
		local sources, verifier, module = new_sources({ huddleup_token_key_dir = dir });
		local token = sign(rsa_old, "rsa-old");
		assert.is_true(check(sources, token).ready);
		os.remove(dir.."/"..hu_token.asap_key_name("rsa-old"));
		module.global_hooks["config-reloaded"]({});
		assert.equal("unknown-key", check(sources, token).reason);
		assert.is_false(verifier:has_key("rsa-old"));
	end);
end);

describe("fetch counters", function ()
	local server = "http://127.0.0.1:8080/asap";

	-- A counter family that counts by its one label value.
	local function new_counter_family()
		local family = { counts = {} };
		function family:with_labels(source)
			return {
				add = function (_, amount)
					family.counts[source] = (family.counts[source] or 0) + amount;
				end;
			};
		end
		return family;
	end

	-- Creates key sources as new_sources does, with counter families.
	-- Returns the sources, the fetch counts and the failure counts by
	-- source, and the module.
	local function counted_sources(options)
		local module = new_module(options);
		local settings = huddleup_keys.read_options(module);
		local verifier = hu_token.new({ issuers = { APP }; keys = huddleup_keys.verifier_keys(settings, false) });
		local fetches, failures = new_counter_family(), new_counter_family();
		local sources = huddleup_keys.new(module, verifier, settings, {
			clock = function () return clock.now; end;
			fetches = fetches;
			fetch_failures = failures;
		});
		return sources, fetches.counts, failures.counts, module;
	end

	it("counts key folder lookups and unusable keys", function ()
		local dir = new_key_dir("folder-counted");
		put_key(dir, "rsa-old", rsa_old.public_pem);
		put_key(dir, "private", rsa_new.private_pem);
		local sources, fetches, failures = counted_sources({ huddleup_token_key_dir = dir });

		assert.is_true(check(sources, sign(rsa_old, "rsa-old")).ready);
		assert.equal(1, fetches["key-folder"]);
		assert.is_true(check(sources, sign(rsa_old, "rsa-old")).ready);
		assert.equal(1, fetches["key-folder"], "a cached key is not looked up again");
		assert.equal("unknown-key", check(sources, sign(rsa_new, "nobody")).reason);
		assert.equal(2, fetches["key-folder"]);
		assert.is_nil(failures["key-folder"], "a missing file is no failure");
		assert.equal("key-unavailable", check(sources, sign(rsa_new, "private")).reason);
		assert.equal(3, fetches["key-folder"]);
		assert.equal(1, failures["key-folder"]);
	end);

	it("counts key server fetches once each, and their failures", function ()
		local sources, fetches, failures, module = counted_sources({ asap_key_server = server,
			huddleup_token_key_server_retries = 1 });

		check(sources, sign(rsa_old, "rsa-old"));
		respond(last_request(), rsa_old.public_pem, 200);
		check(sources, sign(rsa_new, "nobody"));
		respond(last_request(), "not found", 404);
		assert.equal(2, fetches["key-server"]);
		assert.is_nil(failures["key-server"]);

		local result = wait_async(sources, sign(rsa_new, "down"));
		respond(last_request(), "connection refused", 0);
		assert.equal(1, module:run_timers(10));
		respond(last_request(), "connection refused", 0);
		assert.equal("key-unavailable", result.reason);
		assert.equal(3, fetches["key-server"], "a retry is part of the same fetch");
		assert.equal(1, failures["key-server"]);

		check(sources, sign(rsa_new, "not-a-key"));
		respond(last_request(), "hello", 200);
		assert.equal(4, fetches["key-server"]);
		assert.equal(2, failures["key-server"]);
	end);

	it("counts a key server fetch refused when too many are in flight", function ()
		local sources, fetches, failures = counted_sources({ asap_key_server = server });
		for i = 1, 65 do
			check(sources, sign(rsa_old, "kid-"..i));
		end
		assert.equal(65, fetches["key-server"]);
		assert.equal(1, failures["key-server"]);
	end);

	it("counts JWK Set file reads and unusable sets", function ()
		local path = work_dir.."/set-counted.json";
		write_file(path, '{"keys":['..jwk_of(rsa_old, "rsa-old")..']}');
		local _, fetches, failures, module = counted_sources({ huddleup_token_jwks_file = path });
		assert.equal(1, fetches["jwks-file"]);

		write_file(path, "not json");
		module.global_hooks["config-reloaded"]({});
		assert.equal(2, fetches["jwks-file"]);
		assert.equal(1, failures["jwks-file"]);
	end);

	it("counts JWK Set URL fetches and failures", function ()
		local url = "http://127.0.0.1:8080/jwks.json";
		local sources, fetches, failures = counted_sources({ huddleup_token_jwks_url = url,
			huddleup_token_key_server_retries = 0 });
		assert.equal(1, fetches["jwks-url"]);
		respond(last_request(), "server error", 500);
		assert.equal(1, failures["jwks-url"]);

		clock.now = clock.now + 11;
		check(sources, sign(rsa_old, "rsa-old"));
		respond(last_request(), '{"keys":['..jwk_of(rsa_old, "rsa-old")..']}', 200);
		assert.equal(2, fetches["jwks-url"]);
		assert.equal(1, failures["jwks-url"]);

		clock.now = clock.now + 11;
		check(sources, sign(rsa_new, "rsa-new"));
		respond(last_request(), '{"keys":[{"kty":"oct"}]}', 200);
		assert.equal(3, fetches["jwks-url"]);
		assert.equal(2, failures["jwks-url"]);
	end);
end);

describe("logs", function ()
	it("never contain a token, a secret or key material", function ()
		local dir = new_key_dir("folder-logs");
		put_key(dir, "rsa-old", rsa_old.public_pem);
		local secret = ("log-secret-"):rep(4);
		local sources, _, module = new_sources({ huddleup_token_key_dir = dir, huddleup_token_keys = {
			legacy = { algorithm = "HS256", secret = secret };
		} });
		local token = sign(rsa_old, "rsa-old");
		check(sources, token);
		module.global_hooks["config-reloaded"]({});
		local text = module:log_text();
		assert.is_nil(text:find(secret, 1, true));
		assert.is_nil(text:find(hu_token.hash_prefix("HS256\0"..secret), 1, true));
		assert.is_nil(text:find(token, 1, true));
		assert.is_nil(text:find(token:match("^[^.]+"), 1, true));
		assert.is_nil(text:find(rsa_old.public_pem:match("\n(.-)\n"), 1, true));
	end);

	it("clean control characters out of a kid", function ()
		local dir = new_key_dir("folder-kid-log");
		local kid = "evil\nkid";
		put_key(dir, kid, rsa_old.public_pem);
		local sources, _, module = new_sources({ huddleup_token_key_dir = dir });
		check(sources, sign(rsa_old, kid));
		assert.truthy(module:log_text("info"):find('kid "evil?kid"', 1, true));
	end);
end);

describe("mod_auth_huddleup_token with key sources", function ()
	package.path = "spec/support/?.lua;"..package.path;
	local fake = require "fake_prosody_module";
	local server = "http://127.0.0.1:8080/asap";

	local function load_plugin(options)
		options.app_id = APP;
		return fake.load("lua/mod_auth_huddleup_token.lua", { options = options });
	end

	-- Runs the SASL exchange of a session with token in an async runner, as
	-- mod_saslauth does inside a c2s or BOSH session. Returns a table that
	-- fills in when process() returns.
	local function login(world, token)
		local session = { id = "c2s"..tostring(math.random(1e9)), huddleup_token = token };
		local handler = world.provided.auth.get_sasl_handler(session);
		assert.is_true(handler:select("ANONYMOUS"));
		local result = { session = session };
		async.runner(function ()
			result.status, result.condition, result.text = handler:process("");
		end):run(true);
		return result;
	end

	it("loads without app_secret when asap_key_server is set", function ()
		local world = load_plugin({ asap_key_server = server });
		assert.truthy(world.log_text("info"):find("Token keys by kid: key server "..server, 1, true));
	end);

	it("still needs app_secret without a key source", function ()
		local ok, err = pcall(load_plugin, {});
		assert.is_false(ok);
		assert.truthy(err:find("app_secret is required", 1, true));
	end);

	it("logs in once the key server returns the kid's key", function ()
		local world = load_plugin({ asap_key_server = server });
		local result = login(world, sign(rsa_old, "rsa-old"));
		assert.is_nil(result.status, "waiting for the key server");
		respond(last_request(), rsa_old.public_pem, 200);
		assert.equal("success", result.status);
		assert.equal("lobby", result.session.jitsi_meet_room);
	end);

	it("rejects with key-unavailable when the key server fails", function ()
		local world = load_plugin({ asap_key_server = server, huddleup_token_key_server_retries = 0 });
		local result = login(world, sign(rsa_old, "rsa-old"));
		respond(last_request(), "connection refused", 0);
		assert.equal("failure", result.status);
		assert.equal("not-authorized", result.condition);
		assert.equal("key-unavailable", result.text);
		assert.truthy(world.log_text("warn"):find("key-unavailable", 1, true));
	end);

	it("counts key server fetches and failures on its counters", function ()
		local world = load_plugin({ asap_key_server = server, huddleup_token_key_server_retries = 0 });
		login(world, sign(rsa_old, "rsa-old"));
		respond(last_request(), rsa_old.public_pem, 200);
		login(world, sign(rsa_new, "rsa-new"));
		respond(last_request(), "connection refused", 0);
		assert.equal(2, world.metric_value("key_fetches", "key-server"));
		assert.equal(1, world.metric_value("key_fetch_failures", "key-server"));
		assert.equal(1, world.metric_value("rejected", "key-unavailable"));
		assert.equal(1, world.metric_value("accepted", "member"));
	end);

	it("takes a key folder added by a config reload", function ()
		local dir = new_key_dir("folder-added-on-reload");
		put_key(dir, "rsa-old", rsa_old.public_pem);
		local options = { app_secret = ("plugin-secret-"):rep(3) };
		local world = load_plugin(options);
		local token = sign(rsa_old, "rsa-old");
		assert.equal("failure", login(world, token).status);
		options.huddleup_token_key_dir = dir;
		world.fire_global("config-reloaded", {});
		assert.equal("success", login(world, token).status);
	end);

	it("keeps app_secret tokens without a kid working next to a key folder", function ()
		local dir = new_key_dir("folder-plugin");
		put_key(dir, "rsa-old", rsa_old.public_pem);
		local secret = ("plugin-secret-"):rep(3);
		local world = load_plugin({ app_secret = secret, huddleup_token_key_dir = dir });
		assert.equal("success", login(world, sign(rsa_old, "rsa-old")).status);
		local claims = { iss = APP, aud = "jitsi", room = "lobby", exp = NOW + 600 };
		local hs_token = require "util.jwt".sign(secret, claims);
		assert.equal("success", login(world, hs_token).status);
		local unknown = login(world, sign(rsa_new, "rsa-new"));
		assert.equal("failure", unknown.status);
		assert.equal("unknown-key", unknown.text);
	end);
end);
