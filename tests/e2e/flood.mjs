#!/usr/bin/env node
// Flood test: a bounded flood of hostile login attempts against a real
// Prosody with mod_auth_huddleup_token and mod_huddleup_moderation on
// 127.0.0.1, over WebSocket and BOSH, then checks that Prosody still works
// and stayed within its memory, CPU and logging bounds.
//
//   node flood.mjs --cli build/huddleup-token --lua-cpath build/lua \
//     --shared-dir ../shared [--attempts 10000] [--prosody-versions 0.12,13]
//
// The attempts are every rejected case of the token cases file
// (cases/tokens.json under --shared-dir) and random garbage
// (lib/hostile-queries.mjs), 70% over WebSocket and 30% over BOSH, at most
// --concurrency in flight, after a warm-up of the same mix. Queries too
// large for Prosody's HTTP parser are sent separately, a few per transport.
//
// Prints the attempts per transport and outcome, Prosody's RSS after the
// warm-up and after the flood, its CPU use while idle, the log scan, one
// line per check ("ok prosody-0.12.3 NAME DETAIL" or "FAIL ..."), then
// "N passed, N failed". Exits 1 when a check fails or a Prosody cannot be
// started.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { expectRoles, ScenarioFailure } from './lib/checks.mjs';
import { parseCommandLine, resolveProsody } from './lib/harness.mjs';
import {
  buildPlan, expectedReasons, MAX_FLOOD_QUERY_BYTES, oversizedCases, readRejectedCases, tokenValues,
} from './lib/hostile-queries.mjs';
import { findLeaks, readRejections } from './lib/log-scan.mjs';
import { DOMAIN, MUC_DOMAIN, startProsody } from './lib/prosody.mjs';
import {
  agentPoster, boshAttempt, rawHttpRequest, rawPoster, websocketAttempt,
} from './lib/raw-login.mjs';
import { tokenIssuer } from './lib/tokens.mjs';
import { connect } from './lib/xmpp.mjs';

const APP_ID = 'huddleup-flood';
// A second host that verifies with the issuer and secret of most cases in
// the token cases file, so that those tokens reach the claim checks.
const CASES_DOMAIN = 'cases.meet.jitsi.test';

const WEBSOCKET_SHARE = 0.7;
const ATTEMPT_TIMEOUT_MS = 10000;

// Prosody keeps each closed session referenced by a timer: a c2s session
// until its c2s_timeout task runs (300 s by default), a BOSH session until
// its bosh_max_inactivity timer runs (60 s), in 0.12.3 and 13.0.1
// (mod_c2s.lua, mod_bosh.lua). With the defaults the RSS would measure that
// pile instead of the token path, so both are lowered, and the settle wait
// lets every timer of a phase run.
const C2S_TIMEOUT_S = 5;
const BOSH_MAX_INACTIVITY_S = 5;
const SETTLE_MS = (Math.max(C2S_TIMEOUT_S, BOSH_MAX_INACTIVITY_S) + 2) * 1000;

// Allowed RSS growth from after the warm-up to after the flood. Measured
// with this script on a 2-core Debian 12 machine, eight runs on Prosody
// 0.12.3 and 13.0.1 at 200 to 570 attempts/s: -0.3 to +6.3 MiB. The
// 5,000-attempt warm-up grows the Lua heap and the allocator's arenas to
// their working size first. The largest growth came with the highest
// rate, which sets how many closed sessions wait for their 5-s timers at
// once. 16 MiB leaves room for that and still fails when each attempt
// leaks about 1.7 KB or more.
const RSS_BOUND_KIB = 16 * 1024;

// Prosody's CPU use over IDLE_WINDOW_MS after the flood, as a share of one
// core. A spinning SASL loop uses 100%.
const IDLE_WINDOW_MS = 2000;
const IDLE_CPU_MAX = 0.05;

// Queries far beyond Prosody's 10 KiB request head limit.
const HUGE_QUERY_BYTES = 100 * 1024;
const HUGE_QUERY_TIMEOUT_MS = 5000;

const FLOOD_OPTIONS = {
  '--shared-dir': { key: 'sharedDir', help: 'folder that contains cases/tokens.json (default: SOURCE-DIR/../shared)' },
  '--attempts': { key: 'attempts', number: true, default: 10000, help: 'attempts of the flood (default: 10000)' },
  '--warmup': { key: 'warmup', number: true, default: 5000, help: 'attempts of the warm-up (default: 5000)' },
  '--concurrency': { key: 'concurrency', number: true, default: 20, help: 'attempts in flight (default: 20)' },
  '--time-limit': {
    key: 'timeLimitS', number: true, default: 240, help: 'seconds the flood may take before it stops and fails (default: 240)',
  },
};

// Takes the flood's own options out of `argv` and returns them with the
// remaining arguments, which the harness parses.
function parseFloodOptions(argv) {
  const values = {};
  const rest = [];
  for (const option of Object.values(FLOOD_OPTIONS)) {
    if (option.default !== undefined) values[option.key] = option.default;
  }
  for (let i = 0; i < argv.length; i += 1) {
    const option = FLOOD_OPTIONS[argv[i]];
    if (argv[i] === '--help') {
      console.log(`flood.mjs options:\n${Object.entries(FLOOD_OPTIONS)
        .map(([name, { help }]) => `  ${name.padEnd(24)}${help}`).join('\n')}\nand the options of run.mjs:`);
    }
    if (!option) {
      rest.push(argv[i]);
      continue;
    }
    const value = argv[i + 1];
    i += 1;
    if (value === undefined || (option.number && !(Number.isInteger(Number(value)) && Number(value) > 0))) {
      console.error(`invalid ${argv[i - 1]} ${value ?? ''}: expected ${option.number ? 'a positive integer' : 'a value'}`);
      process.exit(2);
    }
    values[option.key] = option.number ? Number(value) : value;
  }
  return { values, rest };
}

function hostsConfig({ appSecret, cases }) {
  const q = JSON.stringify;
  return `c2s_timeout = ${C2S_TIMEOUT_S}
bosh_max_inactivity = ${BOSH_MAX_INACTIVITY_S}

VirtualHost ${q(DOMAIN)}
  authentication = "huddleup_token"
  app_id = ${q(APP_ID)}
  app_secret = ${q(appSecret)}
  huddleup_token_leeway = 0

VirtualHost ${q(CASES_DOMAIN)}
  authentication = "huddleup_token"
  app_id = ${q(cases.appId)}
  app_secret = ${q(cases.secret)}

Component ${q(MUC_DOMAIN)} "muc"
  modules_enabled = { "huddleup_moderation" }
  muc_room_locking = false
`;
}

// --- Prosody's process, from /proc

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

async function readRssKib(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(status.match(/^VmRSS:\s+(\d+) kB/m)[1]);
}

// Returns the user and system CPU time of `pid`, in seconds.
async function readCpuSeconds(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name is in brackets and may contain spaces, so fields are
  // counted from the state (field 3). utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function boshAnswers(port) {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/http-bind`, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

// --- attempts

// Returns the key an outcome is counted under: the SASL failure text (the
// rejection reason), or the outcome kind.
function outcomeKey(outcome) {
  if (outcome.kind === 'failure') return outcome.text || outcome.condition;
  if (outcome.kind === 'http-error') return `http-${outcome.status}`;
  return outcome.kind;
}

// Counts of outcomes by transport and by family, and attempt durations
// (ms) by family.
class Tally {
  constructor() {
    this.byTransport = new Map();
    this.byFamily = new Map();
    this.times = new Map();
    this.failures = new Map();
  }

  add(entry) {
    const key = outcomeKey(entry.outcome);
    const family = entry.family.startsWith('case:') ? 'cases' : entry.family;
    for (const [map, group] of [[this.byTransport, entry.transport], [this.byFamily, family]]) {
      if (!map.has(group)) map.set(group, new Map());
      map.get(group).set(key, (map.get(group).get(key) ?? 0) + 1);
    }
    if (!this.times.has(family)) this.times.set(family, []);
    this.times.get(family).push(entry.ms);
    if (entry.outcome.kind === 'failure') this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
  }
}

function formatCounts(counts) {
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([key, count]) => `${key} ${count}`).join(', ');
}

function shuffle(list) {
  for (let i = list.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

// Returns the plan of one phase: `count` attempts, WEBSOCKET_SHARE of them
// over WebSocket, each transport's share starting with every case once,
// in random order.
function phasePlan(count, settings) {
  const websocketCount = Math.round(count * WEBSOCKET_SHARE);
  const websocket = buildPlan(websocketCount, settings).map((entry) => ({ ...entry, transport: 'websocket' }));
  const bosh = buildPlan(count - websocketCount, settings).map((entry) => ({ ...entry, transport: 'bosh' }));
  return shuffle([...websocket, ...bosh]);
}

// Runs `plan` with `concurrency` attempts in flight. Stops starting new
// attempts once `deadline` (ms since the epoch) has passed. Sets each
// finished entry's outcome and returns the number of finished entries.
async function runPlan(plan, { concurrency, deadline, attempt }) {
  let next = 0;
  let finished = 0;
  const worker = async () => {
    while (next < plan.length && Date.now() < deadline) {
      const entry = plan[next];
      next += 1;
      const attemptStarted = Date.now();
      entry.outcome = await attempt(entry);
      entry.ms = Date.now() - attemptStarted;
      finished += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return finished;
}

// --- one Prosody version

async function floodProsody(prosodySetup, options) {
  const label = `prosody-${prosodySetup.version}`;
  const results = [];
  const check = (name, ok, detail) => {
    results.push(ok);
    console.log(ok ? `ok ${label} ${name} ${detail}` : `FAIL ${label} ${name}: ${detail}`);
  };

  const cases = await readRejectedCases(path.join(options.sharedDir, 'cases', 'tokens.json'));
  const appSecret = randomBytes(32).toString('hex');
  const prosody = await startProsody({
    ...options,
    appId: APP_ID,
    appSecret,
    prosodyCommand: prosodySetup.prosodyCommand,
    prosodyctlCommand: prosodySetup.prosodyctlCommand,
    hostsConfig: hostsConfig({ appSecret, cases }),
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const post = agentPoster(agent, prosody.httpPort);
  const attempt = (entry) => (entry.transport === 'websocket'
    ? websocketAttempt({ port: prosody.httpPort, query: entry.query, domain: entry.domain, timeoutMs: ATTEMPT_TIMEOUT_MS })
    : boshAttempt({ post: entry.post ?? post, query: entry.query, domain: entry.domain, timeoutMs: ATTEMPT_TIMEOUT_MS }));
  const settings = { domain: DOMAIN, casesDomain: CASES_DOMAIN, appId: APP_ID, appSecret, cases: cases.cases };
  const allEntries = [];
  const issuedTokens = [];

  try {
    console.log(`${label}: Prosody ${prosody.pid} on 127.0.0.1:${prosody.httpPort}, ${cases.cases.length} rejected cases, `
      + `${options.warmup} warm-up and ${options.attempts} flood attempts, ${options.concurrency} in flight`);

    // Warm-up, then the RSS baseline once its sessions are gone.
    const warmup = phasePlan(options.warmup, settings);
    await runPlan(warmup, { concurrency: options.concurrency, deadline: Infinity, attempt });
    allEntries.push(...warmup);
    await sleep(SETTLE_MS);
    const rssWarm = await readRssKib(prosody.pid);

    // The flood.
    const plan = phasePlan(options.attempts, settings);
    const cpuBefore = await readCpuSeconds(prosody.pid);
    const clientCpuBefore = process.cpuUsage();
    const started = Date.now();
    const finished = await runPlan(plan, {
      concurrency: options.concurrency, deadline: started + options.timeLimitS * 1000, attempt,
    });
    const seconds = (Date.now() - started) / 1000;
    const cpuSeconds = (await readCpuSeconds(prosody.pid)) - cpuBefore;
    const clientCpu = process.cpuUsage(clientCpuBefore);
    const clientCpuSeconds = (clientCpu.user + clientCpu.system) / 1e6;
    const flooded = plan.slice(0, finished);
    allEntries.push(...flooded);
    const flood = new Tally();
    for (const entry of flooded) flood.add(entry);

    console.log(`${label}: flood of ${finished} attempts in ${seconds.toFixed(1)} s (${(finished / seconds).toFixed(0)}/s), `
      + `Prosody CPU ${cpuSeconds.toFixed(1)} s (${((cpuSeconds * 1000) / finished).toFixed(2)} ms per attempt), `
      + `client CPU ${clientCpuSeconds.toFixed(1)} s`);
    for (const [transport, counts] of flood.byTransport) {
      const total = [...counts.values()].reduce((sum, count) => sum + count, 0);
      console.log(`${label}:   ${transport} ${total}: ${formatCounts(counts)}`);
    }
    console.log(`${label}: outcomes by family:`);
    for (const [family, counts] of [...flood.byFamily.entries()].sort()) {
      const times = flood.times.get(family).sort((a, b) => a - b);
      console.log(`${label}:   ${family}: ${formatCounts(counts)}; median ${times[times.length >> 1]} ms, `
        + `max ${times[times.length - 1]} ms`);
    }

    check('flood-time', finished === plan.length,
      `${finished} of ${plan.length} attempts in ${seconds.toFixed(1)} s (limit ${options.timeLimitS} s)`);
    const successes = flooded.filter((entry) => entry.outcome.kind === 'success').length;
    check('no-hostile-login', successes === 0, `${successes} hostile attempts logged in`);
    const unexpected = flooded.filter((entry) => entry.outcome.kind === 'failure'
      && !(expectedReasons(entry.family)?.includes(entry.outcome.text) ?? true));
    check('family-reasons', unexpected.length === 0, unexpected.length === 0
      ? 'every garbage family got only its expected reasons'
      : `${unexpected.length} unexpected, first: ${unexpected.slice(0, 3)
        .map((entry) => `${entry.family} got ${entry.outcome.text}`).join('; ')}`);
    const unanswered = flooded.filter((entry) => entry.outcome.kind !== 'failure');
    check('every-attempt-rejected', unanswered.length === 0, unanswered.length === 0
      ? 'every attempt ended in a SASL failure'
      : `${unanswered.length} attempts ended otherwise, first: ${unanswered.slice(0, 3)
        .map((entry) => `${entry.transport} ${entry.family} ${JSON.stringify(entry.outcome)}`).join('; ')}`);

    // RSS and idle CPU, once the flood's sessions are gone.
    await sleep(SETTLE_MS);
    const rssAfter = await readRssKib(prosody.pid);
    const idleBefore = await readCpuSeconds(prosody.pid);
    await sleep(IDLE_WINDOW_MS);
    const idleShare = ((await readCpuSeconds(prosody.pid)) - idleBefore) / (IDLE_WINDOW_MS / 1000);
    const growth = rssAfter - rssWarm;
    console.log(`${label}: RSS ${(rssWarm / 1024).toFixed(1)} MiB after the warm-up, ${(rssAfter / 1024).toFixed(1)} MiB `
      + `after the flood (${growth >= 0 ? '+' : ''}${(growth / 1024).toFixed(1)} MiB); idle CPU ${(idleShare * 100).toFixed(1)}%`);
    check('rss-bound', growth <= RSS_BOUND_KIB,
      `RSS grew ${(growth / 1024).toFixed(1)} MiB (bound ${RSS_BOUND_KIB / 1024} MiB)`);
    check('idle-cpu', idleShare < IDLE_CPU_MAX,
      `${(idleShare * 100).toFixed(1)}% of one core over ${IDLE_WINDOW_MS / 1000} s idle (bound ${IDLE_CPU_MAX * 100}%)`);

    // Queries beyond Prosody's request head limit, and a NUL byte in the
    // request line, which HTTP client libraries reject.
    const hugeQuery = `token=${'A'.repeat(HUGE_QUERY_BYTES)}`;
    const special = [];
    for (const transport of ['websocket', 'bosh']) {
      special.push({ transport, family: 'huge-query', domain: DOMAIN, query: hugeQuery, post: rawPoster(prosody.httpPort) });
      for (const { name, token } of oversizedCases(cases.cases)) {
        special.push({
          transport, family: `case:${name}`, domain: CASES_DOMAIN, query: `token=${encodeURIComponent(token)}`,
          post: rawPoster(prosody.httpPort),
        });
      }
    }
    const nulEntries = ['token=abc\0def', `token=${'B'.repeat(40)}\0.${'C'.repeat(40)}.${'D'.repeat(43)}`]
      .map((query) => ({ transport: 'bosh', family: 'nul-in-request-line', domain: DOMAIN, query, post: rawPoster(prosody.httpPort) }));
    const specialAttempt = (entry) => (entry.transport === 'websocket'
      ? websocketAttempt({ port: prosody.httpPort, query: entry.query, domain: entry.domain, timeoutMs: HUGE_QUERY_TIMEOUT_MS })
      : boshAttempt({ post: entry.post, query: entry.query, domain: entry.domain, timeoutMs: HUGE_QUERY_TIMEOUT_MS }));
    await runPlan([...special, ...nulEntries], { concurrency: options.concurrency, deadline: Infinity, attempt: specialAttempt });
    allEntries.push(...special, ...nulEntries);
    const describe = (entry) => `${entry.transport} ${entry.family} (${entry.query.length} bytes): ${outcomeKey(entry.outcome)}`;
    console.log(`${label}: queries beyond ${MAX_FLOOD_QUERY_BYTES} bytes: ${special.map(describe).join('; ')}`);
    // NOTE: neither version sends an HTTP status for these. Prosody 13.0.1
    // closes the connection. 0.12.3 waits for the rest of the request head
    // until its read timeout (14 minutes in net/server_epoll.lua), so the
    // client gives up first. Both count as sane: not served, not a crash.
    const insane = special.filter((entry) => !['failure', 'closed', 'timeout'].includes(entry.outcome.kind)
      && !(entry.outcome.kind === 'http-error' && entry.outcome.status >= 400 && entry.outcome.status < 500));
    const alive = isAlive(prosody.pid) && await boshAnswers(prosody.httpPort);
    check('huge-query', insane.length === 0 && alive, insane.length > 0
      ? `unexpected answers: ${insane.map(describe).join('; ')}`
      : `${special.length} sent, each rejected, closed or left unanswered; Prosody ${alive ? 'still answers' : 'is gone'}`);
    check('nul-in-request-line', nulEntries.every((entry) => entry.outcome.kind === 'failure'),
      nulEntries.map(describe).join('; '));

    // A valid moderator still gets owner in a room that a member created.
    const issue = tokenIssuer({ cliPath: options.cliPath, appId: APP_ID, appSecret });
    for (const transport of ['websocket', 'bosh']) {
      const room = `after-flood-${transport}`;
      const roomJid = `${room}@${MUC_DOMAIN}`;
      const clients = [];
      try {
        const memberToken = await issue({ room, name: 'Bob' });
        const moderatorToken = await issue({ room, name: 'Ada', moderator: true });
        issuedTokens.push(memberToken, moderatorToken);
        const creator = await connect({ transport, port: prosody.httpPort, domain: DOMAIN, token: memberToken });
        clients.push(creator);
        await creator.join(roomJid, 'bob');
        const moderator = await connect({ transport, port: prosody.httpPort, domain: DOMAIN, token: moderatorToken });
        clients.push(moderator);
        const self = await moderator.join(roomJid, 'ada');
        check(`moderator-after-flood ${transport}`, true, expectRoles(self, 'owner/moderator', 'the moderator'));
      } catch (err) {
        check(`moderator-after-flood ${transport}`, false, err.message);
        if (!(err instanceof ScenarioFailure)) console.error(err.stack);
      } finally {
        for (const client of clients.reverse()) await client.disconnect();
      }
    }

    // The log: one rejection line per SASL failure, each with its reason,
    // and no token or secret anywhere.
    const logText = (await readFile(prosody.logPath)).toString('latin1');
    const rejections = readRejections(logText);
    const clientSide = new Tally();
    for (const entry of allEntries) if (entry.outcome) clientSide.add(entry);
    console.log(`${label}: log ${(logText.length / 1048576).toFixed(1)} MiB, ${rejections.total} rejection lines: `
      + `${formatCounts(rejections.reasons)}`);
    console.log(`${label}: SASL failures seen by the clients (warm-up, flood and the queries above): `
      + `${[...clientSide.failures.values()].reduce((sum, count) => sum + count, 0)}: ${formatCounts(clientSide.failures)}`);
    const reasonMismatches = [...new Set([...rejections.reasons.keys(), ...clientSide.failures.keys()])]
      .filter((reason) => (rejections.reasons.get(reason) ?? 0) !== (clientSide.failures.get(reason) ?? 0))
      .map((reason) => `${reason}: ${rejections.reasons.get(reason) ?? 0} lines, ${clientSide.failures.get(reason) ?? 0} failures`);
    check('log-line-per-rejection', reasonMismatches.length === 0,
      reasonMismatches.length === 0 ? `${rejections.total} lines, one per SASL failure, by reason` : reasonMismatches.join('; '));
    // Only BOSH session ids (bosh + a UUID) are unique: Prosody 0.12.3
    // names c2s sessions after the connection's address, which is reused.
    const boshSessions = [...rejections.sessions.entries()].filter(([id]) => id.startsWith('bosh'));
    const repeated = boshSessions.filter(([, count]) => count > 1);
    check('log-one-line-per-bosh-session', repeated.length === 0, repeated.length === 0
      ? `${boshSessions.length} BOSH sessions, one line each`
      : `${repeated.length} BOSH sessions with several lines, first: ${repeated[0][0]}`);
    check('log-no-errors', rejections.errors.length === 0, rejections.errors.length === 0
      ? 'no error lines' : `${rejections.errors.length} error lines, first: ${rejections.errors[0].slice(0, 200)}`);

    const tokens = [...issuedTokens];
    for (const entry of allEntries) tokens.push(...tokenValues(entry.query));
    const scanStarted = Date.now();
    const scan = findLeaks(logText, { tokens, secrets: [appSecret, cases.secret, ...cases.otherSecrets] });
    console.log(`${label}: log scan: ${scan.searched} distinct tokens and secrets searched, each token also by every `
      + `20-byte substring of its signature segment; ${scan.skipped} shorter than 20 bytes skipped; `
      + `${scan.leaks.length} found (${((Date.now() - scanStarted) / 1000).toFixed(1)} s)`);
    check('log-no-secrets', scan.leaks.length === 0, scan.leaks.length === 0
      ? 'no token, signature substring or secret in the log'
      : `${scan.leaks.length} found, first: ${scan.leaks.slice(0, 3).map((leak) => `${leak.what} ${leak.sample}...`).join(', ')}`);
  } catch (err) {
    const log = await prosody.readLog();
    console.error(`Prosody log (last 30 lines of ${prosody.logPath}):\n${log.trimEnd().split('\n').slice(-30).join('\n')}`);
    throw err;
  } finally {
    agent.destroy();
    await prosody.stop();
  }
  return { passed: results.filter(Boolean).length, failed: results.filter((ok) => !ok).length };
}

const { values: floodOptions, rest } = parseFloodOptions(process.argv.slice(2));
const options = parseCommandLine(rest, { defaultVersions: '0.12' });
options.sharedDir = path.resolve(floodOptions.sharedDir ?? path.join(options.sourceDir, '..', 'shared'));
Object.assign(options, { ...floodOptions, sharedDir: options.sharedDir });

let passed = 0;
let failed = 0;
let exitCode = 0;
for (const version of options.prosodyVersions) {
  try {
    const result = await floodProsody(await resolveProsody(version, options), options);
    passed += result.passed;
    failed += result.failed;
  } catch (err) {
    console.error(`Flood test could not run on Prosody ${version}: ${err.message}`);
    exitCode = 1;
  }
}
console.log(`${passed} passed, ${failed} failed`);
if (failed > 0) exitCode = 1;
// Idle HTTP agents of the strophe.js BOSH clients would otherwise keep
// Node running.
process.exit(exitCode);
