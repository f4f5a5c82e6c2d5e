#!/usr/bin/env node
// End-to-end test: a real Prosody (0.12 and 13) with mod_auth_huddleup_token
// and mod_huddleup_moderation, real strophe.js clients over WebSocket and
// BOSH, a focus user logged in as a Prosody admin, and tokens from the
// project's CLI.
//
//   node run.mjs --cli build/huddleup-token --lua-cpath build/lua [--prosody-versions 0.12,13]
//
// Prints one line per scenario, Prosody version and transport
// ("ok prosody-13.0.1 websocket NAME DETAIL" or "FAIL ..."), then
// "N passed, N failed". Exits 1 when a scenario fails or a Prosody cannot
// be started.

import { setTimeout as sleep } from 'node:timers/promises';

import { ScenarioFailure } from './lib/checks.mjs';
import { parseCommandLine, resolveProsody, withProsody } from './lib/harness.mjs';
import { AUTH_DOMAIN, DOMAIN, FOCUS_JID, GUEST_DOMAIN } from './lib/prosody.mjs';
import { connect, TRANSPORTS } from './lib/xmpp.mjs';
import conflicts from './scenarios/conflicts.mjs';
import expiry from './scenarios/expiry.mjs';
import guests from './scenarios/guests.mjs';
import lobby from './scenarios/lobby.mjs';
import ownership from './scenarios/ownership.mjs';
import rooms from './scenarios/rooms.mjs';
import tokens from './scenarios/tokens.mjs';

const scenarios = [...tokens, ...ownership, ...lobby, ...guests, ...rooms, ...expiry, ...conflicts];

// Prosody runs with huddleup_token_leeway = 0, so a token issued with
// --ttl 1 has expired once this much time has passed.
const EXPIRY_WAIT_MS = 2200;

// Returns the object a scenario runs with, for one transport. Clients it
// logs in are closed by closeAll().
function scenarioContext({ prosody, issue, issueWithOtherSecret, focusPassword, expiredTokens, issuedAt }, transport) {
  const clients = [];
  const keep = (client) => {
    clients.push(client);
    return client;
  };
  const login = async (token, { domain = DOMAIN, via = transport } = {}) => (
    keep(await connect({ transport: via, port: prosody.httpPort, domain, token }))
  );
  return {
    transport,
    issue,
    issueWithOtherSecret,
    login,
    roomName: (prefix) => `${prefix}-${transport}`,
    member: async (room, options = {}) => login(await issue({ room, name: 'Bob', ...options })),
    moderator: async (room, options = {}) => login(await issue({ room, name: 'Ada', moderator: true, ...options })),
    guest: () => login(undefined, { domain: GUEST_DOMAIN }),
    // Jicofo's connection: an account listed in admins, over WebSocket.
    focus: async () => keep(await connect({
      transport: 'websocket', port: prosody.httpPort, domain: AUTH_DOMAIN, jid: FOCUS_JID, password: focusPassword,
    })),
    expiredToken: async () => {
      await sleep(Math.max(0, issuedAt + EXPIRY_WAIT_MS - Date.now()));
      return expiredTokens.get(transport);
    },
    readLog: () => prosody.readLog(),
    closeAll: async () => {
      for (const client of clients.reverse()) await client.disconnect();
    },
  };
}

async function runScenarios(setup, only) {
  // Expired tokens are issued first so that the wait overlaps the other scenarios.
  const issuedAt = Date.now();
  const expiredTokens = new Map();
  for (const transport of TRANSPORTS) {
    expiredTokens.set(transport, await setup.issue({ room: `expired-${transport}`, ttl: 1 }));
  }

  const label = `prosody-${setup.prosody.version}`;
  let passed = 0;
  let failed = 0;
  for (const transport of TRANSPORTS) {
    for (const scenario of scenarios) {
      if (!scenario.transports.includes(transport) || !scenario.name.includes(only)) continue;
      const context = scenarioContext({ ...setup, expiredTokens, issuedAt }, transport);
      try {
        const detail = await scenario.run(context);
        console.log(`ok ${label} ${transport} ${scenario.name} ${detail}`);
        passed += 1;
      } catch (err) {
        console.log(`FAIL ${label} ${transport} ${scenario.name}: ${err.message}`);
        if (!(err instanceof ScenarioFailure)) console.error(err.stack);
        failed += 1;
      } finally {
        await context.closeAll();
      }
    }
  }
  if (failed > 0) {
    const log = await setup.prosody.readLog();
    console.error(`Prosody ${setup.prosody.version} log (last 40 lines):\n`
      + `${log.trimEnd().split('\n').slice(-40).join('\n')}`);
  }
  return { passed, failed };
}

const options = parseCommandLine(process.argv.slice(2));
let passed = 0;
let failed = 0;
let exitCode = 0;
for (const version of options.prosodyVersions) {
  try {
    const prosody = await resolveProsody(version, options);
    const result = await withProsody(options, prosody, (setup) => runScenarios(setup, options.only));
    passed += result.passed;
    failed += result.failed;
  } catch (err) {
    console.error(`End-to-end test could not run on Prosody ${version}: ${err.message}`);
    exitCode = 1;
  }
}
console.log(`${passed} passed, ${failed} failed`);
if (failed > 0) exitCode = 1;
// Idle HTTP agents of the BOSH clients would otherwise keep Node running.
process.exit(exitCode);
