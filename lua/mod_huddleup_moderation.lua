-- mod_huddleup_moderation: room access and owner rights from HuddleUp tokens.
--
-- Load it in modules_enabled of the MUC component, and of Jitsi's breakout
-- rooms component with huddleup_moderation_main_muc set. It reads what
-- mod_auth_huddleup_token stored on the joining user's c2s session.
--
-- A token admits its holder to the room its room claim names. At every
-- join, a moderator token makes the occupant owner and any other token
-- makes it member. When the occupant leaves, the affiliation it got this
-- way is removed again. A guest (no token, on a host with allow_empty_token)
-- may join but never owns a room. The owner lock: owner and admin
-- affiliations go only to occupants with a moderator token, to Prosody
-- admins (Jitsi's focus user) and to occupants a token owner promoted.
-- Every other grant is vetoed in muc-pre-set-affiliation, whoever asks.
-- docs/self-hosting.md lists the options.

local jid_bare = require "util.jid".bare;
local jid_node = require "util.jid".node;
local st = require "util.stanza";
local cache = require "util.cache";
local nodeprep = require "util.encodings".stringprep.nodeprep;
local modulemanager = require "core.modulemanager";
local hu_token = require "huddleup.token";
local huddleup_metrics = module:require "huddleup_metrics";

-- Reads a string option that must be one of the given values, the first
-- being the default. Prosody 13's module:get_option_enum logs a bad value
-- but returns it, so on both versions a bad value raises here.
local function get_enum_option(name, ...)
	local allowed = { ... };
	local value;
	if module.get_option_enum then
		value = module:get_option_enum(name, ...);
	else
		value = module:get_option_string(name, allowed[1]);
	end
	for _, candidate in ipairs(allowed) do
		if value == candidate then
			return value;
		end
	end
	error(("configuration-error: option %s must be one of %s, got %q"):format(
		name, table.concat(allowed, ", "), tostring(value)), 0);
end

local allow_grant = module:get_option_boolean("huddleup_moderation_allow_grant", true);
local restrict_room_creation = module:get_option_boolean("huddleup_moderation_restrict_room_creation", true);
local wait_for_host = module:get_option_boolean("huddleup_moderation_wait_for_host", false);
local on_expiry = get_enum_option("huddleup_moderation_on_expiry", "keep", "kick");
-- Jitsi sets enable_domain_verification on the token VirtualHost, where
-- mod_auth_huddleup_token reads it. Setting it here works too.
local domain_verification = module:get_option_boolean("enable_domain_verification", false);
-- Jitsi's default: the MUC component's host without its first label.
local domain_base = module:get_option_string("muc_mapper_domain_base", (module.host:gsub("^[^.]+%.", "")));

-- Returns the main MUC component when this one holds Jitsi's breakout
-- rooms: huddleup_moderation_main_muc, or else Jitsi's main_muc option of
-- the VirtualHost named by muc_mapper_domain_base, when its
-- breakout_rooms_muc option (default "breakout.<domain>") names this
-- component. Returns nil for any other component.
local function find_main_muc_host()
	local main_muc = module:get_option_string("huddleup_moderation_main_muc");
	if main_muc == nil then
		local jitsi_host = module:context(domain_base);
		if jitsi_host:get_option_string("breakout_rooms_muc", "breakout."..domain_base) == module.host then
			main_muc = jitsi_host:get_option_string("main_muc");
		end
	end
	-- Set globally, the option also reaches the main MUC component itself.
	if main_muc == module.host then
		return nil;
	end
	return main_muc;
end

local main_muc_host = find_main_muc_host();

-- Counters on /metrics (docs/self-hosting.md, "Metrics"). Grants of
-- owner or admin are counted by affiliation.
local owner_grants = huddleup_metrics.counter(module, "owner_grants",
	"Owner and admin affiliations granted: at the join of a moderator token, or by a token owner",
	{ "affiliation", "by" });
local vetoed_owner_grants = huddleup_metrics.counter(module, "owner_grants_vetoed",
	"Owner and admin grants vetoed by the owner lock, by reason", { "affiliation", "reason" });
local vetoed_owner_removals = huddleup_metrics.counter(module, "owner_removals_vetoed",
	"Removals of a token moderator's owner affiliation vetoed by the owner lock");

-- The room check runs before Prosody's own checks. Owner is granted before
-- the members-only check (-5), so that a moderator token enters a room
-- with the lobby on. Other affiliations change after every check (the ban
-- check runs at -10, the password check at -20), so only a join that
-- Prosody accepts gives or takes one.
local check_priority = 20;
local owner_grant_priority = -3;
local grant_priority = -50;

local affiliation_rank = { outcast = -1, none = 0, member = 1, admin = 2, owner = 3 };

local expiry_reason = "token-expired: the access token of this participant expired, join again with a new token";

-- Prosody admins keep their own rights. Prosody 13 deprecates
-- usermanager.is_admin and logs a warning on every call. Its mod_muc makes
-- room owners of the roles with the muc:automatic-ownership permission,
-- which prosody:admin and prosody:operator have, so this module asks the same.
local is_admin;
if module.could then
	function is_admin(jid)
		return module:could("muc:automatic-ownership", jid_bare(jid));
	end
else
	local um_is_admin = require "core.usermanager".is_admin;
	function is_admin(jid)
		return um_is_admin(jid_bare(jid), module.host);
	end
end

-- Room names -----------------------------------------------------------

-- Decodes only the escapes an encoder writes: an escape of a character that
-- encodeURIComponent leaves as it is ("%65" for "e") stays as it is, so the
-- claim "w%65ekly" never admits the room "weekly". The C side
-- (hu_room_normalize) applies the same rule.
local function percent_decode(text)
	return (text:gsub("%%(%x%x)", function(hex)
		local byte = tonumber(hex, 16);
		local char = string.char(byte);
		if byte == 0 or char:match("^[%w%-_%.!~%*'%(%)]$") then
			return nil;
		end
		return char;
	end));
end

-- Returns the comparison key of a room name: percent-decoded, then
-- case-folded and NFKC-normalised by nodeprep (RFC 3920 appendix A), which
-- folds non-ASCII letters too ("Ü" to "ü", "Ё" to "ё"). Nodeprep rejects
-- the space and " & ' / : < > @, so the runs between those characters are
-- prepared one by one. Returns nil when a run is not valid UTF-8 or
-- nodeprep rejects it.
local function fold_room_name(name)
	local failed = false;
	local folded = percent_decode(name):gsub("[^ \"&'/:<>@]+", function(run)
		local prepared = nodeprep(run);
		if prepared == nil then
			failed = true;
			return run;
		end
		return prepared;
	end);
	if failed then
		return nil;
	end
	return folded;
end

-- Compares a room claim with a room name as Jitsi clients send it in the
-- MUC node (lowercased, non-ASCII percent-encoded). "*" admits any room.
-- Names that nodeprep rejects are compared by huddleup.token.room_matches,
-- which percent-decodes and lowercases ASCII only.
local function room_name_matches(claim, name)
	if claim == "*" then
		return true;
	end
	local folded_claim, folded_name = fold_room_name(claim), fold_room_name(name);
	if folded_claim ~= nil and folded_name ~= nil then
		return folded_claim == folded_name;
	end
	return hu_token.room_matches(claim, name);
end

-- Describes the conference of a MUC node: Jitsi's mod_muc_domain_mapper
-- names a tenant's room "[tenant]room".
local function conference_of(node)
	local tenant, name = node:match("^%[([^%]]+)%](.+)$");
	return { node = node, tenant = tenant, name = name or node };
end

-- Breakout rooms ---------------------------------------------------------

-- Jitsi's mod_muc_breakout_rooms lists the breakout rooms of a main room
-- in its _data.breakout_rooms, keyed by room JID. Depending on the Jitsi
-- release it names a breakout room "<main room node>_<uuid>" or "<uuid>".
local main_room_cache = cache.new(256);
local main_muc_missing_logged = false;

local function lists_breakout_room(main_room, breakout_jid)
	local rooms = main_room._data and main_room._data.breakout_rooms;
	return type(rooms) == "table" and rooms[breakout_jid] ~= nil;
end

local function find_main_room(breakout_jid)
	local main_host = prosody.hosts[main_muc_host];
	local muc = main_host and main_host.modules.muc;
	if muc == nil then
		if not main_muc_missing_logged then
			module:log("error", "No MUC component %s: set huddleup_moderation_main_muc to Jitsi's main MUC component",
				main_muc_host);
			main_muc_missing_logged = true;
		end
		return nil;
	end

	local candidates = { main_room_cache:get(breakout_jid) };
	local main_node = (jid_node(breakout_jid) or ""):match("^(.+)_[-%x]+$");
	if main_node then
		table.insert(candidates, main_node.."@"..main_muc_host);
	end
	for _, room_jid in ipairs(candidates) do
		local room = muc.get_room_from_jid(room_jid);
		if room and lists_breakout_room(room, breakout_jid) then
			main_room_cache:set(breakout_jid, room.jid);
			return room;
		end
	end

	for room in muc.live_rooms() do
		if lists_breakout_room(room, breakout_jid) then
			main_room_cache:set(breakout_jid, room.jid);
			return room;
		end
	end
	return nil;
end

-- Returns the conference that `room` belongs to, which is the main room's
-- for a breakout room, or nil and a reason. Its `room` is the main room.
local function resolve_conference(room)
	local main_room = room;
	if main_muc_host ~= nil then
		main_room = find_main_room(room.jid);
		if main_room == nil then
			return nil, "unknown-breakout-room";
		end
	end

	local node = jid_node(main_room.jid);
	if node == nil then
		return nil, "room-mismatch";
	end
	local conference = conference_of(node);
	conference.room = main_room;
	return conference;
end

-- Token checks -----------------------------------------------------------

local function sub_matches(sub, expected)
	return type(sub) == "string" and (sub == "*" or sub:lower() == expected:lower());
end

-- Checks the room claim, and with domain verification the sub claim, of a
-- session with a token against `conference`. Returns true, or nil and a
-- reason. With domain verification a tenant room's claim names the room
-- without the tenant and sub names the tenant. Without it the claim is
-- compared with the whole node, as Jitsi's token verification does.
local function check_claims(session, conference)
	local claims = session.huddleup_claims;
	local verify_domain = domain_verification or session.huddleup_domain_verification == true;

	local room_claim = claims.room;
	if room_claim == nil then
		-- Only a host with asap_require_room_claim = false accepts such a
		-- token, and there it admits the holder to every room, as in Jitsi.
		if session.huddleup_room_required ~= false then
			return nil, "room-mismatch";
		end
	elseif type(room_claim) ~= "string"
		or not room_name_matches(room_claim, verify_domain and conference.name or conference.node) then
		return nil, "room-mismatch";
	end

	if verify_domain and not sub_matches(claims.sub, conference.tenant or domain_base) then
		return nil, "tenant-mismatch";
	end
	return true;
end

-- Returns true when the token's exp, plus the verifier's leeway, has passed.
local function is_expired(session, now)
	local exp = session.huddleup_claims.exp;
	if type(exp) ~= "number" then
		return false;
	end
	return now >= exp + (session.huddleup_token_leeway or 0);
end

-- Decides whether the user of `session` may enter a room of `conference`,
-- or create one when `creating` is set. Returns the affiliation its token
-- stands for ("owner", "member", or "none" for a guest), or nil and a reason.
local function decide_access(session, conference, creating)
	if session.huddleup_claims == nil then
		if session.huddleup_guest ~= true then
			return nil, "token-required";
		end
		-- With huddleup_moderation_wait_for_host, the host check that
		-- follows names the reason.
		if creating and restrict_room_creation and not wait_for_host then
			return nil, "room-creation-restricted";
		end
		return "none";
	end

	local ok, reason = check_claims(session, conference);
	if not ok then
		return nil, reason;
	end
	if is_expired(session, os.time()) then
		return nil, "token-expired";
	end
	if session.huddleup_moderator == true then
		return "owner";
	end
	return "member";
end

-- Returns true when a live session of `bare_jid` has a moderator token
-- that admits it to `conference`. Expiry does not matter here: with
-- huddleup_moderation_on_expiry = "keep" an owner stays owner.
local function has_moderator_token(bare_jid, conference)
	local user = prosody.bare_sessions[bare_jid];
	if user == nil or conference == nil then
		return false;
	end
	for _, session in pairs(user.sessions or {}) do
		if session.huddleup_moderator == true and session.huddleup_claims ~= nil
			and check_claims(session, conference) then
			return true;
		end
	end
	return false;
end

-- With huddleup_moderation_wait_for_host, a conference opens when the
-- first occupant with a moderator token joins it, and stays open while its
-- main room lives, as with Jitsi's mod_muc_wait_for_host. A room that
-- Jitsi's focus created stays closed until then.
local function host_arrived(conference)
	return conference.room.huddleup_host_arrived == true;
end

local function record_host_arrival(event)
	local conference = resolve_conference(event.room);
	if conference ~= nil and not host_arrived(conference)
		and has_moderator_token(event.occupant.bare_jid, conference) then
		conference.room.huddleup_host_arrived = true;
		module:log("info", "Host %s arrived in %s", event.occupant.bare_jid, event.room.jid);
	end
end

-- Affiliations -----------------------------------------------------------

-- The change this module is making, in `current`, which the owner lock
-- lets through. The table is shared by the module's instances on every
-- host, because the instance on Jitsi's breakout rooms component also
-- changes affiliations in main rooms.
local own_change = module:shared("/*/huddleup_moderation/own_change");

-- Calls room:set_affiliation as the server. Returns what it returns.
local function set_affiliation_as_module(room, jid, affiliation, reason, data)
	local previous = own_change.current;
	own_change.current = { room = room, jid = jid, affiliation = affiliation };
	local results = table.pack(pcall(room.set_affiliation, room, true, jid, affiliation, reason, data));
	own_change.current = previous;
	if not results[1] then
		error(results[2], 0);
	end
	return table.unpack(results, 2, results.n);
end

-- The affiliation data key that marks an affiliation this module granted
-- for a token: at a join, or Prosody's owner affiliation for the creator
-- of a room. Its value is the affiliation granted. Prosody saves
-- affiliation data with persistent rooms and with rooms it evicts from
-- memory, so the mark outlives the room object.
local grant_mark = "huddleup_token_grant";

-- Returns the affiliation data of a grant at join: the user's current
-- data (such as a reserved nickname) with the mark added.
local function marked_affiliation_data(room, bare_jid, affiliation)
	local data = {};
	for key, value in pairs(room:get_affiliation_data(bare_jid) or {}) do
		data[key] = value;
	end
	data[grant_mark] = affiliation;
	return data;
end

-- Returns the affiliation a join should leave the user with, given its
-- current affiliation and the one its token stands for, or nil to keep the
-- current one. A ban stays. An owner or admin affiliation without a
-- moderator token is lowered, unless a token owner granted it to this JID.
-- A member token gets member only where that does not let it skip the
-- lobby of a members-only room.
local function reconcile_affiliation(current, token_affiliation, members_only, granted_by_owner)
	if current == "outcast" or current == token_affiliation then
		return nil;
	end
	if token_affiliation == "owner" then
		return "owner";
	end
	if current == "owner" or current == "admin" then
		if granted_by_owner then
			return nil;
		end
		-- The user entered as owner, so in a members-only room it keeps the
		-- member affiliation that lets it stay.
		if members_only then
			return "member";
		end
		return token_affiliation;
	end
	if token_affiliation == "member" and current == "none" and not members_only then
		return "member";
	end
	return nil;
end

-- Returns true when a token owner granted the affiliation of `bare_jid`.
-- In a breakout room, Jitsi's mod_muc_breakout_rooms reads affiliations
-- from the main room, so the grant may be recorded there.
local function was_granted_by_owner(room, bare_jid)
	if room:get_affiliation_data(bare_jid, "huddleup_granted_by") ~= nil then
		return true;
	end
	local conference = resolve_conference(room);
	return conference ~= nil and conference.room ~= room
		and conference.room:get_affiliation_data(bare_jid, "huddleup_granted_by") ~= nil;
end

local function reject(event, reason)
	local stanza = event.stanza;
	module:log("info", "Rejected %s from room %s: %s", stanza.attr.from, event.room.jid, reason);
	event.origin.send(st.error_reply(stanza, "cancel", "not-allowed", reason, event.room.jid));
	return true;
end

local function check_room_access(event, creating)
	local stanza = event.stanza;
	if is_admin(stanza.attr.from) then
		return;
	end

	local conference, reason = resolve_conference(event.room);
	local granted;
	if conference ~= nil then
		granted, reason = decide_access(event.origin, conference, creating);
	end
	if granted == nil then
		return reject(event, reason);
	end
	if wait_for_host and granted ~= "owner" and not host_arrived(conference) then
		return reject(event, "waiting-for-host");
	end
	event.huddleup_affiliation = granted;
	module:log("debug", "%s may %s %s as %s", stanza.attr.from, creating and "create" or "enter",
		event.room.jid, granted);
end

local function check_room_creation(event)
	return check_room_access(event, true);
end

local function check_room_entry(event)
	return check_room_access(event, false);
end

local function apply_join_affiliation(event, owner_stage)
	local room, occupant = event.room, event.occupant;
	local token_affiliation = event.huddleup_affiliation;
	if token_affiliation == nil or (token_affiliation == "owner") ~= owner_stage then
		return;
	end

	local bare_jid = jid_bare(event.stanza.attr.from);
	local current = room:get_affiliation(bare_jid) or "none";
	local granted_by_owner = (current == "owner" or current == "admin") and was_granted_by_owner(room, bare_jid);
	local affiliation = reconcile_affiliation(current, token_affiliation, room:get_members_only(), granted_by_owner);
	if affiliation == nil then
		return;
	end

	local ok, err_type, err_condition = set_affiliation_as_module(room, bare_jid, affiliation, nil,
		marked_affiliation_data(room, bare_jid, affiliation));
	if not ok then
		module:log("error", "Failed to set affiliation %s for %s in %s: %s %s",
			affiliation, bare_jid, room.jid, err_type, err_condition);
		return;
	end

	-- The occupant's role was computed from its old affiliation before
	-- this event, and set_affiliation only updates occupants already in the room.
	occupant.role = room:get_default_role(affiliation) or nil;
	if affiliation == "owner" then
		owner_grants:with_labels("owner", "moderator-token"):add(1);
	end
	module:log("info", "Set %s to %s/%s in %s", bare_jid, affiliation, occupant.role or "none", room.jid);
end

local function grant_owner_on_join(event)
	return apply_join_affiliation(event, true);
end

local function grant_affiliation_on_join(event)
	return apply_join_affiliation(event, false);
end

-- Prosody makes the creator of a room owner (muc.lib.lua, in
-- muc-room-pre-create at priority -1), and the owner lock admits it only
-- for a moderator token. The mark ties this affiliation to the occupant
-- too.
local function mark_creator_grant(event)
	if event.huddleup_affiliation ~= "owner" then
		return;
	end
	local room, creator = event.room, jid_bare(event.stanza.attr.from);
	if room:get_affiliation(creator) == "owner" and room:get_affiliation_data(creator, grant_mark) == nil then
		room:set_affiliation_data(creator, grant_mark, "owner");
	end
end

-- Leaving ------------------------------------------------------------------

-- Returns true when a session of `bare_jid` is an occupant of `room`.
-- Only local users log in with tokens, so bare_sessions lists their sessions.
local function is_in_room(room, bare_jid)
	local user = prosody.bare_sessions[bare_jid];
	for _, session in pairs(user and user.sessions or {}) do
		if session.full_jid and room:get_occupant_jid(session.full_jid) ~= nil then
			return true;
		end
	end
	return false;
end

-- Removes the affiliation this module granted to `bare_jid` in `room`,
-- unless it was changed since (by a token owner, for example) or the
-- user is still in the room.
local function remove_token_grant(room, bare_jid)
	local granted = room:get_affiliation_data(bare_jid, grant_mark);
	if granted == nil or (room:get_affiliation(bare_jid) or "none") ~= granted or is_in_room(room, bare_jid) then
		return;
	end

	local ok, err_type, err_condition = set_affiliation_as_module(room, bare_jid, "none");
	if not ok then
		module:log("error", "Failed to remove affiliation %s of %s from %s after it left: %s %s",
			granted, bare_jid, room.jid, err_type, err_condition);
		return;
	end
	module:log("info", "Removed affiliation %s of %s from %s after it left", granted, bare_jid, room.jid);
end

-- Returns true when a leave presence moves the user between a main room
-- and its breakout rooms: Jitsi clients then send the status
-- "switch_room". A main room lists its breakout rooms in _data.breakout_rooms.
-- NOTE: a user that sends it and then joins no other room of the
-- conference keeps its main room affiliation until the room is destroyed.
local function is_switching_room(room, stanza)
	if stanza == nil or stanza:get_child_text("status") ~= "switch_room" then
		return false;
	end
	if main_muc_host ~= nil then
		return true;
	end
	local breakout_rooms = room._data and room._data.breakout_rooms;
	return type(breakout_rooms) == "table" and next(breakout_rooms) ~= nil;
end

-- Handles muc-occupant-left, which Prosody fires when the last session of
-- an occupant leaves, is kicked or banned, or changes its nick. Jitsi
-- users get a new JID at every login, so without this every visit would
-- leave an affiliation behind for the life of the room.
local function remove_grants_on_leave(event)
	local room, stanza = event.room, event.stanza;
	-- A destroyed room takes its affiliations with it.
	if room.destroying then
		return;
	end
	-- A nick change fires the event with the join presence of the new nick.
	if stanza ~= nil and stanza.attr.type ~= "unavailable" then
		return;
	end
	-- In a breakout room, affiliations are read from the main room, so the
	-- user keeps them there while it moves between the rooms of a conference.
	if is_switching_room(room, stanza) then
		return;
	end

	local bare_jid = event.occupant.bare_jid;
	-- Prosody destroys an empty room next unless it is persistent
	-- (mod_muc.lua, muc-occupant-left at priority -1), so a removal would
	-- only write a room to storage that is about to go.
	if room:has_occupant() or room:get_persistent() then
		remove_token_grant(room, bare_jid);
	end
	if main_muc_host ~= nil then
		local conference = resolve_conference(room);
		if conference ~= nil then
			remove_token_grant(conference.room, bare_jid);
		end
	end
end

-- The owner lock ---------------------------------------------------------

local function veto(event, what)
	event.allowed = false;
	event.error = { type = "cancel", condition = "not-allowed" };
	module:log("info", "Vetoed %s: %s from %s to %s in %s, requested by %s", what, event.jid,
		event.previous_affiliation, event.affiliation, event.room.jid, event.actor or "the server");
end

-- Handles muc-pre-set-affiliation, which Prosody fires before every
-- affiliation change: from occupants' muc#admin requests, from Jitsi's
-- focus and from other modules, which act as the server (actor nil).
local function check_affiliation_change(event)
	local room, jid, actor = event.room, event.jid, event.actor;
	local change = own_change.current;
	if change and change.room == room and change.jid == jid and change.affiliation == event.affiliation then
		return;
	end
	if is_admin(jid) then
		return;
	end

	local rank = affiliation_rank[event.affiliation] or 0;
	local previous_rank = affiliation_rank[event.previous_affiliation] or 0;
	local conference = resolve_conference(room);

	if rank >= affiliation_rank.admin and rank > previous_rank then
		if has_moderator_token(jid, conference) then
			return;
		end
		local actor_is_token_owner = actor ~= nil and room:get_affiliation(actor) == "owner"
			and has_moderator_token(jid_bare(actor), conference);
		if not actor_is_token_owner then
			vetoed_owner_grants:with_labels(event.affiliation, "no-moderator-token"):add(1);
			return veto(event, "grant without a moderator token");
		end
		if not allow_grant then
			vetoed_owner_grants:with_labels(event.affiliation, "grants-disabled"):add(1);
			return veto(event, "grant by a token owner (huddleup_moderation_allow_grant is false)");
		end
		if event.data == nil then
			event.data = { huddleup_granted_by = jid_bare(actor) };
		end
		owner_grants:with_labels(event.affiliation, "token-owner"):add(1);
		module:log("info", "Token owner %s granted %s to %s in %s", actor, event.affiliation, jid, room.jid);
		return;
	end

	if event.previous_affiliation == "owner" and rank < previous_rank
		and has_moderator_token(jid, conference)
		and not (actor ~= nil and room:get_affiliation(actor) == "owner") then
		vetoed_owner_removals:with_labels():add(1);
		return veto(event, "removal of a token moderator's owner affiliation");
	end
end

-- Token expiry -------------------------------------------------------------

-- [room JID] = { [occupant nick] = timer }: at most one per occupant,
-- stopped when it leaves. Tokens live at most huddleup_token_max_lifetime
-- (7 days by default), which bounds the delay.
local expiry_timers = {};

-- Forgets the timer of an occupant, and stops it unless it has fired.
local function stop_expiry_timer(room_jid, nick, fired)
	local timers = expiry_timers[room_jid];
	local timer = timers and timers[nick];
	if timer == nil then
		return;
	end
	if not fired then
		timer:stop();
	end
	timers[nick] = nil;
	if next(timers) == nil then
		expiry_timers[room_jid] = nil;
	end
end

local function kick_expired_occupant(room, nick, real_jid)
	stop_expiry_timer(room.jid, nick, true);
	local occupant = room:get_occupant_by_nick(nick);
	if occupant == nil or occupant:get_presence(real_jid) == nil then
		return;
	end
	-- NOTE: this removes the whole occupant. An occupant with a second
	-- session (the same user JID twice under one nick, which Jitsi clients
	-- never do) loses that session too.
	local ok, err_type, err_condition = room:set_role(true, nick, "none", expiry_reason);
	if not ok then
		module:log("error", "Failed to remove %s from %s after its token expired: %s %s",
			real_jid, room.jid, err_type, err_condition);
		return;
	end
	module:log("info", "Removed %s (%s) from %s: token-expired", nick, real_jid, room.jid);
end

local function schedule_expiry_kick(event)
	local room, occupant, session = event.room, event.occupant, event.origin;
	local claims = session and session.huddleup_claims;
	if claims == nil or type(claims.exp) ~= "number" or is_admin(occupant.bare_jid) then
		return;
	end

	local deadline = claims.exp + (session.huddleup_token_leeway or 0);
	local delay = math.max(0, deadline - os.time());
	local real_jid = session.full_jid;
	stop_expiry_timer(room.jid, occupant.nick);
	local timers = expiry_timers[room.jid] or {};
	expiry_timers[room.jid] = timers;
	timers[occupant.nick] = module:add_timer(delay, function()
		kick_expired_occupant(room, occupant.nick, real_jid);
	end);
	module:log("debug", "%s in %s will be removed in %d s, when its token expires", occupant.nick, room.jid, delay);
end

local function stop_expiry_on_leave(event)
	stop_expiry_timer(event.room.jid, event.nick or event.occupant.nick);
end

local function stop_expiry_on_destroy(event)
	for nick in pairs(expiry_timers[event.room.jid] or {}) do
		stop_expiry_timer(event.room.jid, nick);
	end
end

-- Conflicting modules -------------------------------------------------------

-- What each known conflicting module does. The owner lock still applies,
-- but these modules change affiliations on every join.
local conflicts = {
	muc_allowners = "it makes every occupant owner when it joins. The owner lock vetoes these grants"
		.." for occupants without a moderator token. Remove muc_allowners from modules_enabled.";
	token_affiliation = "it sets owner for tokens whose context.user.affiliation is owner, moderator or teacher,"
		.." or whose context.user.moderator is true, and member for every other token, and repeats the change"
		.." for several seconds after each join unless disable_cascading_set = true. The owner lock vetoes"
		.." its owner grants to tokens that huddleup.token does not treat as moderator tokens, but its member"
		.." grants let token holders skip a lobby that is on. Remove token_affiliation from modules_enabled.";
	token_moderation = "it replaces the presence handlers and set_affiliation of every room, sets owner for"
		.." tokens with a top-level moderator claim and member for every other token, and rejects every other"
		.." owner grant, including the grants of this module. Remove token_moderation from modules_enabled.";
	muc_wait_for_host = "without wait_for_host_disable_auto_owners = true it makes every occupant with a token"
		.." owner when it joins. The owner lock vetoes these grants for member tokens. Set"
		.." wait_for_host_disable_auto_owners = true, or use huddleup_moderation_wait_for_host instead.";
};

local function report_conflict(name)
	local description = conflicts[name];
	if description == nil then
		return;
	end
	if name == "muc_wait_for_host" and module:get_option_boolean("wait_for_host_disable_auto_owners", false) then
		return;
	end
	module:log("warn", "mod_%s is loaded on %s: %s", name, module.host, description);
end

for name in pairs(conflicts) do
	if modulemanager.is_loaded(module.host, name) then
		report_conflict(name);
	end
end

module:hook("module-loaded", function(event)
	if event.host == module.host then
		report_conflict(event.module);
	end
end);

-- Hooks ----------------------------------------------------------------------

module:hook("muc-room-pre-create", check_room_creation, check_priority);
module:hook("muc-occupant-pre-join", check_room_entry, check_priority);
module:hook("muc-occupant-pre-join", grant_owner_on_join, owner_grant_priority);
module:hook("muc-occupant-pre-join", grant_affiliation_on_join, grant_priority);
module:hook("muc-pre-set-affiliation", check_affiliation_change);
module:hook("muc-room-pre-create", mark_creator_grant, -2);
module:hook("muc-occupant-left", remove_grants_on_leave);

if wait_for_host then
	module:hook("muc-occupant-joined", record_host_arrival);
end

if on_expiry == "kick" then
	module:hook("muc-occupant-joined", schedule_expiry_kick);
	module:hook("muc-occupant-left", stop_expiry_on_leave);
	module:hook("muc-room-destroyed", stop_expiry_on_destroy);
end

module:log("info", "Moderation ready: huddleup-token %s (%s), grants by token owners %s, room creation %s, "
	.."on token expiry %s%s%s",
	hu_token._VERSION, tostring(module.path), allow_grant and "allowed" or "vetoed",
	wait_for_host and "by moderator tokens only" or (restrict_room_creation and "by tokens only" or "open to guests"),
	on_expiry,
	domain_verification and ", domain verification against "..domain_base or "",
	main_muc_host and ", breakout rooms of "..main_muc_host or "");
