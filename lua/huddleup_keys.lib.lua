-- huddleup_keys: the token keys of mod_auth_huddleup_token that are
-- selected by kid, and where they come from.
--
-- Sources, each set by a Prosody option:
--   huddleup_token_keys      keys by kid in the config: a PEM public key
--                            (file or text) or an HMAC secret
--   huddleup_token_jwks_file a JWK Set file (RSA and EC keys, kid required)
--   huddleup_token_jwks_url  a JWK Set URL, fetched again every cache TTL
--   huddleup_token_key_dir   a folder in Jitsi's ASAP layout: the PEM public
--                            key of kid is in <hex SHA-256 of kid>.pem
--   asap_key_server          Jitsi's key server: the same file names below
--                            the URL, fetched with net.http
--
-- The folder and the key server are asked when a token names a kid that
-- the verifier lacks. What they return is kept in an LRU cache of bounded
-- size, and checked again in the background at its first use after the
-- cache TTL. A login whose key has to be fetched waits in its own session's
-- async thread, so a slow key server never holds up other sessions.
--
-- Prosody loads this file through module:require "huddleup_keys", which
-- finds huddleup_keys.lib.lua in plugin_paths (core/moduleapi.lua and
-- util/pluginloader.lua, the same in 0.12.3 and 13.0.1). Each host gets its
-- own copy, so no state is shared between hosts.
--
-- Never logged: tokens, secrets and key material. Kids are logged in a
-- cleaned form, keys by the first 12 hex digits of their SHA-256.

local async = require "util.async";
local json = require "util.json";
local lfs = require "lfs";
local new_cache = require "util.cache".new;
local promise = require "util.promise";
local resolve_relative_path = require "util.paths".resolve_relative_path;
local random_bytes = require "util.random".bytes;
local time_now = require "util.time".now;
local hu_token = require "huddleup.token";

local huddleup_keys = {};

-- net.http, loaded at the first request: hosts without a URL source (and
-- specs that load this file outside Prosody) do not need Prosody's network
-- stack.
local http;

-- Largest PEM key file or key server response read, in bytes.
local MAX_KEY_BYTES = 65536;
-- Largest JWK Set read, in bytes (HU_MAX_JWKS_SIZE in huddleup/token.h).
local MAX_JWKS_BYTES = 262144;
-- Key server and JWK Set requests that may be in flight at once. A token
-- with a new kid beyond this is rejected with key-unavailable, so a flood
-- of made-up kids cannot open unbounded connections.
local MAX_PENDING_LOOKUPS = 64;
-- A miss refreshes each JWK Set at most once per this many seconds.
local JWKS_MISS_REFRESH_INTERVAL = 10;
-- Seconds to wait before retry n (n = 1, 2, ...) is RETRY_DELAY * n.
local RETRY_DELAY = 0.5;
-- After a failed background check, a cached key is checked again at its
-- first use after this many seconds (or the cache TTL, if shorter).
local FAILED_CHECK_INTERVAL = 60;
-- Entries of the log-once memory: each problem of a source is logged once.
local LOGGED_PROBLEMS = 256;
-- The key of the scratch verifiers that check a JWK Set before it is used.
-- They verify no token, so this is no secret.
local SCRATCH_SECRET = ("scratch-verifier-key/"):rep(2);

local DEFAULTS = {
	-- Jitsi's jwt_pubkey_cache_size default.
	cache_size = 128;
	cache_ttl = 3600;
	server_timeout = 5;
	server_retries = 2;
	-- A PEM key from the folder or the key server is bound to the first of
	-- these algorithms that fits it: RSA to RS256, P-256 to ES256 and P-384
	-- to ES384, as for a JWK without "alg".
	algorithms = { "RS256", "ES256", "ES384" };
};

local PUBLIC_KEY_ALGORITHMS = { RS256 = true, RS384 = true, RS512 = true, ES256 = true, ES384 = true };
local HMAC_ALGORITHMS = { HS256 = true, HS384 = true, HS512 = true };

local function config_error(format, ...)
	error("configuration-error: "..format:format(...), 0);
end

-- Keeps control characters and long values out of log lines. A kid comes
-- from the token, so it is attacker-controlled text.
local function loggable(text)
	return (tostring(text):gsub("[%c\128-\255]", "?"):sub(1, 64));
end

-- Returns the first 12 hex digits of the SHA-256 of a key, which names it
-- in logs without revealing it.
local function key_label(material)
	return hu_token.hash_prefix(material);
end

local function read_file(path, max_bytes)
	local file, err = io.open(path, "rb");
	if not file then
		return nil, err;
	end
	local content = file:read(max_bytes + 1) or "";
	file:close();
	if #content > max_bytes then
		return nil, ("%s is larger than %d bytes"):format(path, max_bytes);
	end
	return content;
end

-- Checks text that should be one PEM public key. Returns nil, or the
-- problem in words for the log.
local function pem_problem(text)
	if text:find("PRIVATE KEY-----", 1, true) then
		return "it contains a private key; publish only the public key (-----BEGIN PUBLIC KEY-----)";
	end
	if not text:find("-----BEGIN PUBLIC KEY-----", 1, true) then
		return "it is not a PEM public key (-----BEGIN PUBLIC KEY-----)";
	end
	return nil;
end

------------------------------------------------------------------------
-- Options
------------------------------------------------------------------------

local function number_option(module, name, default, min, max)
	local raw = module:get_option(name);
	if raw == nil then
		return default;
	end
	local value = tonumber(raw);
	if value == nil or value < min or value > max then
		config_error("option %s must be a number from %s to %s, got %q", name, min, max, tostring(raw));
	end
	return value;
end

local function string_option(module, name)
	local raw = module:get_option(name);
	if raw ~= nil and type(raw) ~= "string" then
		config_error("option %s must be a string, got a %s", name, type(raw));
	end
	return raw;
end

local function url_option(module, name)
	local url = string_option(module, name);
	if url ~= nil and not (url:match("^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]+") and not url:find("[?#%s]")) then
		config_error("option %s must be an http:// or https:// URL without query or fragment, got %q", name, url);
	end
	return url;
end

-- Reads one entry of huddleup_token_keys into { algorithm, public_key |
-- secret, fingerprint }.
local function read_config_key(module, kid, entry)
	if type(kid) ~= "string" or #kid == 0 or #kid > 256 or kid:find("%z") then
		config_error("huddleup_token_keys: each key must be a kid of 1 to 256 bytes, got %q", loggable(kid));
	end
	if type(entry) ~= "table" then
		config_error("huddleup_token_keys[%q] must be a table with algorithm and public_key_file, public_key or secret",
			loggable(kid));
	end
	local algorithm = entry.algorithm;
	if not (PUBLIC_KEY_ALGORITHMS[algorithm] or HMAC_ALGORITHMS[algorithm]) then
		config_error("huddleup_token_keys[%q].algorithm must be RS256, RS384, RS512, ES256, ES384, HS256, HS384 "
			.."or HS512, got %q", loggable(kid), tostring(algorithm));
	end

	local key = { algorithm = algorithm };
	if HMAC_ALGORITHMS[algorithm] then
		if type(entry.secret) ~= "string" then
			config_error("huddleup_token_keys[%q] needs secret for %s", loggable(kid), algorithm);
		end
		key.secret = entry.secret;
	elseif entry.public_key_file ~= nil then
		local path = entry.public_key_file;
		if type(path) ~= "string" then
			config_error("huddleup_token_keys[%q].public_key_file must be a path", loggable(kid));
		end
		-- Relative to the config file's folder, as module:get_option_path()
		-- resolves paths.
		local prosody_global = rawget(_G, "prosody");
		local config_dir = prosody_global and prosody_global.paths and prosody_global.paths.config;
		if config_dir then
			path = resolve_relative_path(config_dir, path);
		end
		local content, err = read_file(path, MAX_KEY_BYTES);
		if not content then
			config_error("huddleup_token_keys[%q]: failed to read public_key_file: %s", loggable(kid), err);
		end
		key.public_key = content;
	elseif type(entry.public_key) == "string" then
		key.public_key = entry.public_key;
	else
		config_error("huddleup_token_keys[%q] needs public_key_file or public_key (PEM) for %s",
			loggable(kid), algorithm);
	end
	-- The fingerprint detects a changed key on reload. Only a public key's
	-- is logged: a hash prefix of a weak secret would help guess it.
	key.fingerprint = key_label(algorithm.."\0"..(key.secret or key.public_key));
	key.label = key.secret and "HMAC secret" or "key "..key_label(key.public_key);
	return key;
end

local function read_config_keys(module)
	local raw = module:get_option("huddleup_token_keys");
	local config_keys = {};
	if raw == nil then
		return config_keys;
	end
	if type(raw) ~= "table" then
		config_error("option huddleup_token_keys must be a table of kid = { algorithm = ..., public_key_file = ... }");
	end
	for kid, entry in pairs(raw) do
		config_keys[kid] = read_config_key(module, kid, entry);
	end
	return config_keys;
end

local function read_algorithms(module)
	local raw = module:get_option("huddleup_token_key_algorithms");
	if raw == nil then
		return DEFAULTS.algorithms;
	end
	if type(raw) == "string" then
		raw = { raw };
	end
	if type(raw) ~= "table" or #raw == 0 then
		config_error("option huddleup_token_key_algorithms must list RS256, RS384, RS512, ES256 or ES384");
	end
	local algorithms = {};
	for i, algorithm in ipairs(raw) do
		if not PUBLIC_KEY_ALGORITHMS[algorithm] then
			config_error("option huddleup_token_key_algorithms: %q is not RS256, RS384, RS512, ES256 or ES384",
				tostring(algorithm));
		end
		algorithms[i] = algorithm;
	end
	return algorithms;
end

-- Returns nil when path is a folder, else the problem in words.
function huddleup_keys.key_dir_problem(path)
	local mode, err = lfs.attributes(path, "mode");
	if mode == nil then
		return ("%s cannot be read: %s"):format(path, tostring(err));
	elseif mode ~= "directory" then
		return ("%s is not a folder"):format(path);
	end
	return nil;
end

-- Reads the key options of the module's host. Raises a
-- "configuration-error: ..." message when one is unusable.
function huddleup_keys.read_options(module)
	local key_server = module:get_option("asap_key_server");
	if key_server ~= nil and type(key_server) ~= "string" then
		config_error("option asap_key_server must be the URL of the key server, got a %s", type(key_server));
	end

	local settings = {
		config_keys = read_config_keys(module);
		jwks_file = module:get_option_path("huddleup_token_jwks_file", nil, "config");
		jwks_url = url_option(module, "huddleup_token_jwks_url");
		key_dir = module:get_option_path("huddleup_token_key_dir", nil, "config");
		key_server = url_option(module, "asap_key_server");
		-- Jitsi's jwt_pubkey_cache_size sets the default.
		cache_size = number_option(module, "huddleup_token_key_cache_size",
			number_option(module, "jwt_pubkey_cache_size", DEFAULTS.cache_size, 1, 100000), 1, 100000);
		cache_ttl = number_option(module, "huddleup_token_key_cache_ttl", DEFAULTS.cache_ttl, 1, 31536000);
		server_timeout = number_option(module, "huddleup_token_key_server_timeout", DEFAULTS.server_timeout, 0.1, 120);
		server_retries = number_option(module, "huddleup_token_key_server_retries", DEFAULTS.server_retries, 0, 10);
		algorithms = read_algorithms(module);
	};
	settings.cache_size = math.floor(settings.cache_size);
	settings.server_retries = math.floor(settings.server_retries);
	settings.has_sources = next(settings.config_keys) ~= nil or settings.jwks_file ~= nil
		or settings.jwks_url ~= nil or settings.key_dir ~= nil or settings.key_server ~= nil;
	return settings;
end

-- Returns the keys table for huddleup.token.new: the keys of
-- huddleup_token_keys, plus a placeholder when has_default_key is false
-- and no other key would be there at start-up.
--
-- NOTE: huddleup.token.new raises without a key, but a host that takes all
-- its keys from a folder, a key server or a JWK Set has none at start-up.
-- The placeholder is an HS256 key with a random 32-byte secret under a
-- random kid, both discarded here, so no token can select or match it.
-- It also keeps verify() from raising "verifier has no key" after the last
-- fetched key is evicted.
function huddleup_keys.verifier_keys(settings, has_default_key)
	local keys = {};
	for kid, key in pairs(settings.config_keys) do
		keys[kid] = { algorithm = key.algorithm, secret = key.secret, public_key = key.public_key };
	end
	if not has_default_key and next(keys) == nil then
		local placeholder_kid = "huddleup-placeholder-"..hu_token.hash_prefix(random_bytes(32));
		keys[placeholder_kid] = { algorithm = "HS256", secret = random_bytes(32) };
	end
	return keys;
end

------------------------------------------------------------------------
-- Key sources of one host
------------------------------------------------------------------------

local sources_methods = {};
local sources_mt = { __index = sources_methods };

local READY = { ready = true };

-- Stands in for a counter family when huddleup_keys.new gets none.
local NO_COUNTER = {
	with_labels = function (self)
		return self;
	end;
	add = function () end;
};

local function rejection(reason, detail)
	return { reason = reason, detail = detail };
end

function sources_methods:log(level, format, ...)
	self.module:log(level, format, ...);
end

-- Logs a problem of a source once: the same problem at the same place is
-- not logged again until LOGGED_PROBLEMS other problems pushed it out.
function sources_methods:log_once(level, format, ...)
	local message = format:format(...);
	if self.logged_problems:get(message) then
		return;
	end
	self.logged_problems:set(message, true);
	self.module:log(level, "%s", message);
end

function sources_methods:now()
	return self.clock();
end

function sources_methods:count_fetch_failure(source)
	self.fetch_failures:with_labels(source):add(1);
end

-- Counts a key lookup in source (the source label on /metrics). Returns a
-- function that returns the lookup's outcome and counts a rejection as a
-- failed lookup.
function sources_methods:count_fetch(source)
	self.fetches:with_labels(source):add(1);
	return function (outcome)
		if type(outcome) == "table" and outcome.reason ~= nil then
			self:count_fetch_failure(source);
		end
		return outcome;
	end;
end

-- Adds a PEM public key from the folder or the key server under kid, bound
-- to the first configured algorithm that fits it. Returns the algorithm,
-- or nil and the reasons each algorithm rejected it.
function sources_methods:add_pem(kid, pem)
	local reasons = {};
	for _, algorithm in ipairs(self.settings.algorithms) do
		local ok, err = pcall(self.verifier.add_key, self.verifier, kid, { algorithm = algorithm, public_key = pem });
		if ok then
			return algorithm;
		end
		table.insert(reasons, algorithm..": "..tostring(err):gsub("^configuration%-error: ", ""));
	end
	return nil, table.concat(reasons, "; ");
end

function sources_methods:remove(kid, source, why)
	if self.verifier:remove_key(kid) then
		self:log("info", "Token key removed: kid %q (from %s): %s", loggable(kid), source, why);
	end
	self.owners[kid] = nil;
end

-- Stores a key that the folder or the key server returned for kid: adds
-- it, replaces a different key under the kid, or keeps an equal one.
-- Returns READY or a rejection.
function sources_methods:store_fetched(kid, source, where, pem)
	local fingerprint = key_label(pem);
	local entry = self.fetched:get(kid);
	local now = self:now();
	if entry and entry.fingerprint == fingerprint then
		entry.next_check = now + self.settings.cache_ttl;
		return READY;
	end

	local problem = pem_problem(pem);
	if problem then
		self:log_once("error", "Key for kid %q from %s is unusable: %s", loggable(kid), where, problem);
		return rejection("key-unavailable", "the key source returned an unusable key for the token's kid");
	end

	if entry then
		self.fetched:set(kid, nil);
		self:remove(kid, entry.source, "its source now has a different key");
	end
	local algorithm, reasons = self:add_pem(kid, pem);
	if not algorithm then
		self:log_once("error", "Key for kid %q from %s is unusable: it fits none of %s (%s)", loggable(kid), where,
			table.concat(self.settings.algorithms, ", "), reasons);
		return rejection("key-unavailable", "the key source returned an unusable key for the token's kid");
	end

	self.owners[kid] = source;
	self.fetched:set(kid, { source = source, fingerprint = fingerprint,
		next_check = now + self.settings.cache_ttl });
	self:log("info", "Token key added: kid %q (%s, key %s, from %s)", loggable(kid), algorithm, fingerprint, source);
	return READY;
end

-- Forgets a fetched key whose source no longer has it.
function sources_methods:drop_fetched(kid, why)
	local entry = self.fetched:get(kid);
	if entry then
		self.fetched:set(kid, nil);
		self:remove(kid, entry.source, why);
	end
end

------------------------------------------------------------------------
-- Key folder (Jitsi's ASAP layout)
------------------------------------------------------------------------

-- Reads kid's key from the folder. Returns "found", "not-found" or
-- "unusable", and for "found" the PEM text.
function sources_methods:read_key_dir(kid)
	local path = self.settings.key_dir.."/"..hu_token.asap_key_name(kid);
	local file, err, code = io.open(path, "rb");
	if not file then
		if code == 2 then -- ENOENT
			return "not-found";
		end
		self:log_once("error", "Key folder %s: failed to open %s: %s", self.settings.key_dir, path, err);
		return "unusable";
	end
	local pem = file:read(MAX_KEY_BYTES + 1) or "";
	file:close();
	if #pem > MAX_KEY_BYTES then
		self:log_once("error", "Key folder %s: %s is larger than %d bytes", self.settings.key_dir, path, MAX_KEY_BYTES);
		return "unusable";
	end
	return "found", pem, path;
end

-- Looks kid up in the folder. Returns READY, "not-found", or a rejection.
function sources_methods:lookup_key_dir(kid)
	local counted = self:count_fetch("key-folder");
	local status, pem, path = self:read_key_dir(kid);
	if status == "found" then
		return counted(self:store_fetched(kid, "key folder", path, pem));
	elseif status == "not-found" then
		return "not-found";
	end
	return counted(rejection("key-unavailable", "the key folder could not be read"));
end

------------------------------------------------------------------------
-- HTTP: the key server and JWK Set URLs
------------------------------------------------------------------------

-- GETs url with the configured timeout and retries. Calls done(result)
-- once, with result.status "ok" (result.body), "not-found", "unavailable"
-- (no response, after the retries) or "unusable" (a response that retrying
-- will not change), and result.problem in words.
function sources_methods:http_get(url, max_bytes, done)
	local settings = self.settings;
	local attempt = 0;
	local start;

	local function finish_or_retry(result)
		if result.status == "unavailable" and attempt <= settings.server_retries then
			self.module:add_timer(RETRY_DELAY * attempt, start);
			return;
		end
		done(result);
	end

	start = function ()
		attempt = attempt + 1;
		local settled = false;
		local request;
		local timer = self.module:add_timer(settings.server_timeout, function ()
			if settled then
				return;
			end
			settled = true;
			if request and http.destroy_request then
				-- The second argument keeps Prosody 13 from pooling the
				-- connection; 0.12 ignores it.
				http.destroy_request(request, true);
			end
			finish_or_retry({ status = "unavailable",
				problem = ("no response within %g s"):format(settings.server_timeout) });
		end);

		local function on_response(body, code)
			if settled then
				return;
			end
			settled = true;
			timer:stop();
			if code == 0 and tostring(body):match("%-exceeded$") then
				done({ status = "unusable", problem = ("the response is larger than %d bytes"):format(max_bytes) });
			elseif code == 0 then
				finish_or_retry({ status = "unavailable", problem = "connection failed: "..loggable(body) });
			elseif code == 200 then
				if type(body) ~= "string" or #body > max_bytes then
					done({ status = "unusable", problem = ("the response is empty or larger than %d bytes"):format(max_bytes) });
				else
					done({ status = "ok", body = body });
				end
			elseif code == 404 or code == 410 then
				done({ status = "not-found", problem = "HTTP "..code });
			elseif code >= 500 or code == 429 then
				finish_or_retry({ status = "unavailable", problem = "HTTP "..code });
			else
				done({ status = "unusable", problem = "unexpected HTTP status "..code });
			end
		end

		http = http or require "net.http";
		local ok, result = pcall(http.request, url, {
			method = "GET";
			headers = { Accept = "application/x-pem-file, application/json, text/plain" };
			suppress_errors = true;
		}, on_response);
		if ok then
			request = result;
			-- net/http/parser.lua (0.12.3 and 13.0.1) reads the body limit
			-- from the request, 10 MiB by default. It is set before the
			-- first byte of the response can arrive.
			if type(request) == "table" then
				request.body_size_limit = max_bytes;
			end
		elseif not settled then
			-- For example an https URL without LuaSec.
			settled = true;
			timer:stop();
			done({ status = "unusable", problem = "the request failed: "..tostring(result) });
		end
	end;

	start();
end

-- Counts lookups in flight, so that MAX_PENDING_LOOKUPS holds.
function sources_methods:begin_request()
	if self.requests_in_flight >= MAX_PENDING_LOOKUPS then
		return false;
	end
	self.requests_in_flight = self.requests_in_flight + 1;
	return true;
end

function sources_methods:end_request()
	self.requests_in_flight = self.requests_in_flight - 1;
end

-- Records whether the key server responded, and logs each change between
-- reachable and unreachable once instead of every failed request.
function sources_methods:note_server_state(url, result)
	if result.status == "unavailable" then
		self.server_failures = self.server_failures + 1;
		if self.server_failures == 1 then
			self:log("warn", "Key server %s is unreachable (%s); tokens with a kid that is not cached get "
				.."key-unavailable until it responds", url, result.problem);
		end
	elseif self.server_failures > 0 then
		self:log("info", "Key server %s responds again, after %d failed requests", self.settings.key_server,
			self.server_failures);
		self.server_failures = 0;
	end
end

-- Asks the key server for kid's key. Calls done(READY | "not-found" |
-- rejection).
function sources_methods:lookup_key_server(kid, done)
	local counted = self:count_fetch("key-server");
	if not self:begin_request() then
		done(counted(rejection("key-unavailable", "too many key server requests in flight")));
		return;
	end
	local url = self.settings.key_server:gsub("/+$", "").."/"..hu_token.asap_key_name(kid);
	self:log("debug", "Fetching the key for kid %q from %s", loggable(kid), url);
	self:http_get(url, MAX_KEY_BYTES, function (result)
		self:end_request();
		self:note_server_state(url, result);
		if result.status == "ok" then
			done(counted(self:store_fetched(kid, "key server", url, result.body)));
		elseif result.status == "not-found" then
			done("not-found");
		elseif result.status == "unusable" then
			self:log_once("error", "Key server %s returned something other than a PEM public key: %s", url,
				result.problem);
			done(counted(rejection("key-unavailable", "the key server returned no usable key for the token's kid")));
		else
			done(counted(rejection("key-unavailable", "the key server is unreachable: "..result.problem)));
		end
	end);
end

------------------------------------------------------------------------
-- JWK Sets
------------------------------------------------------------------------

-- Returns the kids of a JWK Set that huddleup.token accepted, as a set.
local function jwks_kids(text)
	local kids = {};
	local document = json.decode(text);
	for _, jwk in ipairs(type(document) == "table" and type(document.keys) == "table" and document.keys or {}) do
		if type(jwk) == "table" and type(jwk.kid) == "string" then
			kids[jwk.kid] = true;
		end
	end
	return kids;
end

-- Replaces the keys that source ("JWK Set file" or "JWK Set URL") added
-- with those of text, all or none. Returns true, or nil and the problem.
function sources_methods:apply_jwks(source, text)
	-- A scratch verifier checks the whole set with the strict rules of
	-- huddleup.token before the host's verifier changes. Its throwaway
	-- HMAC secret only satisfies huddleup.token.new's need for a key, so
	-- that an empty set (which removes every key of the source) passes too.
	local ok, err = pcall(hu_token.new, { jwks = text, issuers = { "*" }, secret = SCRATCH_SECRET });
	if not ok then
		return nil, (tostring(err):gsub("^configuration%-error: ", ""));
	end
	local kids = jwks_kids(text);
	for kid in pairs(kids) do
		local owner = self.owners[kid];
		if owner == "key folder" or owner == "key server" then
			self:drop_fetched(kid, "the "..source.." now configures it");
		elseif owner ~= nil and owner ~= source then
			return nil, ("kid %q is already configured by %s"):format(loggable(kid), owner);
		end
	end

	local old_kids = self.jwks_kids[source] or {};
	for kid in pairs(old_kids) do
		self.verifier:remove_key(kid);
		self.owners[kid] = nil;
	end
	local added, add_err = pcall(self.verifier.add_jwks, self.verifier, text);
	if not added then
		-- Only a failure the scratch verifier did not see ends here, such as
		-- running out of memory; the old keys are gone by now.
		self.jwks_kids[source] = {};
		return nil, tostring(add_err);
	end
	for kid in pairs(kids) do
		self.owners[kid] = source;
		if not old_kids[kid] then
			self:log("info", "Token key added: kid %q (from %s)", loggable(kid), source);
		end
	end
	for kid in pairs(old_kids) do
		if not kids[kid] then
			self:log("info", "Token key removed: kid %q (no longer in the %s)", loggable(kid), source);
		end
	end
	self.jwks_kids[source] = kids;
	return true;
end

-- Reads the JWK Set file again. Returns true, or nil and the problem.
function sources_methods:load_jwks_file()
	local path = self.settings.jwks_file;
	self.jwks_loaded_at["JWK Set file"] = self:now();
	self:count_fetch("jwks-file");
	local text, err = read_file(path, MAX_JWKS_BYTES);
	if not text then
		self:count_fetch_failure("jwks-file");
		return nil, ("failed to read %s: %s"):format(path, err);
	end
	local ok, problem = self:apply_jwks("JWK Set file", text);
	if not ok then
		self:count_fetch_failure("jwks-file");
		return nil, ("%s: %s"):format(path, problem);
	end
	return true;
end

-- Fetches the JWK Set URL. Calls done() when the set is applied or the
-- fetch failed; failures are logged and keep the keys of the last set.
function sources_methods:refresh_jwks_url(done)
	local url = self.settings.jwks_url;
	if self.jwks_url_waiters then
		table.insert(self.jwks_url_waiters, done);
		return;
	end
	self:count_fetch("jwks-url");
	if not self:begin_request() then
		self:count_fetch_failure("jwks-url");
		done();
		return;
	end
	self.jwks_url_waiters = { done };
	self.jwks_loaded_at["JWK Set URL"] = self:now();
	self:http_get(url, MAX_JWKS_BYTES, function (result)
		self:end_request();
		if result.status == "ok" then
			local ok, problem = self:apply_jwks("JWK Set URL", result.body);
			if not ok then
				self:count_fetch_failure("jwks-url");
				self:log_once("error", "JWK Set URL %s: the set is unusable, keeping its previous keys: %s", url, problem);
			end
		else
			self:count_fetch_failure("jwks-url");
			self:log("warn", "JWK Set URL %s: fetch failed, keeping its previous keys: %s", url,
				result.problem or result.status);
		end
		local waiters = self.jwks_url_waiters;
		self.jwks_url_waiters = nil;
		for _, waiter in ipairs(waiters) do
			waiter();
		end
	end);
end

-- Refreshes the JWK Sets after a miss, each at most once per
-- JWKS_MISS_REFRESH_INTERVAL seconds. Calls done() when finished.
function sources_methods:refresh_jwks_on_miss(done)
	local now = self:now();
	local function due(source)
		local loaded_at = self.jwks_loaded_at[source];
		return loaded_at == nil or now - loaded_at >= JWKS_MISS_REFRESH_INTERVAL;
	end

	if self.settings.jwks_file and due("JWK Set file") then
		local ok, problem = self:load_jwks_file();
		if not ok then
			self:log_once("error", "JWK Set file: unusable, keeping its previous keys: %s", problem);
		end
	end
	if self.settings.jwks_url and (due("JWK Set URL") or self.jwks_url_waiters) then
		self:refresh_jwks_url(done);
		return;
	end
	done();
end

------------------------------------------------------------------------
-- Lookups
------------------------------------------------------------------------

-- Finds kid in the folder, the JWK Sets and the key server, in that
-- order. Calls done(READY or a rejection).
function sources_methods:find_key(kid, done)
	local unavailable;

	local function after_key_server(outcome)
		if outcome == READY or type(outcome) == "table" then
			done(outcome);
		elseif unavailable then
			done(unavailable);
		else
			done(rejection("unknown-key", "no key source has a key for the token's kid"));
		end
	end

	local function after_jwks()
		if self.verifier:has_key(kid) then
			done(READY);
		elseif self.settings.key_server then
			self:lookup_key_server(kid, after_key_server);
		else
			after_key_server("not-found");
		end
	end

	if self.settings.key_dir then
		local outcome = self:lookup_key_dir(kid);
		if outcome == READY then
			done(READY);
			return;
		elseif outcome ~= "not-found" then
			unavailable = outcome;
		end
	end
	if self.settings.jwks_file or self.settings.jwks_url then
		self:refresh_jwks_on_miss(after_jwks);
	else
		after_jwks();
	end
end

-- Checks a cached key with its source again, in the background: a login
-- that uses the key does not wait for this.
function sources_methods:check_in_background(kid, entry)
	if self.checking[kid] then
		return;
	end
	local function finish(outcome)
		self.checking[kid] = nil;
		local current = self.fetched:get(kid);
		if current == nil then
			return;
		end
		if outcome == "not-found" then
			self:drop_fetched(kid, ("its %s no longer has it"):format(entry.source));
		elseif outcome ~= READY then
			-- The source failed: keep the key and try again later.
			current.next_check = self:now() + math.min(FAILED_CHECK_INTERVAL, self.settings.cache_ttl);
		end
	end

	self.checking[kid] = true;
	if entry.source == "key folder" then
		finish(self.settings.key_dir and self:lookup_key_dir(kid) or "not-found");
	elseif self.settings.key_server then
		self:lookup_key_server(kid, finish);
	else
		finish("not-found");
	end
end

-- Starts looking kid up in the sources. Returns the lookup: a table whose
-- outcome field is set (READY or a rejection) once it is known, which may
-- be before this returns.
function sources_methods:start_lookup(kid)
	local lookup = { waiters = {} };
	local function finish(outcome)
		if lookup.outcome then
			return;
		end
		lookup.outcome = outcome;
		if self.pending[kid] == lookup then
			self.pending[kid] = nil;
		end
		local waiters = lookup.waiters;
		lookup.waiters = {};
		for _, waiter in ipairs(waiters) do
			waiter(outcome);
		end
	end

	self.pending[kid] = lookup;
	-- An error inside a source must still end the lookup, or every later
	-- token with this kid would wait for it forever.
	local ok, err = pcall(self.find_key, self, kid, function (outcome)
		local finished, finish_err = pcall(finish, outcome);
		if not finished then
			self:log("error", "Key lookup for kid %q failed: %s", loggable(kid), tostring(finish_err));
		end
	end);
	if not ok then
		self:log("error", "Key lookup for kid %q failed: %s", loggable(kid), tostring(err));
		finish(rejection("key-unavailable", "the key lookup failed"));
	end
	return lookup;
end

-- Calls callback(outcome) when lookup has finished, at once if it has.
local function when_done(lookup, callback)
	if lookup.outcome then
		callback(lookup.outcome);
	else
		table.insert(lookup.waiters, callback);
	end
end

-- Makes sure the verifier has the key that token's kid names, when a
-- source has it. Returns READY ({ ready = true }) when verify() should run
-- now, { reason, detail } when the token is rejected here ("unknown-key"
-- when no source has the kid, "key-unavailable" when a source failed), or
-- a lookup in flight to pass to when_done(). Tokens without a readable kid
-- and kids the verifier has are READY at once, without waiting.
function sources_methods:check(token)
	if not self.settings.has_sources then
		return READY;
	end
	local kid = hu_token.peek_kid(token);
	if kid == nil then
		-- No kid, or a malformed header: verify() decides and reports.
		return READY;
	end
	if self.verifier:has_key(kid) then
		local entry = self.fetched:get(kid); -- also marks it recently used
		if entry and self:now() >= entry.next_check then
			self:check_in_background(kid, entry);
		end
		-- A folder check runs at once and may have removed the key; then
		-- the kid is looked up like a new one.
		if self.verifier:has_key(kid) then
			return READY;
		end
	end
	if not self.dynamic then
		return READY;
	end

	local lookup = self.pending[kid] or self:start_lookup(kid);
	return lookup.outcome or lookup;
end

-- check() as a util.promise, which resolves to READY or { reason, detail }.
function sources_methods:prepare(token)
	local outcome = self:check(token);
	if outcome.waiters == nil then
		return promise.resolve(outcome);
	end
	return promise.new(function (resolve)
		when_done(outcome, resolve);
	end);
end

-- Runs check() and, when a lookup is in flight, waits for it in the
-- calling session's async thread; other sessions go on meanwhile. Returns
-- true when verify() should run, or nil, reason, detail. Outside an async
-- thread the lookup is left running in the background and the token is
-- rejected with key-unavailable.
function sources_methods:wait(token)
	local outcome = self:check(token);
	if outcome.waiters ~= nil then
		if not async.ready() then
			return nil, "key-unavailable", "the key for the token's kid is being fetched; try again";
		end
		local lookup = outcome;
		local wait, done = async.waiter();
		when_done(lookup, function (value)
			outcome = value;
			done();
		end);
		wait();
	end
	if outcome.reason then
		return nil, outcome.reason, outcome.detail;
	end
	return true;
end

------------------------------------------------------------------------
-- Configuration
------------------------------------------------------------------------

-- Applies the huddleup_token_keys of new_keys to the verifier: removes
-- kids that are gone, replaces changed keys, adds new ones.
function sources_methods:apply_config_keys(new_keys)
	for kid in pairs(self.config_keys) do
		if new_keys[kid] == nil then
			self:remove(kid, "huddleup_token_keys", "no longer in the configuration");
		end
	end
	for kid, key in pairs(new_keys) do
		local old = self.config_keys[kid];
		local owner = self.owners[kid];
		if old and old.fingerprint == key.fingerprint then
			-- unchanged
		elseif owner ~= nil and owner ~= "huddleup_token_keys" and not self.fetched:get(kid) then
			self:log("error", "huddleup_token_keys[%q] is not used: the kid is already configured by %s",
				loggable(kid), owner);
			new_keys[kid] = nil;
		else
			self:drop_fetched(kid, "huddleup_token_keys now configures it");
			if old then
				self:remove(kid, "huddleup_token_keys", "replaced in the configuration");
			end
			local ok, err = pcall(self.verifier.add_key, self.verifier, kid, key);
			if ok then
				self.owners[kid] = "huddleup_token_keys";
				self:log("info", "Token key added: kid %q (%s, %s, from huddleup_token_keys)", loggable(kid),
					key.algorithm, key.label);
			else
				self:log("error", "huddleup_token_keys[%q] is not used: %s", loggable(kid), tostring(err));
				new_keys[kid] = nil;
			end
		end
	end
	self.config_keys = new_keys;
end

-- Re-reads the options after Prosody's config reload: config keys and the
-- JWK Set file take effect now, and every fetched key is checked with its
-- source at its next use. An unusable new configuration is logged and the
-- running one kept.
function sources_methods:reload()
	local ok, settings = pcall(huddleup_keys.read_options, self.module);
	if not ok then
		self:log("error", "Token keys not reloaded, keeping the running ones: %s", tostring(settings));
		return;
	end
	local dir_problem = settings.key_dir and huddleup_keys.key_dir_problem(settings.key_dir);
	if dir_problem then
		self:log("error", "huddleup_token_key_dir: %s; keys are looked up there anyway", dir_problem);
	end
	self.settings = settings;
	self.dynamic = settings.key_dir ~= nil or settings.key_server ~= nil or settings.jwks_file ~= nil
		or settings.jwks_url ~= nil;
	self:apply_config_keys(settings.config_keys);
	self.fetched:resize(settings.cache_size);

	if settings.jwks_file then
		local loaded, problem = self:load_jwks_file();
		if not loaded then
			self:log("error", "JWK Set file not reloaded, keeping its previous keys: %s", problem);
		end
	elseif self.jwks_kids["JWK Set file"] then
		self:apply_jwks("JWK Set file", '{"keys":[]}');
	end
	if settings.jwks_url then
		self:refresh_jwks_url(function () end);
	elseif self.jwks_kids["JWK Set URL"] then
		self:apply_jwks("JWK Set URL", '{"keys":[]}');
	end

	local now = self:now();
	for _, entry in self.fetched:items() do
		entry.next_check = now;
	end
	self:log("info", "Token keys reloaded");
end

function sources_methods:describe()
	local parts = {};
	local count = 0;
	for _ in pairs(self.config_keys) do
		count = count + 1;
	end
	if count > 0 then
		table.insert(parts, ("%d from huddleup_token_keys"):format(count));
	end
	local settings = self.settings;
	if settings.jwks_file then
		table.insert(parts, "JWK Set file "..settings.jwks_file);
	end
	if settings.jwks_url then
		table.insert(parts, "JWK Set URL "..settings.jwks_url);
	end
	if settings.key_dir then
		table.insert(parts, "key folder "..settings.key_dir);
	end
	if settings.key_server then
		table.insert(parts, ("key server %s (timeout %g s, retries: %d)"):format(settings.key_server,
			settings.server_timeout, settings.server_retries));
	end
	if settings.key_dir or settings.key_server then
		table.insert(parts, ("cache of %d keys for %g s"):format(settings.cache_size, settings.cache_ttl));
	end
	return table.concat(parts, ", ");
end

-- Creates the key sources of a host. verifier must hold the keys of
-- huddleup_keys.verifier_keys(settings) already. Loads the JWK Set file
-- (raising a configuration error when it is unusable), starts fetching
-- the JWK Set URL, and hooks Prosody's config reload. options.clock
-- replaces util.time.now, for tests. options.fetches and
-- options.fetch_failures are counter families (huddleup_metrics.lib.lua)
-- labelled by source: key-folder, key-server, jwks-file or jwks-url.
function huddleup_keys.new(module, verifier, settings, options)
	options = options or {};
	local self = setmetatable({
		module = module;
		verifier = verifier;
		settings = settings;
		clock = options.clock or time_now;
		config_keys = {};
		owners = {};            -- kid -> the source that added it
		jwks_kids = {};         -- source -> set of kids it added
		jwks_loaded_at = {};    -- source -> time of the last read or fetch
		pending = {};           -- kid -> lookup in flight (see start_lookup)
		checking = {};          -- kid -> true while a background check runs
		requests_in_flight = 0;
		server_failures = 0;
		fetches = options.fetches or NO_COUNTER;
		fetch_failures = options.fetch_failures or NO_COUNTER;
		logged_problems = new_cache(LOGGED_PROBLEMS);
	}, sources_mt);
	self.dynamic = settings.key_dir ~= nil or settings.key_server ~= nil or settings.jwks_file ~= nil
		or settings.jwks_url ~= nil;
	self.fetched = new_cache(settings.cache_size, function (kid, entry)
		self.verifier:remove_key(kid);
		self.owners[kid] = nil;
		self:log("info", "Token key removed: kid %q (from %s): evicted from the key cache of %d", loggable(kid),
			entry.source, self.fetched.size);
	end);

	for kid, key in pairs(settings.config_keys) do
		self.owners[kid] = "huddleup_token_keys";
		self.config_keys[kid] = key;
		self:log("info", "Token key added: kid %q (%s, %s, from huddleup_token_keys)", loggable(kid), key.algorithm,
			key.label);
	end
	local dir_problem = settings.key_dir and huddleup_keys.key_dir_problem(settings.key_dir);
	if dir_problem then
		config_error("huddleup_token_key_dir: %s", dir_problem);
	end
	if settings.jwks_file then
		local ok, problem = self:load_jwks_file();
		if not ok then
			config_error("huddleup_token_jwks_file: %s", problem);
		end
	end
	if settings.jwks_url then
		self:refresh_jwks_url(function () end);
		module:add_timer(settings.cache_ttl, function ()
			if self.settings.jwks_url then
				self:refresh_jwks_url(function () end);
			end
			return self.settings.cache_ttl;
		end);
	end

	module:hook_global("config-reloaded", function ()
		self:reload();
	end);
	if settings.has_sources then
		self:log("info", "Token keys by kid: %s", self:describe());
	end
	return self;
end

return huddleup_keys;
