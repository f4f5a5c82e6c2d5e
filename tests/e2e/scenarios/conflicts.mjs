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

      // muc_allowners removes the affiliation of an occupant who leaves,
      // before mod_huddleup_moderation does. The owner lock vetoes it while
      // the moderator token's session lasts, and then the module removes
      // the owner affiliation it granted itself.
      const moderatorJid = bareJid(moderator.jid);
      await moderator.leave(roomJid, 'ada');
      const focus = await t.focus();
      const owners = await focus.affiliationList(roomJid, 'owner');
      if (owners.includes(moderatorJid)) {
        throw new ScenarioFailure(`expected ${moderatorJid} to lose owner after leaving, owners: ${owners}`);
      }
      const vetoed = `No affiliation for ${moderatorJid} in ${roomJid} failed: cancel not-allowed`;
      if (!(await t.readLog()).includes(vetoed)) {
        throw new ScenarioFailure(`expected the log line "${vetoed}" from the muc_allowners stand-in`);
      }
      return `4 warnings, member ${roles}, muc_allowners' removal of the moderator vetoed, `
        + `owner removed by the module after leaving (listed by ${FOCUS_JID})`;
    },
  },
];
