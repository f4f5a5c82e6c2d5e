#!/usr/bin/env node
// End-to-end test: a real Prosody with mod_auth_huddleup_token and
// mod_huddleup_moderation, real strophe.js clients over WebSocket and BOSH,
// and tokens from the project's CLI.
//
//   node run.mjs --cli build/huddleup-token --lua-cpath build/lua
//
// Prints one line per scenario and transport ("ok websocket ..." or
// "FAIL bosh ..."), then "N passed, N failed". Exits 1 when a scenario
// fails or Prosody cannot be started.

import { setTimeout as sleep } from 'node:timers/promises';

import { parseCommandLine, withProsody } from './lib/harness.mjs';
import { DOMAIN, GUEST_DOMAIN, MUC_DOMAIN } from './lib/prosody.mjs';
import { AuthError, connect, JoinError, TRANSPORTS } from './lib/xmpp.mjs';

// Prosody runs with huddleup_token_leeway = 0, so a token issued with
// --ttl 1 has expired once this much time has passed.
const EXPIRY_WAIT_MS = 2200;

class ScenarioFailure extends Error {}

function expectRoles(actual, expected, whose) {
  const got = `${actual?.affiliation}/${actual?.role}`;
  if (got !== expected) {
    throw new ScenarioFailure(`expected ${whose} to be ${expected}, got ${got}`);
  }
  return got;
}

// Runs `attempt` and checks that it rejects with `ErrorType` carrying
// `condition` and `text`. Returns a description of the rejection.
async function expectRejection(attempt, ErrorType, condition, text) {
  let result;
  try {
    result = await attempt();
  } catch (err) {
    if (!(err instanceof ErrorType)) throw err;
    if (err.condition !== condition || err.text !== text) {
      throw new ScenarioFailure(`expected ${condition} (${text}), got ${err.condition} (${err.text})`);
    }
    return `rejected ${condition} (${text})`;
  }
  await result?.disconnect?.();
  throw new ScenarioFailure(`expected rejection ${condition} (${text}), but it succeeded`);
}

// Each scenario takes the test context and a transport and returns the
// detail printed after "ok".
const scenarios = [
  ['member-creates-room', async ({ login, issue }, transport) => {
    const room = `member-creates-${transport}`;
    const member = await login(transport, await issue({ room, name: 'Bob' }));
    try {
      const self = await member.join(`${room}@${MUC_DOMAIN}`, 'bob');
      return expectRoles(self, 'member/participant', 'the member who created the room');
    } finally {
      await member.disconnect();
    }
  }],

  ['moderator-joins-room', async ({ login, issue }, transport) => {
    const room = `moderator-joins-${transport}`;
    const roomJid = `${room}@${MUC_DOMAIN}`;
    // A non-persistent room ends when its last occupant leaves, so the
    // creator stays until the moderator has joined.
    const creator = await login(transport, await issue({ room, name: 'Bob' }));
    try {
      await creator.join(roomJid, 'bob');
      const moderator = await login(transport, await issue({ room, name: 'Ada', moderator: true }));
      try {
        const self = await moderator.join(roomJid, 'ada');
        await creator.discoInfo(roomJid);
        expectRoles(creator.viewOf(self.occupantJid), 'owner/moderator', 'the moderator, as the creator sees it');
        return expectRoles(self, 'owner/moderator', 'the moderator');
      } finally {
        await moderator.disconnect();
      }
    } finally {
      await creator.disconnect();
    }
  }],

  ['moderator-creates-room', async ({ login, issue }, transport) => {
    const room = `moderator-creates-${transport}`;
    const moderator = await login(transport, await issue({ room, name: 'Ada', moderator: true }));
    try {
      const self = await moderator.join(`${room}@${MUC_DOMAIN}`, 'ada');
      return expectRoles(self, 'owner/moderator', 'the moderator who created the room');
    } finally {
      await moderator.disconnect();
    }
  }],

  ['guest-creates-room', async ({ login }, transport) => {
    const room = `guest-creates-${transport}`;
    const guest = await login(transport, undefined, GUEST_DOMAIN);
    try {
      const self = await guest.join(`${room}@${MUC_DOMAIN}`, 'guest');
      return expectRoles(self, 'none/participant', 'the guest who created the room');
    } finally {
      await guest.disconnect();
    }
  }],

  ['wrong-room-new', async ({ login, issue }, transport) => {
    const member = await login(transport, await issue({ room: `granted-${transport}`, name: 'Bob' }));
    try {
      return await expectRejection(() => member.join(`other-${transport}@${MUC_DOMAIN}`, 'bob'),
        JoinError, 'not-allowed', 'room-mismatch');
    } finally {
      await member.disconnect();
    }
  }],

  ['wrong-room-existing', async ({ login, issue }, transport) => {
    const room = `existing-${transport}`;
    const roomJid = `${room}@${MUC_DOMAIN}`;
    const creator = await login(transport, await issue({ room, name: 'Ada', moderator: true }));
    try {
      await creator.join(roomJid, 'ada');
      const intruder = await login(transport, await issue({ room: `granted-${transport}`, name: 'Eve', moderator: true }));
      try {
        return await expectRejection(() => intruder.join(roomJid, 'eve'), JoinError, 'not-allowed', 'room-mismatch');
      } finally {
        await intruder.disconnect();
      }
    } finally {
      await creator.disconnect();
    }
  }],

  ['wrong-signature', async ({ login, issueWithOtherSecret }, transport) => {
    const token = await issueWithOtherSecret({ room: `forged-${transport}`, moderator: true });
    return expectRejection(() => login(transport, token), AuthError, 'not-authorized', 'signature-mismatch');
  }],

  ['expired-token', async ({ login, expiredToken }, transport) => {
    const token = await expiredToken(transport);
    return expectRejection(() => login(transport, token), AuthError, 'not-authorized', 'token-expired');
  }],

  ['missing-token', async ({ login }, transport) => (
    expectRejection(() => login(transport, undefined), AuthError, 'not-authorized', 'missing-token')
  )],

  ['guest-host-invalid-token', async ({ login, issueWithOtherSecret }, transport) => {
    // allow_empty_token admits a missing token, never an invalid one.
    const token = await issueWithOtherSecret({ room: `forged-${transport}` });
    return expectRejection(() => login(transport, token, GUEST_DOMAIN), AuthError, 'not-authorized', 'signature-mismatch');
  }],

  ['login-after-rejections', async ({ login, issue }, transport) => {
    const room = `after-rejections-${transport}`;
    const member = await login(transport, await issue({ room, name: 'Bob' }));
    try {
      const self = await member.join(`${room}@${MUC_DOMAIN}`, 'bob');
      return `logged in and joined as ${expectRoles(self, 'member/participant', 'the member')}`;
    } finally {
      await member.disconnect();
    }
  }],
];

async function runScenarios({ prosody, issue, issueWithOtherSecret }) {
  // Expired tokens are issued first so that the wait overlaps the other scenarios.
  const issuedAt = Date.now();
  const expired = new Map();
  for (const transport of TRANSPORTS) {
    expired.set(transport, await issue({ room: `expired-${transport}`, ttl: 1 }));
  }
  const context = {
    issue,
    issueWithOtherSecret,
    login: (transport, token, domain = DOMAIN) => connect({ transport, port: prosody.httpPort, domain, token }),
    expiredToken: async (transport) => {
      await sleep(Math.max(0, issuedAt + EXPIRY_WAIT_MS - Date.now()));
      return expired.get(transport);
    },
  };

  let passed = 0;
  let failed = 0;
  for (const transport of TRANSPORTS) {
    for (const [name, scenario] of scenarios) {
      try {
        const detail = await scenario(context, transport);
        console.log(`ok ${transport} ${name} ${detail}`);
        passed += 1;
      } catch (err) {
        console.log(`FAIL ${transport} ${name}: ${err.message}`);
        if (!(err instanceof ScenarioFailure)) console.error(err.stack);
        failed += 1;
      }
    }
  }
  if (failed > 0) {
    const log = await prosody.readLog();
    console.error(`Prosody log (last 40 lines):\n${log.trimEnd().split('\n').slice(-40).join('\n')}`);
  }
  return { passed, failed };
}

const options = parseCommandLine(process.argv.slice(2));
let exitCode;
try {
  const { passed, failed } = await withProsody(options, runScenarios);
  console.log(`${passed} passed, ${failed} failed`);
  exitCode = failed === 0 ? 0 : 1;
} catch (err) {
  console.error(`End-to-end test could not run: ${err.message}`);
  exitCode = 1;
}
// Idle HTTP agents of the BOSH clients would otherwise keep Node running.
process.exit(exitCode);
