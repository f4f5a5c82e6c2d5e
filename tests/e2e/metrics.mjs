#!/usr/bin/env node
// End-to-end test of the counters on Prosody's /metrics. A real Prosody (0.12
// and 13) runs mod_http_openmetrics with `statistics = "internal"` beside
// this project's modules. strophe.js clients log in over WebSocket and BOSH
// with tokens from the project's CLI, join a room, and request affiliation
// changes. Then the test scrapes http://127.0.0.1:PORT/metrics and compares
// every sample of the two modules' counters with the exact expected count.
// A host with a key folder and a key server on 127.0.0.1 (which responds
// 500 for one kid) drives the key fetch counters.
//
//   node metrics.mjs --cli build/huddleup-token --lua-cpath build/lua [--prosody-versions 0.12,13]
//
// Prints one line per step and per checked sample ("ok prosody-0.12.3 ..."
// or "FAIL ..."), then "N passed, N failed". Exits 1 when a check fails or
// a Prosody cannot be started.

import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { expectIqError, expectIqResult, expectRejection, expectRoles, ScenarioFailure } from './lib/checks.mjs';
import { parseCommandLine, resolveProsody, withProsody } from './lib/harness.mjs';
import { AUTH_DOMAIN, DOMAIN, FOCUS_JID, GUEST_DOMAIN, MUC_DOMAIN } from './lib/prosody.mjs';
import { AuthError, bareJid, connect } from './lib/xmpp.mjs';

const execFileAsync = promisify(execFile);

// The families of both modules, as mod_http_openmetrics renders them:
// "prosody_mod_" + module name + "__" + metric name, and "_total" on a
// counter's samples.
const AUTH_PREFIX = 'prosody_mod_auth_huddleup_token__';
const MODERATION_PREFIX = 'prosody_mod_huddleup_moderation__';

const KEYS_HOST = 'keys.meet.jitsi.test';
const KEYS_APP_ID = 'huddleup-metrics-e2e';

// Prosody 0.12 and 13 keep statistics only with a provider set. "manual"
// makes mod_http_openmetrics collect at each scrape instead of every 60 s.
const GLOBAL_CONFIG = `
statistics = "internal"
statistics_interval = "manual"
`;

function luaString(value) {
  return JSON.stringify(String(value));
}

function keysHostConfig({ keyDir, keyServerUrl }) {
  return `
-- Key fetch counters (tests/e2e/metrics.mjs).
VirtualHost ${luaString(KEYS_HOST)}
  authentication = "huddleup_token"
  app_id = ${luaString(KEYS_APP_ID)}
  huddleup_token_key_dir = ${luaString(keyDir)}
  asap_key_server = ${luaString(keyServerUrl)}
  huddleup_token_key_server_timeout = 2
  huddleup_token_key_server_retries = 0
`;
}

async function runCli(cliPath, args, env = {}) {
  try {
    const { stdout } = await execFileAsync(cliPath, args, { env: { ...process.env, ...env }, timeout: 10000 });
    return stdout.trimEnd();
  } catch (err) {
    throw new Error(`${cliPath} ${args.join(' ')} failed: ${err.stderr?.trim() || err.message}`);
  }
}

// A key server on 127.0.0.1: 200 with the PEM for the ASAP names in
// `files`, 500 for the names in `broken`, 404 for the others.
async function startKeyServer() {
  const files = new Map();
  const broken = new Set();
  const server = createServer((request, response) => {
    const name = path.basename(request.url);
    if (broken.has(name)) {
      response.writeHead(500, { 'Content-Type': 'text/plain' });
      response.end('server error\n');
    } else if (files.has(name)) {
      response.writeHead(200, { 'Content-Type': 'application/x-pem-file' });
      response.end(files.get(name));
    } else {
      response.writeHead(404, { 'Content-Type': 'text/plain' });
      response.end('not found\n');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/asap/`,
    files,
    broken,
    stop: () => new Promise((resolve) => {
      server.close(resolve);
      server.closeAllConnections();
    }),
  };
}

// Makes an ES256 key, puts its public key in the folder under kid
// "dir-ec" and on the key server under "srv-ec", and marks "srv-broken"
// as failing on the server. Returns { issue(kid) } for tokens of KEYS_HOST.
async function setUpKeys(cliPath, dir, keyDir, keyServer) {
  const privateKeyFile = path.join(dir, 'ec.pem');
  await execFileAsync('openssl',
    ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', privateKeyFile], { timeout: 30000 });
  const publicKey = `${await runCli(cliPath, ['key', '--private-key', privateKeyFile])}\n`;
  const asapName = (kid) => runCli(cliPath, ['key', '--kid', kid, '--format', 'asap-name']);

  await writeFile(path.join(keyDir, await asapName('dir-ec')), publicKey);
  keyServer.files.set(await asapName('srv-ec'), publicKey);
  keyServer.broken.add(await asapName('srv-broken'));

  return {
    issue: (kid) => runCli(cliPath, ['issue', '--room', 'lobby', '--name', 'Ada'], {
      HU_JITSI_HOST: 'http://127.0.0.1',
      HU_JITSI_JWT_ENABLED: 'true',
      HU_JITSI_JWT_APP_ID: KEYS_APP_ID,
      HU_JITSI_JWT_SECRET: '',
      HU_JITSI_JWT_PRIVATE_KEY_FILE: privateKeyFile,
      HU_JITSI_JWT_KID: kid,
      HU_JITSI_JWT_ALG: 'ES256',
    }),
  };
}

// Parses the OpenMetrics text into a Map from "name{key="value",...}"
// (labels sorted by key) to the sample's value, for the counter samples
// (ending in _total) of this project's modules.
function parseSamples(text) {
  const samples = new Map();
  for (const line of text.split('\n')) {
    if (!line.startsWith(AUTH_PREFIX) && !line.startsWith(MODERATION_PREFIX)) continue;
    const match = line.match(/^([A-Za-z0-9_]+)(?:\{(.*)\})? (\S+)$/);
    if (!match) throw new ScenarioFailure(`unexpected /metrics line: ${line}`);
    const [, name, labelText = '', value] = match;
    if (!name.endsWith('_total')) continue;
    const labels = [...labelText.matchAll(/([A-Za-z0-9_]+)="((?:[^"\\]|\\.)*)"/g)]
      .map(([, key, labelValue]) => [key, labelValue]);
    samples.set(sampleKey(name, Object.fromEntries(labels)), Number(value));
  }
  return samples;
}

function sampleKey(name, labels) {
  const sorted = Object.keys(labels).sort().map((key) => `${key}="${labels[key]}"`);
  return `${name}{${sorted.join(',')}}`;
}

async function scrape(port) {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10000) });
  const text = await response.text();
  if (response.status !== 200) {
    throw new ScenarioFailure(`GET /metrics returned ${response.status}: ${text.slice(0, 200)}`);
  }
  return text;
}

// The counts the steps below produce, as [name, labels, count].
const EXPECTED = [
  [`${AUTH_PREFIX}accepted_total`, { host: DOMAIN, kind: 'member' }, 1],
  [`${AUTH_PREFIX}accepted_total`, { host: DOMAIN, kind: 'moderator' }, 1],
  [`${AUTH_PREFIX}accepted_total`, { host: GUEST_DOMAIN, kind: 'guest' }, 1],
  [`${AUTH_PREFIX}accepted_total`, { host: KEYS_HOST, kind: 'member' }, 2],
  [`${AUTH_PREFIX}rejected_total`, { host: DOMAIN, reason: 'signature-mismatch' }, 1],
  [`${AUTH_PREFIX}rejected_total`, { host: DOMAIN, reason: 'missing-token' }, 1],
  [`${AUTH_PREFIX}rejected_total`, { host: DOMAIN, reason: 'invalid-encoding' }, 1],
  [`${AUTH_PREFIX}rejected_total`, { host: KEYS_HOST, reason: 'key-unavailable' }, 1],
  [`${AUTH_PREFIX}rejected_total`, { host: KEYS_HOST, reason: 'unknown-key' }, 1],
  [`${AUTH_PREFIX}key_fetches_total`, { host: KEYS_HOST, source: 'key-folder' }, 4],
  [`${AUTH_PREFIX}key_fetches_total`, { host: KEYS_HOST, source: 'key-server' }, 3],
  [`${AUTH_PREFIX}key_fetch_failures_total`, { host: KEYS_HOST, source: 'key-server' }, 1],
  [`${MODERATION_PREFIX}owner_grants_total`, { host: MUC_DOMAIN, affiliation: 'owner', by: 'moderator-token' }, 1],
  [`${MODERATION_PREFIX}owner_grants_total`, { host: MUC_DOMAIN, affiliation: 'admin', by: 'token-owner' }, 1],
  // Prosody's owner grant to the member who created the room, and the
  // focus's grant.
  [`${MODERATION_PREFIX}owner_grants_vetoed_total`,
    { host: MUC_DOMAIN, affiliation: 'owner', reason: 'no-moderator-token' }, 2],
];

// The counter families that must be declared on /metrics, even without a
// sample.
const FAMILIES = [
  `${AUTH_PREFIX}accepted`, `${AUTH_PREFIX}rejected`, `${AUTH_PREFIX}key_fetches`,
  `${AUTH_PREFIX}key_fetch_failures`, `${MODERATION_PREFIX}owner_grants`,
  `${MODERATION_PREFIX}owner_grants_vetoed`, `${MODERATION_PREFIX}owner_removals_vetoed`,
];

// Logs in, joins and requests changes so that the counters reach EXPECTED.
// Returns [step name, detail] pairs. `clients` collects every client for
// the caller to close.
async function runSteps({ prosody, issue, issueWithOtherSecret, focusPassword }, keys, clients) {
  const port = prosody.httpPort;
  const login = async (options) => {
    const client = await connect({ port, ...options });
    clients.push(client);
    return client;
  };
  const steps = [];
  const room = 'metrics-room';
  const roomJid = `${room}@${MUC_DOMAIN}`;

  const member = await login({ transport: 'websocket', domain: DOMAIN, token: await issue({ room, name: 'Bob' }) });
  steps.push(['member-creates-room', expectRoles(await member.join(roomJid, 'bob'), 'member/participant', 'the member')]);

  const moderator = await login({
    transport: 'bosh', domain: DOMAIN, token: await issue({ room, name: 'Ada', moderator: true }),
  });
  steps.push(['moderator-joins-over-bosh',
    expectRoles(await moderator.join(roomJid, 'ada'), 'owner/moderator', 'the moderator')]);

  const focus = await login({ transport: 'websocket', domain: AUTH_DOMAIN, jid: FOCUS_JID, password: focusPassword });
  await focus.join(roomJid, 'focus');
  steps.push(['focus-grant-vetoed', expectIqError(await focus.setAffiliation(roomJid, bareJid(member.jid), 'owner'),
    'not-allowed', 'the focus granting owner to the member')]);
  expectIqResult(await moderator.setAffiliation(roomJid, bareJid(member.jid), 'admin'), 'the token owner granting admin');
  steps.push(['token-owner-grants-admin', 'granted']);

  const forged = await issueWithOtherSecret({ room });
  steps.push(['forged-token', await expectRejection(() => login({ transport: 'websocket', domain: DOMAIN, token: forged }),
    AuthError, 'not-authorized', 'signature-mismatch')]);
  steps.push(['missing-token', await expectRejection(() => login({ transport: 'bosh', domain: DOMAIN }),
    AuthError, 'not-authorized', 'missing-token')]);
  steps.push(['malformed-token', await expectRejection(
    () => login({ transport: 'websocket', domain: DOMAIN, token: 'not-a-token' }),
    AuthError, 'not-authorized', 'invalid-encoding')]);
  await login({ transport: 'websocket', domain: GUEST_DOMAIN });
  steps.push(['guest', 'logged in without a token']);

  // Each new kid is looked up in the folder first, then on the key server.
  await login({ transport: 'websocket', domain: KEYS_HOST, token: await keys.issue('dir-ec') });
  steps.push(['key-from-folder', 'logged in']);
  await login({ transport: 'bosh', domain: KEYS_HOST, token: await keys.issue('srv-ec') });
  steps.push(['key-from-server', 'logged in']);
  const brokenToken = await keys.issue('srv-broken');
  steps.push(['key-server-error', await expectRejection(
    () => login({ transport: 'websocket', domain: KEYS_HOST, token: brokenToken }),
    AuthError, 'not-authorized', 'key-unavailable')]);
  const unknownToken = await keys.issue('nobody');
  steps.push(['key-not-found', await expectRejection(
    () => login({ transport: 'websocket', domain: KEYS_HOST, token: unknownToken }),
    AuthError, 'not-authorized', 'unknown-key')]);
  return steps;
}

// Compares the scraped samples with EXPECTED. Returns [check name, error
// message or null] pairs: one per expected sample, one for any sample that
// EXPECTED lacks, one per family declaration.
function compareSamples(text) {
  const samples = parseSamples(text);
  const results = [];
  const expectedKeys = new Set();
  for (const [name, labels, count] of EXPECTED) {
    const key = sampleKey(name, labels);
    expectedKeys.add(key);
    const actual = samples.get(key);
    results.push([`${key} ${count}`, actual === count ? null : `expected ${count}, got ${actual ?? 'no sample'}`]);
  }
  const unexpected = [...samples.keys()].filter((key) => !expectedKeys.has(key));
  results.push(['no other samples', unexpected.length === 0 ? null
    : `unexpected samples: ${unexpected.map((key) => `${key} ${samples.get(key)}`).join('; ')}`]);
  for (const family of FAMILIES) {
    const declared = text.includes(`# TYPE ${family} counter\n`);
    results.push([`# TYPE ${family} counter`, declared ? null : 'not declared']);
  }
  return results;
}

async function runOnProsody(options, prosodyCommands) {
  let label = `prosody-${prosodyCommands.version}`;
  const dir = await mkdtemp(path.join(tmpdir(), 'huddleup-metrics-e2e-'));
  const keyDir = path.join(dir, 'asap');
  await mkdir(keyDir);
  const keyServer = await startKeyServer();
  const clients = [];
  let passed = 0;
  let failed = 0;
  const report = (name, error) => {
    if (error === null) {
      console.log(`ok ${label} ${name}`);
      passed += 1;
    } else {
      console.log(`FAIL ${label} ${name}: ${error}`);
      failed += 1;
    }
  };

  try {
    const keys = await setUpKeys(options.cliPath, dir, keyDir, keyServer);
    const prosodyOptions = {
      ...options,
      globalModules: ['http_openmetrics'],
      globalConfig: GLOBAL_CONFIG,
      extraConfig: keysHostConfig({ keyDir, keyServerUrl: keyServer.url }),
    };
    await withProsody(prosodyOptions, prosodyCommands, async (setup) => {
      label = `prosody-${setup.prosody.version}`;
      const before = parseSamples(await scrape(setup.prosody.httpPort));
      report('no samples before the steps', before.size === 0 ? null : `found ${[...before.keys()].join('; ')}`);
      try {
        for (const [name, detail] of await runSteps(setup, keys, clients)) report(`${name} ${detail}`, null);
      } catch (err) {
        report('steps', err.message);
        if (!(err instanceof ScenarioFailure)) console.error(err.stack);
        return;
      }
      for (const [name, error] of compareSamples(await scrape(setup.prosody.httpPort))) report(name, error);
      if (failed > 0) {
        const log = await setup.prosody.readLog();
        console.error(`Prosody log (last 40 lines):\n${log.trimEnd().split('\n').slice(-40).join('\n')}`);
      }
    });
  } finally {
    for (const client of clients.reverse()) await client.disconnect();
    await keyServer.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return { passed, failed };
}

const options = parseCommandLine(process.argv.slice(2));
let passed = 0;
let failed = 0;
let exitCode = 0;
for (const version of options.prosodyVersions) {
  try {
    const result = await runOnProsody(options, await resolveProsody(version, options));
    passed += result.passed;
    failed += result.failed;
  } catch (err) {
    console.error(`Metrics end-to-end test could not run on Prosody ${version}: ${err.message}`);
    exitCode = 1;
  }
}
console.log(`${passed} passed, ${failed} failed`);
if (failed > 0) exitCode = 1;
// Idle HTTP agents of the BOSH clients would otherwise keep Node running.
process.exit(exitCode);
