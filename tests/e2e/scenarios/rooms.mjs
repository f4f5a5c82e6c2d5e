// Room names as Jitsi web clients send them, and tenants with
// enable_domain_verification.

import { expectRejection, expectRoles, jitsiRoomNode } from '../lib/checks.mjs';
import { DOMAIN, MUC_DOMAIN, TENANT_MUC_DOMAIN } from '../lib/prosody.mjs';
import { JoinError } from '../lib/xmpp.mjs';

let joinCount = 0;

// Joins the room whose node is `node` on `domain` with a member token
// whose room claim is `claim` (and sub `sub` when given), under a nick of
// its own.
async function joinWithClaim(t, { claim, node, domain = MUC_DOMAIN, sub, foreign = false }) {
  joinCount += 1;
  const issue = foreign ? t.issueForeign : t.issue;
  const member = await t.login(await issue({ room: claim, name: 'Bob', sub }));
  return member.join(`${node}@${domain}`, `member${joinCount}`);
}

export default [
  {
    name: 'room-name-latin',
    transports: ['websocket'],
    async run(t) {
      const name = `Café-Ünïcode-${t.transport}`;
      const node = jitsiRoomNode(name);
      expectRoles(await joinWithClaim(t, { claim: name, node }), 'member/participant', `claim ${name} in ${node}`);
      // An already percent-encoded claim, as another issuer may write it.
      const encoded = encodeURIComponent(name);
      expectRoles(await joinWithClaim(t, { claim: encoded, node, foreign: true }), 'member/participant',
        `claim ${encoded} in ${node}`);
      return `claims ${name} and ${encoded} admitted to ${node}`;
    },
  },
  {
    name: 'room-name-cyrillic-greek',
    transports: ['websocket'],
    async run(t) {
      const cases = [['Планёрка', 'ПЛАНЁРКА'], ['Ωμέγα', 'ΩΜΈΓΑ']];
      for (const [name, claim] of cases) {
        const node = jitsiRoomNode(`${name}-${t.transport}`);
        expectRoles(await joinWithClaim(t, { claim: `${claim}-${t.transport}`, node }), 'member/participant',
          `claim ${claim} in ${node}`);
      }
      return 'uppercase Cyrillic and Greek claims admitted to the lowercased nodes';
    },
  },
  {
    name: 'room-name-wildcard',
    transports: ['websocket'],
    async run(t) {
      const node = jitsiRoomNode(`Ärger Team ${t.transport}`);
      return `claim * admitted to ${node} as ${expectRoles(await joinWithClaim(t, { claim: '*', node }),
        'member/participant', 'the member with claim *')}`;
    },
  },
  {
    name: 'room-name-mismatch',
    transports: ['websocket'],
    async run(t) {
      return expectRejection(() => joinWithClaim(t, { claim: `Café-${t.transport}`, node: `cafe-${t.transport}` }),
        JoinError, 'not-allowed', 'room-mismatch');
    },
  },
  {
    // An escape of an unreserved character is never decoded: the claim
    // w%65ekly names the room "w%65ekly", not the room "weekly".
    name: 'room-name-escape-not-decoded',
    transports: ['websocket'],
    async run(t) {
      const node = `weekly-${t.transport}`;
      await expectRejection(() => joinWithClaim(t, { claim: `w%65ekly-${t.transport}`, node, foreign: true }),
        JoinError, 'not-allowed', 'room-mismatch');
      return expectRejection(() => joinWithClaim(t, { claim: `w%65ekly-${t.transport}`, node }),
        JoinError, 'not-allowed', 'room-mismatch');
    },
  },
  {
    name: 'tenant-sub-matches',
    transports: ['websocket'],
    async run(t) {
      const room = t.roomName('standup');
      expectRoles(await joinWithClaim(t, { claim: room, node: `[acme]${room}`, domain: TENANT_MUC_DOMAIN, sub: 'ACME' }),
        'member/participant', 'sub ACME in tenant acme');
      expectRoles(await joinWithClaim(t, { claim: room, node: `[acme]${room}`, domain: TENANT_MUC_DOMAIN, sub: '*' }),
        'member/participant', 'sub * in tenant acme');
      expectRoles(await joinWithClaim(t, { claim: room, node: room, domain: TENANT_MUC_DOMAIN, sub: DOMAIN }),
        'member/participant', `sub ${DOMAIN} in a room without tenant`);
      return `subs ACME and * admitted to [acme]${room}, ${DOMAIN} to ${room}`;
    },
  },
  {
    name: 'tenant-sub-mismatch',
    transports: ['websocket'],
    async run(t) {
      const room = t.roomName('standup');
      const other = await expectRejection(() => joinWithClaim(t,
        { claim: room, node: `[acme]${room}`, domain: TENANT_MUC_DOMAIN, sub: 'other' }),
      JoinError, 'not-allowed', 'tenant-mismatch');
      await expectRejection(() => joinWithClaim(t,
        { claim: room, node: room, domain: TENANT_MUC_DOMAIN, sub: 'acme' }),
      JoinError, 'not-allowed', 'tenant-mismatch');
      return `sub other in tenant acme and sub acme without tenant ${other}`;
    },
  },
];
