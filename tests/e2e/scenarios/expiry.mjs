// Token expiry during a meeting: "keep" (the default) lets an occupant
// stay but gates joining, "kick" removes it when its token expires.

import { setTimeout as sleep } from 'node:timers/promises';

import {
  expectRejection, expectRoles, expectRolesAfterRoundTrip, ScenarioFailure,
} from '../lib/checks.mjs';
import { EXPIRY_MUC_DOMAIN, MUC_DOMAIN } from '../lib/prosody.mjs';
import { JoinError } from '../lib/xmpp.mjs';

// Prosody runs with huddleup_token_leeway = 0, so a token issued with this
// lifetime (in seconds) expires during the scenario.
const SHORT_TTL = 2;
const REMOVAL_TIMEOUT_MS = 6000;

export default [
  {
    name: 'expiry-kick-removes-occupant',
    transports: ['websocket'],
    async run(t) {
      const room = t.roomName('expiry-kick');
      const roomJid = `${room}@${EXPIRY_MUC_DOMAIN}`;
      const holder = await t.member(room);
      await holder.join(roomJid, 'holder');
      const issuedAt = Date.now();
      const moderator = await t.moderator(room, { ttl: SHORT_TTL });
      const self = await moderator.join(roomJid, 'ada');
      expectRoles(self, 'owner/moderator', 'the moderator with a short token');

      const { codes, reason } = await moderator.waitForRemoval(self.occupantJid, REMOVAL_TIMEOUT_MS);
      if (!codes.includes('307') || !reason.includes('token-expired')) {
        throw new ScenarioFailure(`expected a removal with status 307 and reason token-expired, got ${codes} (${reason})`);
      }
      const seconds = ((Date.now() - issuedAt) / 1000).toFixed(1);

      const again = await t.moderator(room);
      const againSelf = await again.join(roomJid, 'ada');
      expectRoles(againSelf, 'owner/moderator', 'the moderator with a new token');
      await sleep(1000);
      const roles = await expectRolesAfterRoundTrip(holder, againSelf.occupantJid, 'owner/moderator',
        'the moderator with a new token, as the holder sees it a second later');
      return `removed ${seconds} s after issue with 307 (${reason.split(':')[0]}), rejoined as ${roles}`;
    },
  },
  {
    name: 'expiry-keep-gates-joining',
    transports: ['websocket'],
    async run(t) {
      const room = t.roomName('expiry-keep');
      const roomJid = `${room}@${MUC_DOMAIN}`;
      const moderator = await t.moderator(room);
      await moderator.join(roomJid, 'ada');
      const member = await t.member(room, { ttl: SHORT_TTL });
      const self = await member.join(roomJid, 'bob');
      await sleep(SHORT_TTL * 1000 + 1200);

      const roles = await expectRolesAfterRoundTrip(moderator, self.occupantJid, 'member/participant',
        'the member after its token expired');
      await member.leave(roomJid, 'bob');
      const rejoin = await expectRejection(() => member.join(roomJid, 'bob'), JoinError, 'not-allowed', 'token-expired');
      return `stayed as ${roles} after expiry, rejoin ${rejoin}`;
    },
  },
];
