#!/usr/bin/env node
// End-to-end test: a real Prosody (0.12 and 13) with mod_auth_huddleup_token
// and mod_huddleup_moderation, real strophe.js clients over WebSocket and
// BOSH, a focus user logged in as a Prosody admin, and tokens from the
// project's CLI.
//
//   node run.mjs --cli build/huddleup-token --lua-cpath build/lua [--prosody-versions 0.12,13]
//
// --plugin-dir and --lua-cpath may name an installed copy instead of the
// source tree, and --only token-path runs the scenarios of the token path
// only. The "loaded-copy" check reads the modules' load log lines and
// fails unless Prosody loaded both modules from --plugin-dir and
// huddleup/token.so from --lua-cpath, at the version of --cli.
//
// Prints one line per scenario, Prosody version and transport
// ("ok prosody-13.0.1 websocket NAME DETAIL" or "FAIL ..."), then
// "N passed, N failed". Exits 1 when a scenario fails or a Prosody cannot
// be started.

import { execFile } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import { ScenarioFailure } from './lib/checks.mjs';
import { parseCommandLine, resolveProsody, withProsody } from './lib/harness.mjs';
import { AUTH_DOMAIN, DOMAIN, FOCUS_JID, GUEST_DOMAIN } from './lib/prosody.mjs';
import { connect, TRANSPORTS } from './lib/xmpp.mjs';
import affiliations from './scenarios/affiliations.mjs';
import conflicts from './scenarios/conflicts.mjs';
import expiry from './scenarios/expiry.mjs';
import guests from './scenarios/guests.mjs';
import lobby from './scenarios/lobby.mjs';
import ownership from './scenarios/ownership.mjs';
import rooms from './scenarios/rooms.mjs';
import tokens from './scenarios/tokens.mjs';

const scenarios = [...tokens, ...ownership, ...lobby, ...guests, ...rooms, ...expiry, ...conflicts, ...affiliations];

// Named selections for --only; any other --only text selects the
// scenarios whose name contains it. token-path: a member creates a room, a
// moderator token joins it as owner, and tokens that are forged or missing
// are rejected.
const SCENARIO_GROUPS = {
  'token-path': ['member-creates-room', 'moderator-joins-room', 'wrong-signature', 'missing-token'],
};

function isSelected(scenario, only) {
  const group = SCENARIO_GROUPS[only];
  return group ? group.includes(scenario.name) : scenario.name.includes(only);
}

// Prosody runs with huddleup_token_leeway = 0, so a token issued with
// --ttl 1 has expired once this much time has passed.
const EXPIRY_WAIT_MS = 2200;

// Returns the object a scenario runs with, for one transport. Clients it
// logs in are closed by closeAll().
function scenarioContext({ prosody, issue, issueWithOtherSecret, issueForeign, focusPassword, expiredTokens, issuedAt }, transport) {
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
    issueForeign,
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

// Checks the load log lines of both modules on every host: the version is
// the one `cli --version` prints, the modules come from pluginDir and
// huddleup/token.so from luaCpathDir. Returns a description, or throws
// ScenarioFailure.
async function checkLoadedCopy(log, { cliPath, pluginDir, luaCpathDir }) {
  const { stdout } = await promisify(execFile)(cliPath, ['--version'], { timeout: 10000 });
  const version = stdout.trim().split(' ').pop();
  const authLines = [...log.matchAll(/Token authentication ready: huddleup-token (\S+) \((.+?), (.+?)\),/g)];
  const moderationLines = [...log.matchAll(/Moderation ready: huddleup-token (\S+) \((.+?)\),/g)];
  if (authLines.length === 0 || moderationLines.length === 0) {
    throw new ScenarioFailure('expected the load log lines of both modules with "huddleup-token VERSION (PATH"');
  }
  const loaded = [
    ...authLines.map((line) => ['mod_auth_huddleup_token', line[1], line[2], 'mod_auth_huddleup_token.lua']),
    ...authLines.map((line) => ['huddleup.token', line[1], line[3], null]),
    ...moderationLines.map((line) => ['mod_huddleup_moderation', line[1], line[2], 'mod_huddleup_moderation.lua']),
  ];
  for (const [what, loadedVersion, loadedPath, fileName] of loaded) {
    const expectedPath = fileName ? path.join(pluginDir, fileName) : path.join(luaCpathDir, 'huddleup', 'token.so');
    if (loadedVersion !== version) {
      throw new ScenarioFailure(`expected ${what} at version ${version} (${cliPath} --version), got ${loadedVersion}`);
    }
    if (path.resolve(loadedPath) !== expectedPath) {
      throw new ScenarioFailure(`expected ${what} to be loaded from ${expectedPath}, got ${loadedPath}`);
    }
  }
  return `huddleup-token ${version} on ${authLines.length} + ${moderationLines.length} hosts, `
    + `modules from ${pluginDir}, huddleup/token.so from ${luaCpathDir}`;
}

async function runScenarios(setup, options) {
  const { only } = options;
  if (!scenarios.some((scenario) => isSelected(scenario, only))) {
    throw new Error(`no scenario matches --only ${only}`);
  }
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
      if (!scenario.transports.includes(transport) || !isSelected(scenario, only)) continue;
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
  try {
    const detail = await checkLoadedCopy(await setup.prosody.readLog(), options);
    console.log(`ok ${label} loaded-copy ${detail}`);
    passed += 1;
  } catch (err) {
    console.log(`FAIL ${label} loaded-copy: ${err.message}`);
    failed += 1;
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
    const result = await withProsody(options, prosody, (setup) => runScenarios(setup, options));
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
