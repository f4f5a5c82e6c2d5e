-- mod_huddleup_moderation: room access and roles from HuddleUp tokens.
--
-- Load it in modules_enabled of the MUC component. It reads what
-- mod_auth_huddleup_token stored on the joining user's c2s session.
-- A token holder may create and join only the room its room claim names.
-- A moderator token makes the occupant owner and moderator, and any other
-- token makes it a member. A guest (no token, on a host that allows that)
-- may join but never owns a room. Prosody admins, such as Jitsi's focus
-- user, are left alone.

local jid_bare = require "util.jid".bare;
local jid_node = require "util.jid".node;
local st = require "util.stanza";
local um_is_admin = require "core.usermanager".is_admin;
local hu_token = require "huddleup.token";

-- The room check runs before Prosody's own checks, and the grant after all
-- of them (the ban check runs at -10), so that only a join Prosody accepts
-- changes an affiliation.
local check_priority = 20;
local grant_priority = -50;

local function is_admin(jid)
	return um_is_admin(jid, module.host);
end

-- Decides whether the user of `session` may enter the room whose node is
-- `room_node`. Returns the affiliation the user gets ("owner", "member" or
-- "none"), or nil and a reason.
local function decide_affiliation(session, room_node)
	local claims = session.huddleup_claims;
	if claims == nil then
		if session.huddleup_guest == true then
			return "none";
		end
		return nil, "token-required";
	end

	local room_claim = claims.room;
	if room_claim == nil then
		-- Only a host with asap_require_room_claim = false accepts such a
		-- token, and there it admits the holder to every room, as in Jitsi.
		if session.huddleup_room_required ~= false then
			return nil, "room-mismatch";
		end
	elseif type(room_claim) ~= "string" or room_node == nil
		or not hu_token.room_matches(room_claim, room_node) then
		return nil, "room-mismatch";
	end

	if session.huddleup_moderator == true then
		return "owner";
	end
	return "member";
end

local affiliation_rank = { none = 0, member = 1, admin = 2, owner = 3 };

-- Returns the affiliation to set for a joining user, or nil to keep the
-- current one. Grants only raise an affiliation, except for the creator of
-- a new room: Prosody made it owner, which only a moderator token may keep.
local function affiliation_change(current, granted, is_new_room)
	current = current or "none";
	if current == "outcast" or current == granted then
		return nil;
	end
	if is_new_room and current == "owner" then
		return granted;
	end
	if affiliation_rank[granted] > (affiliation_rank[current] or 0) then
		return granted;
	end
	return nil;
end

local function reject(event, reason)
	local stanza = event.stanza;
	module:log("info", "Rejected %s from room %s: %s", stanza.attr.from, event.room.jid, reason);
	event.origin.send(st.error_reply(stanza, "cancel", "not-allowed", reason, event.room.jid));
	return true;
end

local function check_room_access(event)
	local stanza = event.stanza;
	if is_admin(stanza.attr.from) then
		return;
	end

	local room_node = jid_node(event.room.jid);
	local granted, reason = decide_affiliation(event.origin, room_node);
	if granted == nil then
		return reject(event, reason);
	end
	module:log("debug", "%s may enter %s as %s", stanza.attr.from, event.room.jid, granted);
end

local function grant_affiliation(event)
	local room, stanza, occupant = event.room, event.stanza, event.occupant;
	local user_jid = stanza.attr.from;
	if is_admin(user_jid) then
		return;
	end

	local granted = decide_affiliation(event.origin, jid_node(room.jid));
	if granted == nil then
		return;
	end

	local bare_jid = jid_bare(user_jid);
	local affiliation = affiliation_change(room:get_affiliation(bare_jid), granted, event.is_new_room);
	if affiliation == nil then
		return;
	end

	local ok, err_type, err_condition = room:set_affiliation(true, bare_jid, affiliation);
	if not ok then
		module:log("error", "Failed to set affiliation %s for %s in %s: %s %s",
			affiliation, bare_jid, room.jid, err_type, err_condition);
		return;
	end

	-- The occupant's role was computed from its old affiliation before
	-- this event, and set_affiliation only updates occupants already in the room.
	occupant.role = room:get_default_role(affiliation);
	module:log("info", "Set %s to %s/%s in %s", bare_jid, affiliation, occupant.role or "none", room.jid);
end

module:hook("muc-room-pre-create", check_room_access, check_priority);
module:hook("muc-occupant-pre-join", check_room_access, check_priority);
module:hook("muc-occupant-pre-join", grant_affiliation, grant_priority);
