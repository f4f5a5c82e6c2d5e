// Logins and room claims, on both transports: the token path that Jitsi
// clients use over WebSocket and BOSH.

import { expectRejection, expectRoles } from '../lib/checks.mjs';
import { GUEST_DOMAIN, MUC_DOMAIN } from '../lib/prosody.mjs';
import { AuthError, JoinError, TRANSPORTS } from '../lib/xmpp.mjs';

export default [
  {
    name: 'member-creates-room',
    transports: TRANSPORTS,
    async run(t) {
      const room = t.roomName('member-creates');
      const member = await t.member(room);
      const self = await member.join(`${room}@${MUC_DOMAIN}`, 'bob');
      return expectRoles(self, 'member/participant', 'the member who created the room');
    },
  },
  {
    name: 'moderator-joins-room',
    transports: TRANSPORTS,
    async run(t) {
      const room = t.roomName('moderator-joins');
      const roomJid = `${room}@${MUC_DOMAIN}`;
      // A non-persistent room ends when its last occupant leaves, so the
      // creator stays until the moderator has joined.
      const creator = await t.member(room);
      await creator.join(roomJid, 'bob');
      const moderator = await t.moderator(room);
      const self = await moderator.join(roomJid, 'ada');
      await creator.discoInfo(roomJid);
      expectRoles(creator.viewOf(self.occupantJid), 'owner/moderator', 'the moderator, as the creator sees it');
      return expectRoles(self, 'owner/moderator', 'the moderator');
    },
  },
  {
    name: 'moderator-creates-room',
    transports: TRANSPORTS,
    async run(t) {
      const room = t.roomName('moderator-creates');
      const moderator = await t.moderator(room);
      const self = await moderator.join(`${room}@${MUC_DOMAIN}`, 'ada');
      return expectRoles(self, 'owner/moderator', 'the moderator who created the room');
    },
  },
  {
    name: 'wrong-room-new',
    transports: TRANSPORTS,
    async run(t) {
      const member = await t.member(t.roomName('granted'));
      return expectRejection(() => member.join(`${t.roomName('other')}@${MUC_DOMAIN}`, 'bob'),
        JoinError, 'not-allowed', 'room-mismatch');
    },
  },
  {
    name: 'wrong-room-existing',
    transports: TRANSPORTS,
    async run(t) {
      const room = t.roomName('existing');
      const roomJid = `${room}@${MUC_DOMAIN}`;
      const creator = await t.moderator(room);
      await creator.join(roomJid, 'ada');
      const intruder = await t.moderator(t.roomName('granted'));
      return expectRejection(() => intruder.join(roomJid, 'eve'), JoinError, 'not-allowed', 'room-mismatch');
    },
  },
  {
    name: 'wrong-signature',
    transports: TRANSPORTS,
    async run(t) {
      const token = await t.issueWithOtherSecret({ room: t.roomName('forged'), moderator: true });
      return expectRejection(() => t.login(token), AuthError, 'not-authorized', 'signature-mismatch');
    },
  },
  {
    name: 'expired-token',
    transports: TRANSPORTS,
    async run(t) {
      const token = await t.expiredToken();
      return expectRejection(() => t.login(token), AuthError, 'not-authorized', 'token-expired');
    },
  },
  {
    name: 'missing-token',
    transports: TRANSPORTS,
    async run(t) {
      return expectRejection(() => t.login(undefined), AuthError, 'not-authorized', 'missing-token');
    },
  },
  {
    name: 'guest-host-invalid-token',
    transports: TRANSPORTS,
    async run(t) {
      // allow_empty_token admits a missing token, never an invalid one.
      const token = await t.issueWithOtherSecret({ room: t.roomName('forged') });
      return expectRejection(() => t.login(token, { domain: GUEST_DOMAIN }),
        AuthError, 'not-authorized', 'signature-mismatch');
    },
  },
  {
    name: 'login-after-rejections',
    transports: TRANSPORTS,
    async run(t) {
      const room = t.roomName('after-rejections');
      const member = await t.member(room);
      const self = await member.join(`${room}@${MUC_DOMAIN}`, 'bob');
      return `logged in and joined as ${expectRoles(self, 'member/participant', 'the member')}`;
    },
  },
];
