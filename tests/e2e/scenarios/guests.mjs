// Guests (no token, on a host with allow_empty_token) and who may create
// rooms.

import { expectIqError, expectRejection, expectRoles, expectRolesAfterRoundTrip } from '../lib/checks.mjs';
import { MUC_DOMAIN, OPEN_MUC_DOMAIN, WAIT_MUC_DOMAIN } from '../lib/prosody.mjs';
import { bareJid, JoinError, TRANSPORTS } from '../lib/xmpp.mjs';

export default [
  {
    name: 'guest-joins-as-participant',
    transports: ['websocket'],
    async run(t) {
      const room = t.roomName('guest-joins');
      const roomJid = `${room}@${MUC_DOMAIN}`;
      const moderator = await t.moderator(room);
      await moderator.join(roomJid, 'ada');
      const guest = await t.guest();
      const self = await guest.join(roomJid, 'guest');
      expectRoles(self, 'none/participant', 'the guest');

      const focus = await t.focus();
      await focus.join(roomJid, 'focus');
      const condition = expectIqError(await focus.setAffiliation(roomJid, bareJid(guest.jid), 'owner'),
        'not-allowed', 'the focus granting owner to the guest');
      const roles = await expectRolesAfterRoundTrip(guest, self.occupantJid, 'none/participant', 'the guest');
      return `${roles} (owner grant: ${condition})`;
    },
  },
  {
    name: 'guest-cannot-create-room',
    transports: TRANSPORTS,
    async run(t) {
      const guest = await t.guest();
      return expectRejection(() => guest.join(`${t.roomName('guest-creates')}@${MUC_DOMAIN}`, 'guest'),
        JoinError, 'not-allowed', 'room-creation-restricted');
    },
  },
  {
    name: 'guest-creates-room-where-allowed',
    transports: ['websocket'],
    async run(t) {
      const guest = await t.guest();
      const self = await guest.join(`${t.roomName('guest-open')}@${OPEN_MUC_DOMAIN}`, 'guest');
      return expectRoles(self, 'none/participant', 'the guest who created the room');
    },
  },
  {
    // In Jitsi the focus creates the room before any participant joins.
    name: 'wait-for-host-rejects-before-host',
    transports: ['websocket'],
    async run(t) {
      const created = t.roomName('wait-created');
      const member = await t.member(created);
      const creation = await expectRejection(() => member.join(`${created}@${WAIT_MUC_DOMAIN}`, 'bob'),
        JoinError, 'not-allowed', 'waiting-for-host');

      const room = t.roomName('wait-focus');
      const roomJid = `${room}@${WAIT_MUC_DOMAIN}`;
      const focus = await t.focus();
      await focus.join(roomJid, 'focus');
      const early = await t.member(room);
      await expectRejection(() => early.join(roomJid, 'bob'), JoinError, 'not-allowed', 'waiting-for-host');
      const guest = await t.guest();
      await expectRejection(() => guest.join(roomJid, 'guest'), JoinError, 'not-allowed', 'waiting-for-host');
      return `member creating a room and member and guest in the focus's room ${creation}`;
    },
  },
  {
    name: 'wait-for-host-admits-after-host',
    transports: ['websocket'],
    async run(t) {
      const room = t.roomName('wait-admits');
      const roomJid = `${room}@${WAIT_MUC_DOMAIN}`;
      const focus = await t.focus();
      await focus.join(roomJid, 'focus');
      const moderator = await t.moderator(room);
      expectRoles(await moderator.join(roomJid, 'ada'), 'owner/moderator', 'the host');
      await moderator.disconnect();
      // The conference stays open after the host left.
      const member = await t.member(room);
      const memberRoles = expectRoles(await member.join(roomJid, 'bob'), 'member/participant', 'the member');
      const guest = await t.guest();
      const guestRoles = expectRoles(await guest.join(roomJid, 'guest'), 'none/participant', 'the guest');
      return `after the host came and left: member ${memberRoles}, guest ${guestRoles}`;
    },
  },
];
