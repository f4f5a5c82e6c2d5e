// Affiliations tied to the occupant. A member token gets the member
// affiliation at its join, and loses it when the occupant leaves. So after
// many short visits, a room keeps only the affiliations of its occupants.

import { expectRoles, ScenarioFailure } from '../lib/checks.mjs';
import { MUC_DOMAIN } from '../lib/prosody.mjs';
import { bareJid } from '../lib/xmpp.mjs';

// Member-token visits to the room, and how many log in at the same time.
const VISITS = 20;
const BATCH_SIZE = 5;

// Checks that the bare JIDs in `actual` are those in `expected`, in any
// order. The failure names the JIDs that are extra or missing.
function expectJids(actual, expected, what) {
  const extra = actual.filter((jid) => !expected.includes(jid));
  const missing = expected.filter((jid) => !actual.includes(jid));
  if (extra.length > 0 || missing.length > 0 || actual.length !== expected.length) {
    throw new ScenarioFailure(`expected ${what} to list ${expected.length} occupant JIDs, got `
      + `${actual.length}: ${extra.length} extra [${extra.join(', ')}], missing [${missing.join(', ')}]`);
  }
}

export default [
  {
    name: 'affiliations-cleared-on-leave',
    transports: ['websocket'],
    async run(t) {
      const room = t.roomName('visits');
      const roomJid = `${room}@${MUC_DOMAIN}`;
      const owner = await t.moderator(room);
      await owner.join(roomJid, 'ada');
      const memberToken = await t.issue({ room, name: 'Bob' });
      const staying = await t.login(memberToken);
      await staying.join(roomJid, 'stays');

      // Every login gets a new JID. Half of the visitors send a leave
      // presence, the others close the connection, as a closed browser
      // tab does. The owner sees each occupant leave, after Prosody has
      // run its muc-occupant-left handlers.
      const visitors = [];
      for (let first = 0; first < VISITS; first += BATCH_SIZE) {
        const batch = [];
        for (let i = first; i < Math.min(first + BATCH_SIZE, VISITS); i += 1) {
          batch.push((async () => {
            const client = await t.login(memberToken);
            const nick = `visitor${i}`;
            expectRoles(await client.join(roomJid, nick), 'member/participant', `visitor ${i}`);
            visitors.push({ client, nick, jid: bareJid(client.jid) });
          })());
        }
        await Promise.all(batch);
      }
      const presentMembers = [bareJid(staying.jid), ...visitors.map((visitor) => visitor.jid)];
      expectJids(await owner.affiliationList(roomJid, 'member'), presentMembers, 'the members while every visitor is in');

      for (const [i, visitor] of visitors.entries()) {
        const occupantJid = `${roomJid}/${visitor.nick}`;
        const left = owner.waitForPresence((presence) => presence.getAttribute('from') === occupantJid
          && presence.getAttribute('type') === 'unavailable', `${visitor.nick} leaving, as the owner sees it`);
        if (i % 2 === 0) await visitor.client.leave(roomJid, visitor.nick);
        await visitor.client.disconnect();
        await left;
      }

      expectJids(await owner.affiliationList(roomJid, 'member'), [bareJid(staying.jid)],
        'the members after the visitors left');
      expectJids(await owner.affiliationList(roomJid, 'owner'), [bareJid(owner.jid)], 'the owners');
      return `${VISITS} visits left no affiliation behind; members [stays], owners [ada]`;
    },
  },
];
