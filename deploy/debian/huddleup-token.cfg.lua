-- The lines huddleup-token needs in the Prosody config of a Debian
-- jitsi-meet install: /etc/prosody/conf.avail/meet.example.com.cfg.lua,
-- with meet.example.com replaced by the Jitsi domain.
--
-- Merge each block into the section of the same name in that file: change
-- the lines that are there and add the others. Then run
--   deploy/debian/check-config.sh /etc/prosody/conf.avail/meet.example.com.cfg.lua
-- and restart Prosody.

-- Global section, near the top of the file. Keep Jitsi's plugin folder and
-- add the folder that contains mod_auth_huddleup_token.lua. The one below is
-- where `cmake --install` puts it with the default prefix /usr/local. After
-- a LuaRocks install it is the tree's share/lua/5.4 folder.
plugin_paths = {
	"/usr/share/jitsi-meet/prosody-plugins/";
	"/usr/local/share/huddleup-token/prosody-modules";
}

VirtualHost "meet.example.com"
	-- Replaces authentication = "jitsi-anonymous" (or "token").
	authentication = "huddleup_token"
	-- The "iss" of HuddleUp's tokens: the backend's HU_JITSI_JWT_APP_ID.
	app_id = "huddleup"
	-- The backend's HU_JITSI_JWT_SECRET, at least 32 bytes, for example
	-- from `openssl rand -hex 32`. The module fails to load with this
	-- placeholder, which is too short.
	app_secret = "CHANGE-ME"
	-- false rejects every login without a token.
	allow_empty_token = false
	-- Optional: these are the defaults (the app_id, and "jitsi").
	asap_accepted_issuers = { "huddleup" }
	asap_accepted_audiences = { "jitsi" }

Component "conference.meet.example.com" "muc"
	-- Add "huddleup_moderation" to the list that is there, and remove
	-- "token_verification" if the jitsi-meet-tokens package added it:
	-- huddleup_moderation checks the token's room itself.
	modules_enabled = {
		"huddleup_moderation";
	}
