// Modules that fight over affiliations, loaded on the same component:
// stand-ins for mod_muc_allowners, mod_token_affiliation,
// mod_token_moderation and mod_muc_wait_for_host (tests/e2e/fixtures).

import { expectRoles, expectRolesAfterRoundTrip, ScenarioFailure } from '../lib/checks.mjs';
import { CONFLICT_MUC_DOMAIN, FOCUS_JID } from '../lib/prosody.mjs';
import { bareJid } from '../lib/xmpp.mjs';

const CONFLICTING_MODULES = ['muc_allowners', 'token_affiliation', 'token_moderation', 'muc_wait_for_host'];

export default [
  {
    name: 'conflicting-modules-warned',
    transports: ['websocket'],
    async run(t) {
      const log = await t.readLog();
      for (const name of CONFLICTING_MODULES) {
        const warning = new RegExp(`warn\\s+mod_${name} is loaded on ${CONFLICT_MUC_DOMAIN.replaceAll('.', '\\.')}: `);
        if (!warning.test(log)) {
          throw new ScenarioFailure(`expected a warning about mod_${name} in the Prosody log`);
        }
      }

      const room = t.roomName('conflicts');
      const roomJid = `${room}@${CONFLICT_MUC_DOMAIN}`;
      const member = await t.member(room);
      const self = await member.join(roomJid, 'bob');
      const moderator = await t.moderator(room);
      expectRoles(await moderator.join(roomJid, 'ada'), 'owner/moderator', 'the moderator');
      const roles = await expectRolesAfterRoundTrip(member, self.occupantJid, 'member/participant',
        'the member, which muc_allowners and muc_wait_for_host make owner');

      // muc_allowners removes the affiliation of an occupant who leaves.
      await moderator.leave(roomJid, 'ada');
      const focus = await t.focus();
      const owners = await focus.affiliationList(roomJid, 'owner');
      if (!owners.includes(bareJid(moderator.jid))) {
        throw new ScenarioFailure(`expected ${bareJid(moderator.jid)} to stay owner after leaving, owners: ${owners}`);
      }
      return `4 warnings, member ${roles}, moderator kept owner after leaving (listed by ${FOCUS_JID})`;
    },
  },
];
