-- Specs for lua/mod_huddleup_moderation.lua, loaded outside Prosody with
-- stand-ins for the MUC room, the c2s sessions and huddleup.token.

package.path = "spec/support/?.lua;"..package.path;
local fake = require "fake_prosody_module";
local jid_bare = require "util.jid".bare;
local st = require "util.stanza";

local plugin_path = "lua/mod_huddleup_moderation.lua";
local muc_host = "conference.meet.jitsi.test";

local admins = {};

local stub_usermanager = {
	is_admin = function(jid, host)
		return host == muc_host and admins[jid_bare(jid)] == true;
	end;
};

-- Compares room names the way the C module documents it, without the
-- percent-decoding, which its own specs cover.
local stub_hu_token = {
	room_matches = function(claim, node)
		return claim == "*" or claim:lower() == node:lower();
	end;
};

-- A MUC room with Prosody 0.12's affiliation and default-role rules.
local function new_room(node)
	local room = { jid = node.."@"..muc_host, affiliations = {}, set_calls = {} };

	function room:get_affiliation(jid)
		return self.affiliations[jid_bare(jid)];
	end

	function room:set_affiliation(actor, jid, affiliation)
		assert(actor == true, "expected the module to act as the server");
		table.insert(self.set_calls, { jid = jid, affiliation = affiliation });
		self.affiliations[jid] = affiliation ~= "none" and affiliation or nil;
		return true;
	end

	function room:get_default_role(affiliation)
		if affiliation == "owner" or affiliation == "admin" then
			return "moderator";
		elseif affiliation == "outcast" then
			return nil;
		end
		return "participant";
	end

	return room;
end

local function new_session(fields)
	local session = { sent = {} };
	function session.send(stanza)
		table.insert(session.sent, stanza);
	end
	for name, value in pairs(fields or {}) do
		session[name] = value;
	end
	return session;
end

local function moderator_session(room_claim)
	return new_session({
		huddleup_claims = { room = room_claim or "standup" },
		huddleup_moderator = true,
		huddleup_room_required = true,
	});
end

local function member_session(room_claim)
	return new_session({
		huddleup_claims = { room = room_claim or "standup" },
		huddleup_moderator = false,
		huddleup_room_required = true,
	});
end

local function guest_session()
	return new_session({ huddleup_guest = true, huddleup_moderator = false });
end

local function load_plugin()
	local world = fake.load(plugin_path, {
		host = muc_host;
		preload = {
			["huddleup.token"] = stub_hu_token;
			["core.usermanager"] = stub_usermanager;
		};
	});
	-- Prosody's muc.lib.lua makes the creator owner at priority -1.
	world.module:hook("muc-room-pre-create", function(event)
		event.room:set_affiliation(true, jid_bare(event.stanza.attr.from), "owner");
	end, -1);
	return world;
end

local user_counter = 0;

-- Sends a join presence from `session` to `room` the way muc.lib.lua fires
-- its events, creating the room first when `is_new_room` is set. The user
-- JID is `user_jid` or a new one. Returns the occupant, or nil and the error
-- stanza when the join was rejected.
local function join(world, room, session, is_new_room, user_jid)
	user_counter = user_counter + 1;
	user_jid = user_jid or ("user%d@meet.jitsi.test/res"):format(user_counter);
	local stanza = st.presence({ from = user_jid, to = room.jid.."/nick"..user_counter })
		:tag("x", { xmlns = "http://jabber.org/protocol/muc" }):up();

	if is_new_room then
		if world.fire("muc-room-pre-create", { room = room, origin = session, stanza = stanza }) then
			return nil, session.sent[#session.sent];
		end
	end

	local occupant = {
		bare_jid = jid_bare(user_jid),
		nick = stanza.attr.to,
		role = room:get_default_role(room:get_affiliation(user_jid)),
	};
	local event = {
		room = room, origin = session, stanza = stanza, occupant = occupant,
		is_first_session = true, is_new_room = is_new_room,
	};
	if world.fire("muc-occupant-pre-join", event) then
		return nil, session.sent[#session.sent];
	end
	occupant.affiliation = room:get_affiliation(user_jid) or "none";
	return occupant;
end

local function error_text(stanza)
	local error_tag = stanza:get_child("error");
	return error_tag:get_child_text("text", "urn:ietf:params:xml:ns:xmpp-stanzas");
end

local function error_condition(stanza)
	local error_tag = stanza:get_child("error");
	return error_tag.tags[1].name;
end

describe("mod_huddleup_moderation roles", function()
	local world;
	before_each(function()
		world = load_plugin();
		admins = {};
	end);

	it("makes a moderator joining an existing room owner", function()
		local room = new_room("standup");
		assert.truthy(join(world, room, member_session(), true));

		local occupant = join(world, room, moderator_session(), false);
		assert.equal("owner", occupant.affiliation);
		assert.equal("moderator", occupant.role);
	end);

	it("makes a member joining an existing room member", function()
		local room = new_room("standup");
		assert.truthy(join(world, room, moderator_session(), true));

		local occupant = join(world, room, member_session(), false);
		assert.equal("member", occupant.affiliation);
		assert.equal("participant", occupant.role);
	end);

	it("takes owner away from a member creating the room", function()
		local room = new_room("standup");
		local occupant = join(world, room, member_session(), true);
		assert.equal("member", occupant.affiliation);
		assert.equal("participant", occupant.role);
	end);

	it("keeps a moderator creating the room owner", function()
		local room = new_room("standup");
		local occupant = join(world, room, moderator_session(), true);
		assert.equal("owner", occupant.affiliation);
		assert.equal("moderator", occupant.role);
	end);

	it("never makes a guest creating the room owner", function()
		local room = new_room("standup");
		local occupant = join(world, room, guest_session(), true);
		assert.equal("none", occupant.affiliation);
		assert.equal("participant", occupant.role);
	end);

	it("lets a guest join without an affiliation", function()
		local room = new_room("standup");
		join(world, room, moderator_session(), true);

		local occupant = join(world, room, guest_session(), false);
		assert.equal("none", occupant.affiliation);
		assert.equal("participant", occupant.role);
	end);

	it("does not lower an existing affiliation", function()
		local room = new_room("standup");
		join(world, room, moderator_session(), true);
		room.affiliations["returning@meet.jitsi.test"] = "owner";

		local occupant = join(world, room, member_session(), false, "returning@meet.jitsi.test/res");
		assert.equal("owner", occupant.affiliation);
		assert.equal("moderator", occupant.role);
	end);

	it("sets each affiliation once", function()
		local room = new_room("standup");
		join(world, room, moderator_session(), true);
		assert.equal(1, #room.set_calls); -- Prosody's creator grant only

		join(world, room, member_session(), false);
		assert.equal(2, #room.set_calls);
		assert.equal("member", room.set_calls[2].affiliation);
	end);
end);

describe("mod_huddleup_moderation room claim", function()
	local world;
	before_each(function()
		world = load_plugin();
		admins = {};
	end);

	it("rejects joining another room", function()
		local room = new_room("standup");
		join(world, room, moderator_session("standup"), true);

		local occupant, reply = join(world, room, member_session("retro"), false);
		assert.is_nil(occupant);
		assert.equal("error", reply.attr.type);
		assert.equal("not-allowed", error_condition(reply));
		assert.equal("room-mismatch", error_text(reply));
	end);

	it("rejects creating another room", function()
		local room = new_room("retro");
		local occupant, reply = join(world, room, moderator_session("standup"), true);
		assert.is_nil(occupant);
		assert.equal("room-mismatch", error_text(reply));
		assert.same({}, room.set_calls);
	end);

	it("accepts the wildcard room claim", function()
		local room = new_room("retro");
		local occupant = join(world, room, moderator_session("*"), true);
		assert.equal("owner", occupant.affiliation);
	end);

	it("compares room names without case", function()
		local room = new_room("standup");
		local occupant = join(world, room, member_session("StandUp"), true);
		assert.equal("member", occupant.affiliation);
	end);

	it("rejects a room claim that is not a string", function()
		local room = new_room("standup");
		local occupant, reply = join(world, room, member_session({ "standup" }), true);
		assert.is_nil(occupant);
		assert.equal("room-mismatch", error_text(reply));
	end);

	it("rejects a token without room claim by default", function()
		local session = member_session();
		session.huddleup_claims.room = nil;
		local occupant, reply = join(world, new_room("standup"), session, true);
		assert.is_nil(occupant);
		assert.equal("room-mismatch", error_text(reply));
	end);

	it("admits a token without room claim where none is required", function()
		local session = member_session();
		session.huddleup_claims.room = nil;
		session.huddleup_room_required = false;
		local occupant = join(world, new_room("standup"), session, true);
		assert.equal("member", occupant.affiliation);
	end);

	it("rejects a session without token or guest login", function()
		local occupant, reply = join(world, new_room("standup"), new_session(), true);
		assert.is_nil(occupant);
		assert.equal("not-allowed", error_condition(reply));
		assert.equal("token-required", error_text(reply));
	end);

	it("logs the rejected user and room", function()
		join(world, new_room("retro"), member_session("standup"), true);
		local info = world.log_text("info");
		assert.matches("retro@"..muc_host, info, 1, true);
		assert.matches("room-mismatch", info, 1, true);
	end);
end);

describe("mod_huddleup_moderation admins", function()
	local world;
	before_each(function()
		world = load_plugin();
		admins = {};
	end);

	it("leaves an admin without token alone", function()
		local room = new_room("standup");
		admins["focus@auth.meet.jitsi.test"] = true;

		local occupant = join(world, room, new_session(), true, "focus@auth.meet.jitsi.test/focus");
		assert.truthy(occupant);
		assert.equal(1, #room.set_calls); -- Prosody's creator grant only
	end);

	it("does not grant an admin joining another room", function()
		local room = new_room("standup");
		join(world, room, moderator_session(), true);
		admins["focus@auth.meet.jitsi.test"] = true;

		local occupant = join(world, room, member_session("retro"), false, "focus@auth.meet.jitsi.test/focus");
		assert.truthy(occupant);
		assert.equal(1, #room.set_calls);
	end);
end);
