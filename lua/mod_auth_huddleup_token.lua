-- mod_auth_huddleup_token: SASL ANONYMOUS logins admitted by a HuddleUp JWT.
--
-- Enable with `authentication = "huddleup_token"` on the VirtualHost. The
-- client passes the token as `?token=` on its BOSH or WebSocket URL, as
-- lib-jitsi-meet does. The option names follow Jitsi's mod_auth_token
-- (app_id, app_secret, asap_accepted_issuers, asap_accepted_audiences,
-- asap_require_room_claim, allow_empty_token, enable_domain_verification).
-- The others start with huddleup_token_.

local urldecode = require "util.http".urldecode;
local new_uuid = require "util.uuid".generate;
local datamanager = require "util.datamanager";

local have_hu_token, hu_token = pcall(require, "huddleup.token");
if not have_hu_token then
	error("Failed to load the Lua C module huddleup.token. Add the folder that contains huddleup/token.so "
		.."to LUA_CPATH_5_4 as an absolute path. "..tostring(hu_token), 0);
end

-- Keys selected by the token's kid: huddleup_token_keys, a key folder,
-- asap_key_server and JWK Sets (huddleup_keys.lib.lua).
local huddleup_keys = module:require "huddleup_keys";
local huddleup_metrics = module:require "huddleup_metrics";

local host = module.host;

local sasl_mechanism = "ANONYMOUS";

-- Reads an optional number option, rejecting values that are not numbers
-- instead of silently falling back to the default.
local function get_number_option(name)
	local raw = module:get_option(name);
	if raw == nil then
		return nil;
	end
	local value = tonumber(raw);
	if value == nil then
		error(("configuration-error: option %s must be a number, got %q"):format(name, tostring(raw)), 0);
	end
	return value;
end

local function read_file(path)
	local file, err = io.open(path, "rb");
	if not file then
		error(("configuration-error: failed to read huddleup_token_public_key_file: %s"):format(err), 0);
	end
	local content = file:read("a");
	file:close();
	return content;
end

-- The verifier's clock leeway when huddleup_token_leeway is unset
-- (HU_DEFAULT_LEEWAY in csrc/include/huddleup/token.h).
local default_leeway = 30;

-- Builds the verifier settings from the host's options. Raises a
-- "configuration-error: ..." message when an option is unusable.
local function read_verifier_config()
	local app_id = module:get_option_string("app_id");
	local algorithm = module:get_option_string("huddleup_token_algorithm", "HS256");
	local public_key_file = module:get_option_path("huddleup_token_public_key_file", nil, "config");

	local issuers = module:get_option_array("asap_accepted_issuers");
	if issuers == nil and app_id ~= nil then
		issuers = { app_id };
	end
	if issuers == nil or #issuers == 0 then
		error("configuration-error: set app_id or asap_accepted_issuers to the accepted token issuer", 0);
	end

	local config = {
		algorithm = algorithm;
		issuers = issuers;
		audiences = module:get_option_array("asap_accepted_audiences", { "jitsi" });
		require_room = module:get_option_boolean("asap_require_room_claim", true);
		leeway = get_number_option("huddleup_token_leeway");
		max_lifetime = get_number_option("huddleup_token_max_lifetime");
		max_size = get_number_option("huddleup_token_max_size");
	};
	-- With keys selected by kid, the default key (app_secret or
	-- huddleup_token_public_key_file) is optional.
	local key_settings = huddleup_keys.read_options(module);
	if algorithm:match("^HS") then
		config.secret = module:get_option_string("app_secret");
		if config.secret == nil and not key_settings.has_sources then
			error("configuration-error: app_secret is required for algorithm "..algorithm, 0);
		end
	elseif public_key_file ~= nil then
		config.public_key = read_file(public_key_file);
	elseif not key_settings.has_sources then
		error("configuration-error: huddleup_token_public_key_file is required for algorithm "..algorithm, 0);
	end
	config.keys = huddleup_keys.verifier_keys(key_settings, config.secret ~= nil or config.public_key ~= nil);
	return config, key_settings;
end

-- Creates the verifier of this host from its options: the one place where
-- keys are configured. Returns the verifier and its settings.
local function new_verifier()
	local config, key_settings = read_verifier_config();
	local ok, verifier = pcall(hu_token.new, config);
	if not ok then
		-- The C module's messages name the setting at fault by its Lua field
		-- name and do not include key material.
		error(("%s (set through app_secret, asap_* and huddleup_token_* options)"):format(tostring(verifier)), 0);
	end
	return verifier, config, key_settings;
end

-- Counters on /metrics (docs/self-hosting.md, "Metrics").
local accepted_logins = huddleup_metrics.counter(module, "accepted",
	"Logins accepted: with a moderator or member token, or as a guest without a token", { "kind" });
local rejected_logins = huddleup_metrics.counter(module, "rejected", "Logins rejected, by reason", { "reason" });
local key_fetches = huddleup_metrics.counter(module, "key_fetches",
	"Lookups of a token key in a key folder, key server or JWK Set, by source", { "source" });
local key_fetch_failures = huddleup_metrics.counter(module, "key_fetch_failures",
	"Key lookups that failed: the source could not be read or reached, or returned an unusable key", { "source" });

local verifier, verifier_config, key_settings = new_verifier();
-- Created without key options too, so that a config reload can add them.
local key_sources = huddleup_keys.new(module, verifier, key_settings,
	{ fetches = key_fetches, fetch_failures = key_fetch_failures });
local require_room_claim = verifier_config.require_room;
local token_leeway = verifier_config.leeway or default_leeway;
local allow_empty_token = module:get_option_boolean("allow_empty_token", false);
local allow_storage = module:get_option_boolean("allow_anonymous_storage", false);
-- Jitsi's option: the sub claim must name the tenant or the domain of the
-- conference. mod_huddleup_moderation checks it at each join.
local domain_verification = module:get_option_boolean("enable_domain_verification", false);

-- The paths show which copy Prosody loaded: module.path is this file, and
-- package.searchpath repeats require's search for huddleup/token.so.
module:log("info", "Token authentication ready: huddleup-token %s (%s, %s), algorithm %s, issuers %s, "
	.."empty tokens %s%s",
	hu_token._VERSION, tostring(module.path), tostring(package.searchpath("huddleup.token", package.cpath)),
	verifier_config.algorithm, table.concat(verifier_config.issuers, ", "),
	allow_empty_token and "allowed" or "rejected", domain_verification and ", domain verification on" or "");

-- Names a session in log lines as Prosody's own log lines do: c2s sessions
-- by their id, BOSH sessions as "bosh" and their sid.
local function session_label(session)
	if session.id then
		return session.id;
	elseif session.sid then
		return "bosh"..session.sid;
	end
	return "?";
end

-- Defers an argument of a log line until a log sink formats it, which
-- util.format does with tostring. Prosody offers no check of the log
-- level, but a level without sinks, such as debug on most servers, then
-- skips the work.
local deferred_mt = {
	__tostring = function(self)
		return tostring(self.compute(self.argument));
	end;
};

local function deferred(compute, argument)
	return setmetatable({ compute = compute, argument = argument }, deferred_mt);
end

-- Keeps control characters and long values out of log lines.
local function loggable(text)
	if text == nil then
		return "";
	end
	return (tostring(text):gsub("%c", "?"):sub(1, 120));
end

-- The verifier's token size limit when huddleup_token_max_size is unset
-- (HU_DEFAULT_MAX_SIZE in csrc/include/huddleup/token.h).
local default_max_size = 8192;

-- Longest URL query that is split into parameters, in bytes: the token
-- size limit plus 1 KiB for the other parameters (Jitsi Meet adds room=).
-- A longer query is rejected as token-too-large without being decoded.
local max_query_size = (verifier_config.max_size or default_max_size) + 1024;

-- Returns true when a URL query field name or value contains "%" or "+",
-- which util.http.formdecode decodes. On a token of a few hundred bytes,
-- two plain finds are several times faster than the pattern "[%%+]"
-- (docs/benchmarks-prosody.md).
local function is_form_encoded(text)
	return text:find("%", 1, true) ~= nil or text:find("+", 1, true) ~= nil;
end

-- Decodes a URL query field name or value as util.http.formdecode does:
-- "+" is a space, then %XX escapes are decoded.
local function decode_form_part(text)
	if not is_form_encoded(text) then
		return text;
	end
	return urldecode((text:gsub("%+", "%%20")));
end

-- Returns the decoded value of the last `token` field of a URL query and
-- the number of token fields. Fields are split as util.http.formdecode
-- splits them: at "&", and a field without "=" is skipped. Only names
-- that may decode to "token" and the values of token fields are decoded.
local function find_token_fields(query)
	local token, count = nil, 0;
	for field in query:gmatch("[^&]+") do
		local equals = field:find("=", 1, true);
		if equals ~= nil then
			local name = field:sub(1, equals - 1);
			if name == "token" or (is_form_encoded(name) and decode_form_part(name) == "token") then
				token, count = decode_form_part(field:sub(equals + 1)), count + 1;
			end
		end
	end
	return token, count;
end

-- Stores the ?token= value of the connection URL on the new session. The
-- SASL step of the host the session logs in to decides what it means.
local function store_url_token(event)
	local session, request = event.session, event.request;

	-- BOSH sessions already know their host. WebSocket sessions learn it
	-- from the stream header later.
	if session.host ~= nil and session.host ~= host then
		return;
	end
	-- Every huddleup_token host hooks the global event, so the hook of
	-- another host may have parsed this query already.
	if session.huddleup_url_parsed then
		return;
	end

	local query = request.url and request.url.query;
	if query == nil or query == "" then
		return;
	end

	-- Every host's hook sees a WebSocket session, and the hosts' limits may
	-- differ, so the size is stored for the SASL step to compare, and the
	-- first host whose limit admits the query parses it.
	session.huddleup_url_query_size = #query;
	if #query > max_query_size then
		return;
	end

	session.huddleup_url_parsed = true;
	local token, count = find_token_fields(query);
	if count > 1 then
		session.huddleup_token_error = "invalid-encoding";
		session.huddleup_token = nil;
		return;
	end
	session.huddleup_token = token;
end

module:hook_global("bosh-session", store_url_token);
module:hook_global("websocket-session", store_url_token);

-- Checks the session's token. Returns a table describing the login
-- ({ guest = true } or { token, claims, moderator }), or nil, reason, detail.
local function check_session_token(session)
	local query_size = session.huddleup_url_query_size;
	if query_size ~= nil and query_size > max_query_size then
		return nil, "token-too-large", ("URL query is %d bytes; the limit is %d"):format(query_size, max_query_size);
	end
	if session.huddleup_token_error then
		return nil, session.huddleup_token_error, "more than one token parameter in the URL";
	end

	local token = session.huddleup_token;
	if token == nil then
		if allow_empty_token then
			return { guest = true };
		end
		return nil, "missing-token", "no token parameter in the URL";
	end

	-- The key of the token's kid may have to be fetched first. This
	-- session's async thread waits for it; other sessions go on.
	local key_ready, key_reason, key_detail = key_sources:wait(token);
	if not key_ready then
		return nil, key_reason, key_detail;
	end

	local claims, moderator_or_reason, detail = verifier:verify(token);
	if not claims then
		return nil, moderator_or_reason, detail;
	end
	return { token = token, claims = claims, moderator = moderator_or_reason == true };
end

-- Copies a verified login onto the session, in the fields Jitsi's Prosody
-- modules read and in huddleup_* fields for this project's modules.
local function apply_login(session, login)
	session.huddleup_guest = login.guest == true;
	session.huddleup_moderator = login.moderator == true;
	session.huddleup_claims = login.claims;
	session.huddleup_room_required = require_room_claim;
	session.huddleup_token_leeway = token_leeway;
	session.huddleup_domain_verification = domain_verification;

	local claims = login.claims;
	if claims == nil then
		return;
	end

	session.auth_token = login.token;
	session.jitsi_meet_room = claims.room;
	session.jitsi_meet_domain = claims.sub;
	local context = claims.context;
	if type(context) == "table" then
		session.jitsi_meet_context_user = context.user;
		session.jitsi_meet_context_group = context.group;
		session.jitsi_meet_context_features = context.features;
	end
end

local function log_rejection(session, reason, detail)
	local token = session.huddleup_token;
	if token ~= nil then
		module:log("warn", "Rejected token %s for session %s: %s (%s)",
			hu_token.hash_prefix(token), session_label(session), reason, loggable(detail));
	else
		module:log("warn", "Rejected login for session %s: %s (%s)", session_label(session), reason, loggable(detail));
	end
end

-- A SASL handler offering only ANONYMOUS, with the methods mod_saslauth
-- calls on util.sasl objects. Prosody's stock ANONYMOUS mechanism retries
-- until its callback accepts, so it cannot reject a login. This one returns
-- failure. It is per session, so no mechanism is registered globally.
local sasl_handler_methods = {};
local sasl_handler_mt = { __index = sasl_handler_methods };

local function new_sasl_handler(session)
	return setmetatable({ session = session, realm = host }, sasl_handler_mt);
end

function sasl_handler_methods:mechanisms()
	return { [sasl_mechanism] = true };
end

function sasl_handler_methods:select(mechanism)
	if self.selected == nil and mechanism == sasl_mechanism then
		self.selected = mechanism;
		return true;
	end
	return false;
end

-- The ANONYMOUS message (an optional trace string) carries nothing we use.
function sasl_handler_methods:process(message) -- luacheck: ignore 212/message
	local session = self.session;
	local login, reason, detail = check_session_token(session);
	if login == nil then
		log_rejection(session, reason, detail);
		rejected_logins:with_labels(reason):add(1);
		return "failure", "not-authorized", reason;
	end

	apply_login(session, login);
	self.username = new_uuid();
	if login.guest then
		-- Read by Prosody 13 only, which gives this role to the session
		-- instead of the host's default role for accounts.
		self.role = "prosody:guest";
		accepted_logins:with_labels("guest"):add(1);
		module:log("debug", "Session %s logged in as a guest without a token", session_label(session));
	else
		accepted_logins:with_labels(login.moderator and "moderator" or "member"):add(1);
		module:log("debug", "Session %s logged in with token %s (moderator: %s)",
			session_label(session), deferred(hu_token.hash_prefix, login.token), login.moderator);
	end
	return "success";
end

function sasl_handler_methods:clean_clone()
	return new_sasl_handler(self.session);
end

-- The auth provider. Like mod_auth_anonymous, accounts exist only while
-- their session does, and there are no passwords.
local provider = {};

function provider.test_password(username, password) -- luacheck: ignore 212
	return nil, "Password based auth not supported";
end

function provider.get_password(username) -- luacheck: ignore 212
	return nil, "Password not available";
end

function provider.set_password(username, password) -- luacheck: ignore 212
	return nil, "Password based auth not supported";
end

function provider.user_exists(username) -- luacheck: ignore 212
	return nil, "Only anonymous users are supported";
end

function provider.create_user(username, password) -- luacheck: ignore 212
	return nil, "Account creation/modification not supported";
end

function provider.delete_user(username) -- luacheck: ignore 212
	return nil, "Account deletion not supported";
end

function provider.users()
	return next, prosody.hosts[host].sessions, nil;
end

function provider.get_sasl_handler(session)
	return new_sasl_handler(session);
end

-- Random-named accounts would leave storage behind on every login, so
-- writes for this host are dropped, as mod_auth_anonymous does.
local function drop_storage_writes(username, store_host, datastore, data)
	if store_host == host then
		return false;
	end
	return username, store_host, datastore, data;
end

function module.load()
	if not allow_storage then
		datamanager.add_callback(drop_storage_writes);
	end
end

function module.unload()
	if not allow_storage then
		datamanager.remove_callback(drop_storage_writes);
	end
end

module:provides("auth", provider);
