// The owner lock, join order and rights that follow the token: who ends up
// owner when Jitsi's focus, a token owner or a participant requests it, in
// any join order, after reconnects and in breakout rooms.

import {
  expectIqError, expectIqResult, expectRejection, expectRoles, expectRolesAfterRoundTrip, ScenarioFailure,
} from '../lib/checks.mjs';
import { BREAKOUT_MUC_DOMAIN, MUC_DOMAIN, NO_GRANT_MUC_DOMAIN } from '../lib/prosody.mjs';
import { bareJid, formFieldValues, JoinError, TRANSPORTS } from '../lib/xmpp.mjs';

export default [
  {
    // Jicofo with enable-auto-owner grants owner to a participant when the
    // room has none: the focus joins first, then tries it.
    name: 'owner-lock-vetoes-focus-grant',
    transports: ['websocket'],
    async run(t) {
      const room = t.roomName('focus-grant');
      const roomJid = `${room}@${MUC_DOMAIN}`;
      const focus = await t.focus();
      await focus.join(roomJid, 'focus');
      const member = await t.member(room);
      const self = await member.join(roomJid, 'bob');

      const owner = expectIqError(await focus.setAffiliation(roomJid, bareJid(member.jid), 'owner'),
        'not-allowed', 'the focus granting owner');
      expectIqError(await focus.setAffiliation(roomJid, bareJid(member.jid), 'admin'),
        'not-allowed', 'the focus granting admin');
      await expectRolesAfterRoundTrip(focus, self.occupantJid, 'member/participant', 'the member, as the focus sees it');
      const roles = await expectRolesAfterRoundTrip(member, self.occupantJid, 'member/participant', 'the member');
      return `${roles} (owner and admin grants: ${owner})`;
    },
  },
  {
    // Jitsi's "Grant moderator" button sends the same muc#admin request.
    name: 'token-owner-grants-moderator',
    transports: ['websocket'],
    async run(t) {
      const room = t.roomName('owner-grants');
      const roomJid = `${room}@${MUC_DOMAIN}`;
      const moderator = await t.moderator(room);
      await moderator.join(roomJid, 'ada');
      const member = await t.member(room);
      const self = await member.join(roomJid, 'bob');

      expectIqResult(await moderator.setAffiliation(roomJid, bareJid(member.jid), 'owner'), 'the token owner granting owner');
      await expectRolesAfterRoundTrip(moderator, self.occupantJid, 'owner/moderator', 'the member, as the owner sees it');
      return expectRolesAfterRoundTrip(member, self.occupantJid, 'owner/moderator', 'the promoted member');
    },
  },
  {
    name: 'grant-disabled-vetoes-token-owner',
    transports: ['websocket'],
    async run(t) {
      const room = t.roomName('no-grant');
      const roomJid = `${room}@${NO_GRANT_MUC_DOMAIN}`;
      const moderator = await t.moderator(room);
      await moderator.join(roomJid, 'ada');
      const member = await t.member(room);
      const self = await member.join(roomJid, 'bob');

      const condition = expectIqError(await moderator.setAffiliation(roomJid, bareJid(member.jid), 'owner'),
        'not-allowed', 'the token owner granting owner with huddleup_moderation_allow_grant = false');
      const roles = await expectRolesAfterRoundTrip(member, self.occupantJid, 'member/participant', 'the member');
      return `${roles} (grant: ${condition})`;
    },
  },
  {
    name: 'owner-lock-keeps-token-owner',
    transports: ['websocket'],
    async run(t) {
      const room = t.roomName('keeps-owner');
      const roomJid = `${room}@${MUC_DOMAIN}`;
      const moderator = await t.moderator(room);
      const self = await moderator.join(roomJid, 'ada');
      const member = await t.member(room);
      await member.join(roomJid, 'bob');

      const condition = expectIqError(await member.setAffiliation(roomJid, bareJid(moderator.jid), 'member'),
        'not-allowed', 'a member removing the owner');
      const roles = await expectRolesAfterRoundTrip(moderator, self.occupantJid, 'owner/moderator', 'the moderator');
      return `${roles} (removal by a member: ${condition})`;
    },
  },
  {
    name: 'join-order-member-first',
    transports: ['websocket'],
    async run(t) {
      const room = t.roomName('member-first');
      const roomJid = `${room}@${MUC_DOMAIN}`;
      const member = await t.member(room);
      const self = await member.join(roomJid, 'bob');
      expectRoles(self, 'member/participant', 'the member who created the room');
      const focus = await t.focus();
      await focus.join(roomJid, 'focus');

      const moderator = await t.moderator(room);
      expectRoles(await moderator.join(roomJid, 'ada'), 'owner/moderator', 'the moderator who joined second');
      await expectRolesAfterRoundTrip(member, self.occupantJid, 'member/participant', 'the member after the moderator joined');

      await moderator.disconnect();
      // The room has no token owner left: jicofo with auto-owner would
      // now promote the member.
      const condition = expectIqError(await focus.setAffiliation(roomJid, bareJid(member.jid), 'owner'),
        'not-allowed', 'the focus promoting the member after the moderator left');
      const roles = await expectRolesAfterRoundTrip(member, self.occupantJid, 'member/participant',
        'the member after the moderator left');
      return `${roles} (auto-owner grant: ${condition})`;
    },
  },
  {
    // Every login gets a new JID, so owner comes from the token again.
    name: 'rights-follow-token-reconnect',
    transports: TRANSPORTS,
    async run(t) {
      const room = t.roomName('reconnect');
      const roomJid = `${room}@${MUC_DOMAIN}`;
      const holder = await t.member(room);
      await holder.join(roomJid, 'holder');

      const moderatorToken = await t.issue({ room, name: 'Ada', moderator: true });
      const memberToken = await t.issue({ room, name: 'Bob' });
      const moderator = await t.login(moderatorToken);
      await moderator.join(roomJid, 'ada');
      const member = await t.login(memberToken);
      await member.join(roomJid, 'bob');
      expectIqResult(await moderator.setAffiliation(roomJid, bareJid(member.jid), 'owner'), 'the token owner granting owner');

      await moderator.disconnect();
      await member.disconnect();
      const moderatorAgain = await t.login(moderatorToken);
      const adaAgain = expectRoles(await moderatorAgain.join(roomJid, 'ada'), 'owner/moderator',
        'the moderator after reconnecting');
      const memberAgain = await t.login(memberToken);
      const bobAgain = expectRoles(await memberAgain.join(roomJid, 'bob'), 'member/participant',
        'the promoted member after reconnecting');
      return `moderator ${adaAgain}, promoted member ${bobAgain} after reconnecting`;
    },
  },
  {
    // The breakout rooms component runs mod_huddleup_moderation with
    // huddleup_moderation_main_muc and a stand-in for Jitsi's
    // mod_muc_breakout_rooms (tests/e2e/fixtures).
    name: 'breakout-rooms-keep-rights',
    transports: ['websocket'],
    async run(t) {
      const room = t.roomName('breakout');
      const mainJid = `${room}@${MUC_DOMAIN}`;
      const focus = await t.focus();
      await focus.join(mainJid, 'focus');
      const member = await t.member(room);
      await member.join(mainJid, 'bob');
      const moderator = await t.moderator(room);
      await moderator.join(mainJid, 'ada');

      const breakouts = formFieldValues(await member.discoInfo(mainJid), 'huddleup-e2e#breakout_rooms');
      const namedAfterMain = breakouts.find((jid) => jid.startsWith(`${room}_`));
      const randomName = breakouts.find((jid) => !jid.startsWith(`${room}_`));
      if (!namedAfterMain || !randomName || !randomName.endsWith(`@${BREAKOUT_MUC_DOMAIN}`)) {
        throw new ScenarioFailure(`expected two breakout rooms of ${mainJid}, got ${JSON.stringify(breakouts)}`);
      }

      await moderator.leave(mainJid, 'ada', 'switch_room');
      expectRoles(await moderator.join(namedAfterMain, 'ada'), 'owner/moderator', 'the moderator in a breakout room');
      await member.leave(mainJid, 'bob', 'switch_room');
      const memberSelf = await member.join(namedAfterMain, 'bob');
      expectRoles(memberSelf, 'member/participant', 'the member in a breakout room');
      await focus.join(namedAfterMain, 'focus');
      expectIqError(await focus.setAffiliation(namedAfterMain, bareJid(member.jid), 'owner'),
        'not-allowed', 'the focus granting owner in a breakout room');
      await expectRolesAfterRoundTrip(member, memberSelf.occupantJid, 'member/participant',
        'the member after the focus grant in a breakout room');

      await moderator.leave(namedAfterMain, 'ada', 'switch_room');
      expectRoles(await moderator.join(randomName, 'ada'), 'owner/moderator',
        'the moderator in a breakout room with a random name');
      await moderator.leave(randomName, 'ada', 'switch_room');
      const back = expectRoles(await moderator.join(mainJid, 'ada'), 'owner/moderator',
        'the moderator back in the main room');
      return `moderator ${back} after two breakout rooms, member member/participant, focus grant vetoed`;
    },
  },
  {
    name: 'breakout-room-unknown-rejected',
    transports: ['websocket'],
    async run(t) {
      const room = t.roomName('breakout-unknown');
      const moderator = await t.moderator(room);
      return expectRejection(() => moderator.join(`${room}_0b3e9a2c@${BREAKOUT_MUC_DOMAIN}`, 'ada'),
        JoinError, 'not-allowed', 'unknown-breakout-room');
    },
  },
];
