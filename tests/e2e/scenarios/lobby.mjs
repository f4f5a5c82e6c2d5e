// Members-only rooms, which Jitsi's lobby is built on. Jitsi's lobby
// module is not available here, so the owner turns members-only on with
// the room configuration form and admits a member as a moderator does
// from the lobby: by granting the member affiliation.

import { expectIqResult, expectRejection, expectRoles } from '../lib/checks.mjs';
import { MUC_DOMAIN } from '../lib/prosody.mjs';
import { bareJid, JoinError } from '../lib/xmpp.mjs';

export default [
  {
    name: 'lobby-members-only',
    transports: ['websocket'],
    async run(t) {
      const room = t.roomName('lobby');
      const roomJid = `${room}@${MUC_DOMAIN}`;
      const owner = await t.moderator(room);
      await owner.join(roomJid, 'ada');
      expectIqResult(await owner.configureRoom(roomJid, { 'muc#roomconfig_membersonly': '1' }),
        'turning members-only on');

      const member = await t.member(room);
      const waiting = await expectRejection(() => member.join(roomJid, 'bob'), JoinError, 'registration-required');

      const moderator = await t.moderator(room);
      const second = expectRoles(await moderator.join(roomJid, 'cleo'), 'owner/moderator',
        'a moderator token entering the members-only room');

      expectIqResult(await owner.setAffiliation(roomJid, bareJid(member.jid), 'member'), 'admitting the member');
      const admitted = expectRoles(await member.join(roomJid, 'bob'), 'member/participant', 'the admitted member');
      return `member token ${waiting}, moderator token ${second}, admitted member ${admitted}`;
    },
  },
];
