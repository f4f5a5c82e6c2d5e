-- Specs for lua/mod_huddleup_moderation.lua, loaded outside Prosody with
-- stand-ins for the MUC room, the c2s sessions, core.usermanager,
-- core.modulemanager and huddleup.token. Prosody's util.* libraries
-- (util.encodings' nodeprep among them) are the real ones.

package.path = "spec/support/?.lua;"..package.path;
local fake = require "fake_prosody_module";
local jid_bare = require "util.jid".bare;
local st = require "util.stanza";

local plugin_path = "lua/mod_huddleup_moderation.lua";
local domain = "meet.jitsi.test";
local muc_host = "conference."..domain;
local breakout_host = "breakout."..domain;
local focus_jid = "focus@auth."..domain.."/focus";

local affiliation_rank = { outcast = -1, none = 0, member = 1, admin = 2, owner = 3 };

local admins = {};
local loaded_modules = {};

local stub_usermanager = {
	is_admin = function(jid, host)
		return (host == muc_host or host == breakout_host) and admins[jid_bare(jid)] == true;
	end;
};

local stub_modulemanager = {
	is_loaded = function(host, name)
		return loaded_modules[host] ~= nil and loaded_modules[host][name] == true;
	end;
};

-- The comparison of huddleup.token.room_matches (csrc/claims.c): "*", or
-- equal after percent-decoding and lowercasing ASCII letters.
local function c_room_normalize(name)
	local decoded = name:gsub("%%(%x%x)", function(hex)
		return string.char(tonumber(hex, 16));
	end);
	return (decoded:gsub("%u", string.lower));
end

local stub_hu_token = {
	_VERSION = "0.1.0-stub";
	room_matches = function(claim, node)
		return claim == "*" or c_room_normalize(claim) == c_room_normalize(node);
	end;
};

-- A MUC room with Prosody's affiliation rules (0.12 and 13 agree): owners
-- may change anything, others may not grant owner or admin, and every
-- change fires muc-pre-set-affiliation first. A change without data keeps
-- the affiliation data, and a removal clears it. An occupant left without
-- a role leaves the room. Prosody admins are owners, as with
-- component_admins_as_room_owners.
local function new_room(world, node, host)
	local room = {
		jid = node.."@"..(host or muc_host),
		affiliations = {}, affiliation_data = {}, occupants = {},
		set_calls = {}, role_calls = {}, _data = {}, members_only = false, persistent = false,
	};

	function room:get_affiliation(jid)
		if admins[jid_bare(jid)] then
			return "owner";
		end
		return self.affiliations[jid_bare(jid)];
	end

	function room:get_affiliation_data(jid, key)
		local data = self.affiliation_data[jid];
		if data == nil or key == nil then
			return data;
		end
		return data[key];
	end

	function room:set_affiliation_data(jid, key, value)
		local data = self.affiliation_data[jid] or {};
		data[key] = value;
		self.affiliation_data[jid] = data;
		return true;
	end

	function room:get_persistent()
		return self.persistent;
	end

	function room:has_occupant()
		return next(self.occupants) ~= nil;
	end

	function room:get_occupant_jid(real_jid)
		for nick, occupant in pairs(self.occupants) do
			if occupant.sessions[real_jid] ~= nil then
				return nick;
			end
		end
		return nil;
	end

	function room:get_members_only()
		return self.members_only;
	end

	function room:get_default_role(affiliation)
		if affiliation == "owner" or affiliation == "admin" then
			return "moderator";
		elseif affiliation == "outcast" then
			return nil;
		elseif affiliation == "member" then
			return "participant";
		elseif self.members_only then
			return false;
		end
		return "participant";
	end

	function room:set_affiliation(actor, jid, affiliation, reason, data)
		if not actor then
			return nil, "modify", "not-acceptable";
		end
		jid = jid_bare(jid);
		affiliation = affiliation or "none";
		local previous = self.affiliations[jid] or "none";
		if actor ~= true then
			local actor_affiliation = self:get_affiliation(actor);
			if actor_affiliation ~= "owner" and (affiliation == "owner" or affiliation == "admin"
				or actor_affiliation ~= "admin" or previous == "owner" or previous == "admin") then
				return nil, "cancel", "not-allowed";
			end
		end

		local event = {
			room = self, actor = actor ~= true and actor or nil, jid = jid,
			affiliation = affiliation, previous_affiliation = previous, reason = reason, data = data,
		};
		world.fire("muc-pre-set-affiliation", event);
		if event.allowed == false then
			return nil, event.error.type, event.error.condition;
		end
		if affiliation ~= "none" and data == nil then
			data = event.data;
		end

		table.insert(self.set_calls, { actor = event.actor, jid = jid, affiliation = affiliation, reason = reason });
		self.affiliations[jid] = affiliation ~= "none" and affiliation or nil;
		if affiliation == "none" then
			self.affiliation_data[jid] = nil;
		elseif data ~= nil then
			self.affiliation_data[jid] = data;
		end
		for nick, occupant in pairs(self.occupants) do
			if occupant.bare_jid == jid then
				occupant.affiliation = affiliation;
				occupant.role = self:get_default_role(affiliation) or nil;
				if occupant.role == nil then
					self.occupants[nick] = nil;
					world.fire("muc-occupant-left", { room = self, nick = nick, occupant = occupant });
				end
			end
		end
		return true;
	end

	function room:get_occupant_by_nick(nick)
		return self.occupants[nick];
	end

	function room:set_role(actor, nick, role, reason)
		table.insert(self.role_calls, { actor = actor, nick = nick, role = role, reason = reason });
		local occupant = self.occupants[nick];
		if occupant == nil then
			return nil, "modify", "item-not-found";
		end
		if role == "none" then
			self.occupants[nick] = nil;
			world.fire("muc-occupant-left", { room = self, nick = nick, occupant = occupant });
		else
			occupant.role = role;
		end
		return true;
	end

	return room;
end

local user_counter = 0;

-- Creates a logged-in c2s session with `fields`, registered in Prosody's
-- bare_sessions and full_sessions under `full_jid` or a new JID.
local function new_user(world, fields, full_jid)
	user_counter = user_counter + 1;
	full_jid = full_jid or ("user%d@%s/res"):format(user_counter, domain);
	local session = { full_jid = full_jid, sent = {} };
	function session.send(stanza)
		table.insert(session.sent, stanza);
	end
	for name, value in pairs(fields or {}) do
		session[name] = value;
	end
	local bare = jid_bare(full_jid);
	world.prosody.bare_sessions[bare] = { sessions = { res = session } };
	world.prosody.full_sessions[full_jid] = session;
	return session;
end

local function token_user(world, moderator, claims)
	local merged = { room = "standup", sub = domain, exp = os.time() + 600 };
	for name, value in pairs(claims or {}) do
		merged[name] = value;
	end
	return new_user(world, {
		huddleup_claims = merged,
		huddleup_moderator = moderator,
		huddleup_room_required = true,
		huddleup_token_leeway = 0,
	});
end

local function moderator(world, claims)
	return token_user(world, true, claims);
end

local function member(world, claims)
	return token_user(world, false, claims);
end

local function guest(world)
	return new_user(world, { huddleup_guest = true, huddleup_moderator = false });
end

local function focus(world)
	admins[jid_bare(focus_jid)] = true;
	return new_user(world, {}, focus_jid);
end

-- Registers the hooks of Prosody's MUC that the module works with: the
-- creator grant, the members-only check and the ban check.
local function add_prosody_muc_hooks(world)
	world.module:hook("muc-room-pre-create", function(event)
		event.room:set_affiliation(true, jid_bare(event.stanza.attr.from), "owner");
	end, -1);
	world.module:hook("muc-occupant-pre-join", function(event)
		local room = event.room;
		local affiliation = room:get_affiliation(event.stanza.attr.from) or "none";
		if room:get_members_only() and affiliation_rank[affiliation] <= 0 then
			event.origin.send(st.error_reply(event.stanza, "auth", "registration-required", nil, room.jid));
			return true;
		end
	end, -5);
	world.module:hook("muc-occupant-pre-join", function(event)
		if event.room:get_affiliation(event.stanza.attr.from) == "outcast" then
			event.origin.send(st.error_reply(event.stanza, "auth", "forbidden", nil, event.room.jid));
			return true;
		end
	end, -10);
end

local function load_plugin(options, spec)
	spec = spec or {};
	local world = fake.load(plugin_path, {
		host = spec.host or muc_host;
		options = options;
		host_options = spec.host_options;
		api = spec.api;
		preload = {
			["huddleup.token"] = stub_hu_token;
			["core.usermanager"] = stub_usermanager;
			["core.modulemanager"] = stub_modulemanager;
		};
	});
	add_prosody_muc_hooks(world);
	return world;
end

local nick_counter = 0;

-- Sends a join presence from `session` to `room` as muc.lib.lua fires its
-- events, creating the room first when nobody is in it. Returns the
-- occupant, or nil and the error stanza when the join was rejected.
local function join(world, room, session)
	nick_counter = nick_counter + 1;
	local stanza = st.presence({ from = session.full_jid, to = room.jid.."/nick"..nick_counter })
		:tag("x", { xmlns = "http://jabber.org/protocol/muc" }):up();

	local is_new_room = next(room.occupants) == nil;
	if is_new_room then
		if world.fire("muc-room-pre-create", { room = room, origin = session, stanza = stanza }) then
			return nil, session.sent[#session.sent];
		end
	end

	local bare_jid = jid_bare(session.full_jid);
	local occupant = {
		bare_jid = bare_jid,
		nick = stanza.attr.to,
		role = room:get_default_role(room:get_affiliation(bare_jid)) or nil,
		sessions = { [session.full_jid] = stanza },
	};
	function occupant:get_presence(real_jid)
		return self.sessions[real_jid];
	end

	local event = {
		room = room, origin = session, stanza = stanza, occupant = occupant,
		is_first_session = true, is_new_room = is_new_room,
	};
	if world.fire("muc-occupant-pre-join", event) then
		return nil, session.sent[#session.sent];
	end
	occupant.affiliation = room:get_affiliation(bare_jid) or "none";
	room.occupants[occupant.nick] = occupant;
	world.fire("muc-occupant-joined", { room = room, nick = occupant.nick, occupant = occupant, origin = session });
	return occupant;
end

-- Sends the leave presence of `occupant`, with `status` when given, as
-- muc.lib.lua fires muc-occupant-left for it.
local function leave(world, room, occupant, status)
	local real_jid = next(occupant.sessions);
	local stanza = st.presence({ from = real_jid, to = occupant.nick, type = "unavailable" });
	if status then
		stanza:text_tag("status", status);
	end
	room.occupants[occupant.nick] = nil;
	world.fire("muc-occupant-left", { room = room, nick = occupant.nick, occupant = occupant, stanza = stanza });
end

-- Sends a muc#admin affiliation change from `actor` (a session) for the
-- user of `target` (a session). Returns what room:set_affiliation returns.
local function request_affiliation(room, actor, target, affiliation)
	return room:set_affiliation(actor.full_jid, jid_bare(target.full_jid), affiliation);
end

local function error_text(stanza)
	local error_tag = stanza:get_child("error");
	return error_tag:get_child_text("text", "urn:ietf:params:xml:ns:xmpp-stanzas");
end

local function error_condition(stanza)
	local error_tag = stanza:get_child("error");
	return error_tag.tags[1].name;
end

local function roles_of(occupant)
	return ("%s/%s"):format(occupant.affiliation, occupant.role or "none");
end

local function reset()
	admins = {};
	loaded_modules = {};
end

describe("mod_huddleup_moderation roles", function()
	local world, room;
	before_each(function()
		reset();
		world = load_plugin();
		room = new_room(world, "standup");
	end);

	it("makes a moderator joining an existing room owner", function()
		assert.truthy(join(world, room, member(world)));
		local occupant = join(world, room, moderator(world));
		assert.equal("owner/moderator", roles_of(occupant));
	end);

	it("makes a member joining an existing room member", function()
		join(world, room, moderator(world));
		local occupant = join(world, room, member(world));
		assert.equal("member/participant", roles_of(occupant));
	end);

	it("keeps a member creating the room member", function()
		local occupant = join(world, room, member(world));
		assert.equal("member/participant", roles_of(occupant));
		assert.matches("Vetoed grant without a moderator token", world.log_text("info"), 1, true);
	end);

	it("keeps a moderator creating the room owner", function()
		local occupant = join(world, room, moderator(world));
		assert.equal("owner/moderator", roles_of(occupant));
	end);

	it("lets a guest join without an affiliation", function()
		join(world, room, moderator(world));
		local occupant = join(world, room, guest(world));
		assert.equal("none/participant", roles_of(occupant));
	end);

	it("sets each affiliation once", function()
		join(world, room, moderator(world));
		assert.equal(1, #room.set_calls); -- Prosody's creator grant only
		join(world, room, member(world));
		assert.equal(2, #room.set_calls);
		assert.equal("member", room.set_calls[2].affiliation);
	end);

	it("lowers an owner affiliation without moderator token", function()
		join(world, room, moderator(world));
		local returning = member(world);
		room.affiliations[jid_bare(returning.full_jid)] = "owner";
		local occupant = join(world, room, returning);
		assert.equal("member/participant", roles_of(occupant));
	end);

	it("keeps a ban of a moderator token", function()
		join(world, room, moderator(world));
		local banned = moderator(world);
		room.affiliations[jid_bare(banned.full_jid)] = "outcast";
		local occupant, reply = join(world, room, banned);
		assert.is_nil(occupant);
		assert.equal("forbidden", error_condition(reply));
	end);
end);

describe("mod_huddleup_moderation owner lock", function()
	local world, room, owner, bob, owner_occupant;
	before_each(function()
		reset();
		world = load_plugin();
		room = new_room(world, "standup");
		owner = moderator(world);
		bob = member(world);
		owner_occupant = join(world, room, owner);
		join(world, room, bob);
	end);

	it("vetoes the focus granting owner to a member", function()
		local ok, err_type, condition = request_affiliation(room, focus(world), bob, "owner");
		assert.is_nil(ok);
		assert.equal("cancel", err_type);
		assert.equal("not-allowed", condition);
		assert.equal("member", room:get_affiliation(bob.full_jid));
	end);

	it("vetoes the focus granting admin to a member", function()
		assert.is_nil(request_affiliation(room, focus(world), bob, "admin"));
		assert.equal("member", room:get_affiliation(bob.full_jid));
	end);

	it("vetoes another module granting owner", function()
		local ok, _, condition = room:set_affiliation(true, jid_bare(bob.full_jid), "owner");
		assert.is_nil(ok);
		assert.equal("not-allowed", condition);
	end);

	it("vetoes owner for a guest", function()
		local visitor = guest(world);
		join(world, room, visitor);
		assert.is_nil(request_affiliation(room, focus(world), visitor, "owner"));
		assert.is_nil(room:get_affiliation(visitor.full_jid));
	end);

	it("logs the veto with the requester", function()
		request_affiliation(room, focus(world), bob, "owner");
		local info = world.log_text("info");
		assert.matches("Vetoed grant without a moderator token", info, 1, true);
		assert.matches(focus_jid, info, 1, true);
	end);

	it("lets anyone grant owner to a moderator token", function()
		local second = moderator(world);
		room.affiliations[jid_bare(second.full_jid)] = "member";
		assert.is_true(request_affiliation(room, focus(world), second, "owner"));
	end);

	it("lets a token owner grant owner to a member", function()
		assert.is_true(request_affiliation(room, owner, bob, "owner"));
		assert.equal("owner", room:get_affiliation(bob.full_jid));
		assert.equal(jid_bare(owner.full_jid), room:get_affiliation_data(jid_bare(bob.full_jid), "huddleup_granted_by"));
	end);

	it("vetoes a grant by an owner without moderator token", function()
		request_affiliation(room, owner, bob, "owner");
		local carol = member(world);
		join(world, room, carol);
		assert.is_nil(request_affiliation(room, bob, carol, "owner"));
	end);

	it("vetoes removing a token owner for another module", function()
		local ok, _, condition = room:set_affiliation(true, jid_bare(owner.full_jid), "member");
		assert.is_nil(ok);
		assert.equal("not-allowed", condition);
		assert.equal("owner", room:get_affiliation(owner.full_jid));
	end);

	it("refuses a member removing a token owner", function()
		assert.is_nil(request_affiliation(room, bob, owner, "member"));
		assert.equal("owner", room:get_affiliation(owner.full_jid));
	end);

	it("lets an owner remove a token owner", function()
		local second = moderator(world);
		join(world, room, second);
		assert.is_true(request_affiliation(room, owner, second, "member"));
	end);

	it("lets a token owner give up owner", function()
		local second = moderator(world);
		join(world, room, second);
		assert.is_true(request_affiliation(room, owner, owner, "member"));
	end);

	it("lets a token owner admit a member from the lobby", function()
		room.members_only = true;
		local waiting = member(world);
		assert.is_true(request_affiliation(room, owner, waiting, "member"));
		local occupant = join(world, room, waiting);
		assert.equal("member/participant", roles_of(occupant));
	end);

	it("leaves affiliations of admins alone", function()
		local agent = focus(world);
		assert.is_true(room:set_affiliation(true, jid_bare(agent.full_jid), "owner"));
	end);

	it("keeps a member after the last owner leaves", function()
		local agent = focus(world);
		leave(world, room, owner_occupant);
		assert.is_nil(request_affiliation(room, agent, bob, "owner"));
		assert.equal("member", room:get_affiliation(bob.full_jid));
	end);
end);

describe("mod_huddleup_moderation grants disabled", function()
	it("vetoes a token owner granting owner", function()
		reset();
		local world = load_plugin({ huddleup_moderation_allow_grant = false });
		local room = new_room(world, "standup");
		local owner, bob = moderator(world), member(world);
		join(world, room, owner);
		join(world, room, bob);

		assert.is_nil(request_affiliation(room, owner, bob, "owner"));
		assert.equal("member", room:get_affiliation(bob.full_jid));
		assert.matches("huddleup_moderation_allow_grant is false", world.log_text("info"), 1, true);
	end);
end);

describe("mod_huddleup_moderation rejoins", function()
	local world, room;
	before_each(function()
		reset();
		world = load_plugin();
		room = new_room(world, "standup");
		join(world, room, member(world));
	end);

	it("makes a reconnecting moderator owner again", function()
		local first = join(world, room, moderator(world));
		leave(world, room, first);
		local again = join(world, room, moderator(world));
		assert.equal("owner/moderator", roles_of(again));
	end);

	it("makes a promoted member reconnecting member", function()
		local owner, bob = moderator(world), member(world);
		join(world, room, owner);
		local first = join(world, room, bob);
		request_affiliation(room, owner, bob, "owner");
		leave(world, room, first);

		local again = join(world, room, member(world));
		assert.equal("member/participant", roles_of(again));
	end);

	it("keeps the grant of a promoted member rejoining with its JID", function()
		local owner, bob = moderator(world), member(world);
		join(world, room, owner);
		local first = join(world, room, bob);
		request_affiliation(room, owner, bob, "owner");
		leave(world, room, first);

		local again = join(world, room, bob);
		assert.equal("owner/moderator", roles_of(again));
	end);
end);

describe("mod_huddleup_moderation affiliations on leave", function()
	local world, room, owner;
	before_each(function()
		reset();
		world = load_plugin();
		room = new_room(world, "standup");
		owner = moderator(world);
		join(world, room, owner);
	end);

	local function affiliation_of(session)
		return room.affiliations[jid_bare(session.full_jid)];
	end

	it("removes a member grant", function()
		local bob = member(world);
		leave(world, room, join(world, room, bob));
		assert.is_nil(affiliation_of(bob));
		assert.is_nil(room.affiliation_data[jid_bare(bob.full_jid)]);
		local removal = room.set_calls[#room.set_calls];
		assert.equal(jid_bare(bob.full_jid), removal.jid);
		assert.equal("none", removal.affiliation);
		assert.is_nil(removal.actor);
	end);

	it("marks the grant with its affiliation", function()
		local bob = member(world);
		join(world, room, bob);
		assert.equal("member", room:get_affiliation_data(jid_bare(bob.full_jid), "huddleup_token_grant"));
	end);

	it("removes the owner grant of a moderator token", function()
		local ada = moderator(world);
		leave(world, room, join(world, room, ada));
		assert.is_nil(affiliation_of(ada));
		assert.same({}, world.metrics.owner_removals_vetoed.values);
		assert.not_matches("Vetoed", world.log_text("info"), 1, true);
	end);

	it("removes the owner affiliation of the room creator", function()
		local creator = moderator(world);
		local other = new_room(world, "standup");
		local creator_occupant = join(world, other, creator);
		join(world, other, member(world));
		assert.equal("owner", other:get_affiliation_data(jid_bare(creator.full_jid), "huddleup_token_grant"));
		leave(world, other, creator_occupant);
		assert.is_nil(other.affiliations[jid_bare(creator.full_jid)]);
	end);

	it("leaves no owner to promote after the last owner left", function()
		local bob = member(world);
		join(world, room, bob);
		for _, occupant in pairs(room.occupants) do
			if occupant.bare_jid == jid_bare(owner.full_jid) then
				leave(world, room, occupant);
			end
		end
		assert.is_nil(affiliation_of(owner));
		assert.is_nil(request_affiliation(room, focus(world), bob, "owner"));
		assert.equal("member", affiliation_of(bob));
	end);

	it("logs the removal", function()
		local bob = member(world);
		leave(world, room, join(world, room, bob));
		assert.matches(("Removed affiliation member of %s from %s after it left"):format(
			jid_bare(bob.full_jid), room.jid), world.log_text("info"), 1, true);
	end);

	it("leaves an affiliation an owner set", function()
		room.members_only = true;
		local bob = member(world);
		assert.is_true(request_affiliation(room, owner, bob, "member"));
		leave(world, room, join(world, room, bob));
		assert.equal("member", affiliation_of(bob));
	end);

	it("leaves a promotion by a token owner", function()
		local bob = member(world);
		local occupant = join(world, room, bob);
		assert.is_true(request_affiliation(room, owner, bob, "owner"));
		leave(world, room, occupant);
		assert.equal("owner", affiliation_of(bob));
	end);

	it("leaves a ban by a token owner", function()
		local bob = member(world);
		join(world, room, bob);
		assert.is_true(request_affiliation(room, owner, bob, "outcast"));
		assert.is_nil(room:get_occupant_jid(bob.full_jid));
		assert.equal("outcast", affiliation_of(bob));
	end);

	it("keeps the grant while another session is in the room", function()
		local bob = member(world);
		local second = {};
		for name, value in pairs(bob) do
			second[name] = value;
		end
		second.full_jid = jid_bare(bob.full_jid).."/second";
		world.prosody.bare_sessions[jid_bare(bob.full_jid)].sessions.second = second;

		local first_occupant = join(world, room, bob);
		local second_occupant = join(world, room, second);
		leave(world, room, first_occupant);
		assert.equal("member", affiliation_of(bob));
		leave(world, room, second_occupant);
		assert.is_nil(affiliation_of(bob));
	end);

	it("keeps the grant on a nick change", function()
		local bob = member(world);
		local occupant = join(world, room, bob);
		room.occupants[occupant.nick] = nil;
		local change = st.presence({ from = bob.full_jid, to = room.jid.."/bobby" });
		world.fire("muc-occupant-left", { room = room, nick = occupant.nick, occupant = occupant, stanza = change });
		assert.equal("member", affiliation_of(bob));
	end);

	it("removes the grant of a kicked occupant", function()
		local bob = member(world);
		local occupant = join(world, room, bob);
		assert.is_true(room:set_role(true, occupant.nick, "none"));
		assert.is_nil(affiliation_of(bob));
	end);

	it("skips the removal in a room that empties", function()
		local other = new_room(world, "standup");
		local ada = moderator(world);
		leave(world, other, join(world, other, ada));
		assert.equal(1, #other.set_calls); -- Prosody's creator grant only
	end);

	it("removes the grant in a persistent room that empties", function()
		local other = new_room(world, "standup");
		other.persistent = true;
		local ada = moderator(world);
		leave(world, other, join(world, other, ada));
		assert.is_nil(other.affiliations[jid_bare(ada.full_jid)]);
	end);

	it("skips a room being destroyed", function()
		local bob = member(world);
		local occupant = join(world, room, bob);
		room.destroying = true;
		leave(world, room, occupant);
		assert.equal("member", affiliation_of(bob));
	end);

	it("keeps the grant of a user moving to a breakout room", function()
		room._data.breakout_rooms = { ["0b3e9a2c@"..breakout_host] = "Breakout" };
		local bob = member(world);
		leave(world, room, join(world, room, bob), "switch_room");
		assert.equal("member", affiliation_of(bob));
	end);

	it("removes the grant on switch_room without breakout rooms", function()
		local bob = member(world);
		leave(world, room, join(world, room, bob), "switch_room");
		assert.is_nil(affiliation_of(bob));
	end);
end);

describe("mod_huddleup_moderation members-only rooms", function()
	local world, room;
	before_each(function()
		reset();
		world = load_plugin();
		room = new_room(world, "standup");
		join(world, room, moderator(world));
		room.members_only = true;
	end);

	it("admits a moderator token as owner", function()
		local occupant = join(world, room, moderator(world));
		assert.equal("owner/moderator", roles_of(occupant));
	end);

	it("makes a member token wait", function()
		local occupant, reply = join(world, room, member(world));
		assert.is_nil(occupant);
		assert.equal("registration-required", error_condition(reply));
	end);

	it("gives a waiting member token no affiliation", function()
		local bob = member(world);
		join(world, room, bob);
		assert.is_nil(room:get_affiliation(bob.full_jid));
	end);

	it("makes a guest wait", function()
		local occupant, reply = join(world, room, guest(world));
		assert.is_nil(occupant);
		assert.equal("registration-required", error_condition(reply));
	end);
end);

describe("mod_huddleup_moderation guests and room creation", function()
	before_each(reset);

	it("rejects a guest creating a room", function()
		local world = load_plugin();
		local occupant, reply = join(world, new_room(world, "standup"), guest(world));
		assert.is_nil(occupant);
		assert.equal("not-allowed", error_condition(reply));
		assert.equal("room-creation-restricted", error_text(reply));
	end);

	it("lets a guest create a room where creation is open", function()
		local world = load_plugin({ huddleup_moderation_restrict_room_creation = false });
		local occupant = join(world, new_room(world, "standup"), guest(world));
		assert.equal("none/participant", roles_of(occupant));
	end);

	it("rejects a session without token or guest login", function()
		local world = load_plugin();
		local occupant, reply = join(world, new_room(world, "standup"), new_user(world));
		assert.is_nil(occupant);
		assert.equal("token-required", error_text(reply));
	end);

	it("rejects a member creating a room that waits for a host", function()
		local world = load_plugin({ huddleup_moderation_wait_for_host = true });
		local occupant, reply = join(world, new_room(world, "standup"), member(world));
		assert.is_nil(occupant);
		assert.equal("not-allowed", error_condition(reply));
		assert.equal("waiting-for-host", error_text(reply));
	end);

	it("rejects a guest creating a room that waits for a host", function()
		local world = load_plugin({ huddleup_moderation_wait_for_host = true });
		local _, reply = join(world, new_room(world, "standup"), guest(world));
		assert.equal("waiting-for-host", error_text(reply));
	end);

	it("rejects a member before the host in a room the focus created", function()
		local world = load_plugin({ huddleup_moderation_wait_for_host = true });
		local room = new_room(world, "standup");
		assert.truthy(join(world, room, focus(world)));
		local occupant, reply = join(world, room, member(world));
		assert.is_nil(occupant);
		assert.equal("waiting-for-host", error_text(reply));
	end);

	it("admits a member after the host left", function()
		local world = load_plugin({ huddleup_moderation_wait_for_host = true });
		local room = new_room(world, "standup");
		join(world, room, focus(world));
		leave(world, room, join(world, room, moderator(world)));
		assert.equal("member/participant", roles_of(join(world, room, member(world))));
		assert.matches("Host .* arrived in standup@", world.log_text("info"));
	end);

	it("admits members once the host created the room", function()
		local world = load_plugin({ huddleup_moderation_wait_for_host = true });
		local room = new_room(world, "standup");
		assert.equal("owner/moderator", roles_of(join(world, room, moderator(world))));
		assert.equal("member/participant", roles_of(join(world, room, member(world))));
	end);
end);

describe("mod_huddleup_moderation room claim", function()
	local world;
	before_each(function()
		reset();
		world = load_plugin();
	end);

	local function try_join(claim, node)
		local session = member(world, { room = claim });
		return join(world, new_room(world, node), session);
	end

	it("rejects joining another room", function()
		local room = new_room(world, "standup");
		join(world, room, moderator(world));
		local occupant, reply = join(world, room, member(world, { room = "retro" }));
		assert.is_nil(occupant);
		assert.equal("not-allowed", error_condition(reply));
		assert.equal("room-mismatch", error_text(reply));
	end);

	it("rejects creating another room", function()
		local room = new_room(world, "retro");
		local occupant, reply = join(world, room, moderator(world));
		assert.is_nil(occupant);
		assert.equal("room-mismatch", error_text(reply));
		assert.same({}, room.set_calls);
	end);

	it("accepts the wildcard room claim", function()
		assert.truthy(try_join("*", "caf%c3%a9"));
	end);

	local matching = {
		{ "StandUp", "standup" },
		{ "Café-Ünïcode", "caf%c3%a9-%c3%bcn%c3%afcode" },
		{ "caf%C3%A9-%C3%9Cn%C3%AFcode", "caf%c3%a9-%c3%bcn%c3%afcode" },
		{ "café-ünïcode", "CAF%C3%89-%C3%9CN%C3%8FCODE" },
		{ "Планёрка", "%d0%bf%d0%bb%d0%b0%d0%bd%d1%91%d1%80%d0%ba%d0%b0" },
		{ "ПЛАНЁРКА", "%d0%bf%d0%bb%d0%b0%d0%bd%d1%91%d1%80%d0%ba%d0%b0" },
		{ "ΩΜΈΓΑ", "%cf%89%ce%bc%ce%ad%ce%b3%ce%b1" },
		{ "Ärger Team", "%c3%a4rger%20team" },
	};
	for _, case in ipairs(matching) do
		it(("matches claim %s with node %s"):format(case[1], case[2]), function()
			local occupant, reply = try_join(case[1], case[2]);
			assert.truthy(occupant, reply and error_text(reply));
		end);
	end

	local differing = {
		{ "Café", "cafe" },
		{ "Планёрка", "%d0%bf%d0%bb%d0%b0%d0%bd%d0%b5%d1%80%d0%ba%d0%b0" },
		{ "standup", "standup2" },
	};
	for _, case in ipairs(differing) do
		it(("rejects claim %s for node %s"):format(case[1], case[2]), function()
			local occupant, reply = try_join(case[1], case[2]);
			assert.is_nil(occupant);
			assert.equal("room-mismatch", error_text(reply));
		end);
	end

	it("compares invalid UTF-8 byte for byte", function()
		assert.truthy(try_join("x%FF", "x%ff"));
	end);

	it("rejects a room claim that is not a string", function()
		local occupant, reply = try_join({ "standup" }, "standup");
		assert.is_nil(occupant);
		assert.equal("room-mismatch", error_text(reply));
	end);

	it("rejects a token without room claim by default", function()
		local session = member(world);
		session.huddleup_claims.room = nil;
		local _, reply = join(world, new_room(world, "standup"), session);
		assert.equal("room-mismatch", error_text(reply));
	end);

	it("admits a token without room claim where none is required", function()
		local session = member(world);
		session.huddleup_claims.room = nil;
		session.huddleup_room_required = false;
		assert.truthy(join(world, new_room(world, "standup"), session));
	end);

	it("logs the rejected user and room", function()
		try_join("standup", "retro");
		local info = world.log_text("info");
		assert.matches("retro@"..muc_host, info, 1, true);
		assert.matches("room-mismatch", info, 1, true);
	end);
end);

describe("mod_huddleup_moderation tenants", function()
	before_each(reset);

	-- Joins `node` with a member token of `claims`, where sub = false
	-- stands for a token without sub.
	local function try_join(world, claims, node)
		local session = member(world, claims);
		if claims.sub == false then
			session.huddleup_claims.sub = nil;
		end
		return join(world, new_room(world, node), session);
	end

	describe("with domain verification", function()
		local world;
		before_each(function()
			world = load_plugin({ enable_domain_verification = true });
		end);

		local admitted = {
			{ { room = "standup", sub = "acme" }, "[acme]standup" },
			{ { room = "StandUp", sub = "ACME" }, "[acme]standup" },
			{ { room = "standup", sub = "*" }, "[acme]standup" },
			{ { room = "*", sub = "acme" }, "[acme]retro" },
			{ { room = "standup", sub = domain }, "standup" },
			{ { room = "standup", sub = "MEET.Jitsi.Test" }, "standup" },
		};
		for _, case in ipairs(admitted) do
			it(("admits sub %s to %s"):format(case[1].sub, case[2]), function()
				local occupant, reply = try_join(world, case[1], case[2]);
				assert.truthy(occupant, reply and error_text(reply));
			end);
		end

		local mismatched = {
			{ { room = "standup", sub = "other" }, "[acme]standup" },
			{ { room = "standup", sub = domain }, "[acme]standup" },
			{ { room = "standup", sub = "acme" }, "standup" },
			{ { room = "standup", sub = false }, "standup" },
		};
		for _, case in ipairs(mismatched) do
			it(("rejects sub %s for %s"):format(tostring(case[1].sub), case[2]), function()
				local occupant, reply = try_join(world, case[1], case[2]);
				assert.is_nil(occupant);
				assert.equal("tenant-mismatch", error_text(reply));
			end);
		end

		it("checks the room claim before the tenant", function()
			local _, reply = try_join(world, { room = "retro", sub = "other" }, "[acme]standup");
			assert.equal("room-mismatch", error_text(reply));
		end);
	end);

	it("takes the domain from muc_mapper_domain_base", function()
		local world = load_plugin({ enable_domain_verification = true, muc_mapper_domain_base = "meet.jitsi" });
		assert.truthy(try_join(world, { room = "standup", sub = "meet.jitsi" }, "standup"));
		local _, reply = try_join(world, { room = "standup", sub = domain }, "standup");
		assert.equal("tenant-mismatch", error_text(reply));
	end);

	it("verifies domains enabled on the token host", function()
		local world = load_plugin();
		local session = member(world, { room = "standup", sub = "other" });
		session.huddleup_domain_verification = true;
		local _, reply = join(world, new_room(world, "[acme]standup"), session);
		assert.equal("tenant-mismatch", error_text(reply));
	end);

	it("compares the whole node without domain verification", function()
		local world = load_plugin();
		local _, reply = try_join(world, { room = "standup", sub = "acme" }, "[acme]standup");
		assert.equal("room-mismatch", error_text(reply));
		assert.truthy(try_join(world, { room = "[acme]standup", sub = "other" }, "[acme]standup"));
	end);
end);

describe("mod_huddleup_moderation token expiry", function()
	before_each(reset);

	it("rejects joining with an expired token", function()
		local world = load_plugin();
		local _, reply = join(world, new_room(world, "standup"), member(world, { exp = os.time() - 5 }));
		assert.equal("not-allowed", error_condition(reply));
		assert.equal("token-expired", error_text(reply));
	end);

	it("applies the verifier leeway", function()
		local world = load_plugin();
		local session = member(world, { exp = os.time() - 5 });
		session.huddleup_token_leeway = 30;
		assert.truthy(join(world, new_room(world, "standup"), session));
	end);

	it("keeps occupants by default", function()
		local world = load_plugin();
		join(world, new_room(world, "standup"), moderator(world));
		assert.same({}, world.timers);
	end);

	it("rejects an unknown expiry policy", function()
		local ok, err = pcall(load_plugin, { huddleup_moderation_on_expiry = "warn" });
		assert.is_false(ok);
		assert.matches("huddleup_moderation_on_expiry must be one of keep, kick", err, 1, true);
	end);

	describe("with kick", function()
		local world, room;
		before_each(function()
			world = load_plugin({ huddleup_moderation_on_expiry = "kick" });
			room = new_room(world, "standup");
		end);

		it("schedules removal when the token expires", function()
			local session = moderator(world, { exp = os.time() + 120 });
			session.huddleup_token_leeway = 30;
			join(world, room, session);
			assert.equal(1, #world.timers);
			assert.is_true(math.abs(world.timers[1].delay - 150) <= 1);
		end);

		it("removes the occupant with the reason", function()
			local occupant = join(world, room, moderator(world, { exp = os.time() + 60 }));
			assert.equal(1, world.run_timers());
			assert.is_nil(room:get_occupant_by_nick(occupant.nick));
			local call = room.role_calls[1];
			assert.is_true(call.actor);
			assert.equal("none", call.role);
			assert.matches("token-expired", call.reason, 1, true);
		end);

		it("stops the timer when the occupant leaves", function()
			local occupant = join(world, room, member(world));
			join(world, room, moderator(world));
			leave(world, room, occupant);
			assert.is_true(world.timers[1].stopped);
		end);

		it("leaves a newer occupant of the nick alone", function()
			local occupant = join(world, room, member(world));
			room.occupants[occupant.nick].sessions = { ["other@"..domain.."/res"] = true };
			world.run_timers();
			assert.same({}, room.role_calls);
		end);

		it("stops the timers of a destroyed room", function()
			join(world, room, member(world));
			world.fire("muc-room-destroyed", { room = room });
			assert.is_true(world.timers[1].stopped);
		end);

		it("sets no timer for guests", function()
			join(world, room, moderator(world, { exp = os.time() + 600 }));
			join(world, room, guest(world));
			assert.equal(1, #world.timers);
		end);
	end);
end);

describe("mod_huddleup_moderation breakout rooms", function()
	local world, main_room;
	before_each(function()
		reset();
		world = load_plugin({ huddleup_moderation_main_muc = muc_host }, { host = breakout_host });
		main_room = new_room(world, "standup");
		local rooms = { [main_room.jid] = main_room };
		world.prosody.hosts[muc_host] = { modules = { muc = {
			get_room_from_jid = function(jid) return rooms[jid]; end;
			live_rooms = function()
				return coroutine.wrap(function()
					for _, room in pairs(rooms) do coroutine.yield(room); end
				end);
			end;
		} } };
	end);

	local function breakout_room(node)
		local room = new_room(world, node, breakout_host);
		main_room._data.breakout_rooms = main_room._data.breakout_rooms or {};
		main_room._data.breakout_rooms[room.jid] = "Breakout";
		return room;
	end

	it("maps a room named after the main room", function()
		local room = breakout_room("standup_0b3e9a2c-6f7d-4c1e-9a55-2f1d8e7c6b5a");
		assert.equal("owner/moderator", roles_of(join(world, room, moderator(world))));
		assert.equal("member/participant", roles_of(join(world, room, member(world))));
	end);

	it("maps a room with a random name", function()
		local room = breakout_room("0b3e9a2c-6f7d-4c1e-9a55-2f1d8e7c6b5a");
		assert.equal("owner/moderator", roles_of(join(world, room, moderator(world))));
	end);

	it("rejects a room that no main room lists", function()
		local _, reply = join(world, new_room(world, "standup_12ab", breakout_host), moderator(world));
		assert.equal("unknown-breakout-room", error_text(reply));
	end);

	it("rejects a token for another conference", function()
		local room = breakout_room("0b3e9a2c");
		local _, reply = join(world, room, moderator(world, { room = "retro" }));
		assert.equal("room-mismatch", error_text(reply));
	end);

	it("keeps a grant recorded in the main room", function()
		local owner, bob = moderator(world), member(world);
		local bob_jid = jid_bare(bob.full_jid);
		main_room.affiliations[bob_jid] = "owner";
		main_room.affiliation_data[bob_jid] = { huddleup_granted_by = jid_bare(owner.full_jid) };

		-- Jitsi's module makes breakout rooms read affiliations from the main room.
		local room = breakout_room("0b3e9a2c");
		function room:get_affiliation(jid)
			return main_room:get_affiliation(jid);
		end
		assert.equal("owner/moderator", roles_of(join(world, room, bob)));
	end);

	it("vetoes the focus granting owner to a member", function()
		local room = breakout_room("0b3e9a2c");
		local bob = member(world);
		join(world, room, moderator(world));
		join(world, room, bob);
		assert.is_nil(request_affiliation(room, focus(world), bob, "owner"));
	end);

	-- Joins a breakout room with a moderator token whose owner affiliation
	-- this module granted in the main room, where Jitsi's module makes the
	-- breakout room read it. Returns the session and its occupant.
	local function join_from_main_room(room)
		local ada = moderator(world);
		local ada_jid = jid_bare(ada.full_jid);
		main_room.affiliations[ada_jid] = "owner";
		main_room.affiliation_data[ada_jid] = { huddleup_token_grant = "owner" };
		function room:get_affiliation(jid)
			return main_room:get_affiliation(jid);
		end
		join(world, room, member(world));
		local occupant = join(world, room, ada);
		assert.equal("owner/moderator", roles_of(occupant));
		return ada, occupant;
	end

	it("removes the main room grant when its user leaves", function()
		local room = breakout_room("0b3e9a2c");
		local ada, occupant = join_from_main_room(room);
		leave(world, room, occupant);
		assert.is_nil(main_room.affiliations[jid_bare(ada.full_jid)]);
	end);

	it("keeps the main room grant of a user switching rooms", function()
		local room = breakout_room("0b3e9a2c");
		local ada, occupant = join_from_main_room(room);
		leave(world, room, occupant, "switch_room");
		assert.equal("owner", main_room.affiliations[jid_bare(ada.full_jid)]);
	end);
end);

describe("mod_huddleup_moderation breakout component detection", function()
	before_each(reset);

	local function ready_line(world)
		return world.log_text("info"):match("Moderation ready: [^\n]*");
	end

	it("takes the main MUC from Jitsi's VirtualHost options", function()
		local world = load_plugin(nil, {
			host = breakout_host;
			host_options = { [domain] = { main_muc = muc_host, breakout_rooms_muc = breakout_host } };
		});
		assert.matches("breakout rooms of "..muc_host, ready_line(world), 1, true);
	end);

	it("assumes Jitsi's default breakout component name", function()
		local world = load_plugin(nil, { host = breakout_host, host_options = { [domain] = { main_muc = muc_host } } });
		assert.matches("breakout rooms of "..muc_host, ready_line(world), 1, true);
	end);

	it("treats the main MUC as no breakout component", function()
		local world = load_plugin({ huddleup_moderation_main_muc = muc_host }, {
			host_options = { [domain] = { main_muc = muc_host } };
		});
		assert.not_matches("breakout rooms", ready_line(world), 1, true);
		assert.truthy(join(world, new_room(world, "standup"), moderator(world)));
	end);

	it("leaves other components alone", function()
		local world = load_plugin(nil, {
			host = "lobby."..domain;
			host_options = { [domain] = { main_muc = muc_host } };
		});
		assert.not_matches("breakout rooms", ready_line(world), 1, true);
	end);
end);

describe("mod_huddleup_moderation conflicting modules", function()
	before_each(reset);

	local function warnings_with(names, options)
		loaded_modules[muc_host] = {};
		for _, name in ipairs(names) do
			loaded_modules[muc_host][name] = true;
		end
		return load_plugin(options).log_text("warn");
	end

	for _, name in ipairs({ "muc_allowners", "token_affiliation", "token_moderation", "muc_wait_for_host" }) do
		it("warns about "..name, function()
			assert.matches("mod_"..name.." is loaded on "..muc_host, warnings_with({ name }), 1, true);
		end);
	end

	it("accepts muc_wait_for_host without auto owners", function()
		assert.equal("", warnings_with({ "muc_wait_for_host" }, { wait_for_host_disable_auto_owners = true }));
	end);

	it("ignores other modules", function()
		assert.equal("", warnings_with({ "muc_lobby_rooms", "token_verification" }));
	end);

	it("warns about a module loaded later", function()
		local world = load_plugin();
		world.fire("module-loaded", { module = "muc_allowners", host = muc_host });
		assert.matches("mod_muc_allowners is loaded", world.log_text("warn"), 1, true);
	end);
end);

describe("mod_huddleup_moderation admins", function()
	local world;
	before_each(function()
		reset();
		world = load_plugin();
	end);

	it("leaves an admin without token alone", function()
		local room = new_room(world, "standup");
		local occupant = join(world, room, focus(world));
		assert.truthy(occupant);
		assert.equal(1, #room.set_calls); -- Prosody's creator grant only
	end);

	it("does not grant an admin joining another room", function()
		local room = new_room(world, "standup");
		join(world, room, moderator(world));
		assert.truthy(join(world, room, focus(world)));
		assert.equal(1, #room.set_calls);
	end);
end);

describe("mod_huddleup_moderation on Prosody 13", function()
	before_each(reset);

	-- Prosody 13's permission check, answering for mod_muc's
	-- muc:automatic-ownership as for the prosody:admin role.
	local could_calls;
	local api = {
		could = function(_, action, jid)
			table.insert(could_calls, { action = action, jid = jid });
			return action == "muc:automatic-ownership" and jid == jid_bare(focus_jid);
		end;
		get_option_enum = function(self, name, default)
			return self:get_option(name, default);
		end;
	};

	it("finds admins through roles instead of usermanager", function()
		could_calls = {};
		local world = load_plugin(nil, { api = api });
		local room = new_room(world, "standup");
		join(world, room, moderator(world));
		local bob = member(world);
		join(world, room, bob);

		-- focus() also marks the focus user as admin for the room stand-in,
		-- which the module must not read.
		local agent = new_user(world, {}, focus_jid);
		assert.truthy(join(world, room, agent));
		assert.is_true(#could_calls > 0);
		assert.equal("muc:automatic-ownership", could_calls[1].action);
		assert.is_nil(request_affiliation(room, focus(world), bob, "owner"));
	end);

	it("reads the expiry policy with get_option_enum", function()
		local world = load_plugin({ huddleup_moderation_on_expiry = "kick" }, { api = api });
		join(world, new_room(world, "standup"), member(world));
		assert.equal(1, #world.timers);
	end);
end);

describe("mod_huddleup_moderation metrics", function()
	local world, room;
	before_each(function()
		reset();
		world = load_plugin();
		room = new_room(world, "standup");
	end);

	it("declares its counters with their labels", function()
		assert.same({ "affiliation", "by" }, world.metrics.owner_grants.label_keys);
		assert.same({ "affiliation", "reason" }, world.metrics.owner_grants_vetoed.label_keys);
		assert.same({}, world.metrics.owner_removals_vetoed.label_keys);
	end);

	it("counts owner granted at a moderator's join", function()
		join(world, room, member(world));
		join(world, room, moderator(world));
		assert.equal(1, world.metric_value("owner_grants", "owner", "moderator-token"));
	end);

	it("does not count the creator's owner affiliation", function()
		join(world, room, moderator(world));
		assert.same({}, world.metrics.owner_grants.values);
	end);

	it("does not count member affiliations", function()
		join(world, room, moderator(world));
		join(world, room, member(world));
		assert.same({}, world.metrics.owner_grants.values);
	end);

	it("counts a token owner's grants by affiliation", function()
		local owner, bob, carol = moderator(world), member(world), member(world);
		join(world, room, owner);
		join(world, room, bob);
		join(world, room, carol);
		assert.is_true(request_affiliation(room, owner, bob, "owner"));
		assert.is_true(request_affiliation(room, owner, carol, "admin"));
		assert.equal(1, world.metric_value("owner_grants", "owner", "token-owner"));
		assert.equal(1, world.metric_value("owner_grants", "admin", "token-owner"));
	end);

	it("counts vetoed grants by affiliation and reason", function()
		local bob = member(world);
		join(world, room, moderator(world));
		join(world, room, bob);
		request_affiliation(room, focus(world), bob, "owner");
		request_affiliation(room, focus(world), bob, "admin");
		request_affiliation(room, focus(world), bob, "owner");
		assert.equal(2, world.metric_value("owner_grants_vetoed", "owner", "no-moderator-token"));
		assert.equal(1, world.metric_value("owner_grants_vetoed", "admin", "no-moderator-token"));
		assert.same({}, world.metrics.owner_removals_vetoed.values);
	end);

	it("counts Prosody's creator grant to a member token as vetoed", function()
		join(world, room, member(world));
		assert.equal(1, world.metric_value("owner_grants_vetoed", "owner", "no-moderator-token"));
	end);

	it("counts grants vetoed because grants are disabled", function()
		world = load_plugin({ huddleup_moderation_allow_grant = false });
		room = new_room(world, "standup");
		local owner, bob = moderator(world), member(world);
		join(world, room, owner);
		join(world, room, bob);
		request_affiliation(room, owner, bob, "owner");
		assert.equal(1, world.metric_value("owner_grants_vetoed", "owner", "grants-disabled"));
	end);

	it("counts vetoed removals of a token owner", function()
		local owner = moderator(world);
		join(world, room, owner);
		join(world, room, member(world));
		-- Another module acting as the server; Prosody itself refuses a
		-- member's request before muc-pre-set-affiliation.
		room:set_affiliation(true, jid_bare(owner.full_jid), "member");
		assert.equal(1, world.metric_value("owner_removals_vetoed"));
		assert.same({}, world.metrics.owner_grants_vetoed.values);
	end);

	it("logs its version and the file it was loaded from", function()
		world = load_plugin(nil, { api = { path = "/opt/plugins/mod_huddleup_moderation.lua" } });
		local ready = world.log_text("info"):match("Moderation ready: [^\n]*");
		assert.matches("huddleup-token 0.1.0-stub", ready, 1, true);
		assert.matches("/opt/plugins/mod_huddleup_moderation.lua", ready, 1, true);
	end);
end);
