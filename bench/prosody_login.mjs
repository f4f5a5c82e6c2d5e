// Measures Prosody's CPU time per login attempt, stock anonymous auth
// against huddleup_token, and per login plus MUC join, plain MUC against
// mod_huddleup_moderation.
//
// Each round starts one Prosody per config on 127.0.0.1 (tests/e2e/lib),
// warms both up, then runs a fixed number of logins over WebSocket on each
// and reads each Prosody's utime + stime from /proc/PID/stat before and
// after. Every client alternates between the two Prosodies, attempt by
// attempt, so that a change in the machine's load hits both alike. The
// client is a raw RFC 7395 client on the `ws` package, so that it stays
// cheap. The report gives the median and the spread of the rounds'
// ratios. Only the ratios carry over to other machines.
//
// Usage: node bench/prosody_login.mjs --cli build/huddleup-token
//          --lua-cpath build/lua [--smoke] [options]; --help lists them.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, constants, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';

import { DOMAIN, MUC_DOMAIN, startProsody } from '../tests/e2e/lib/prosody.mjs';
import { tokenIssuer } from '../tests/e2e/lib/tokens.mjs';

const execFileAsync = promisify(execFile);
const sourceDirDefault = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// `ws` is installed in tests/e2e by `npm ci --prefix tests/e2e`.
const WebSocket = createRequire(path.join(sourceDirDefault, 'tests', 'e2e', 'package.json'))('ws');

const ROOM = 'benchroom';
const APP_ID = 'huddleup-bench';
// Closed sessions keep their c2s_timeout task, and the memory it holds,
// until the timeout fires. A login takes milliseconds, so 2 s is plenty
// here and keeps the number of pending tasks small.
const C2S_TIMEOUT_S = 2;
// Time to wait after the warm-up and after the measured attempts, so that
// the c2s_timeout tasks those attempts started have fired.
const TIMER_WAIT_MS = C2S_TIMEOUT_S * 1000 + 500;
const STEP_TIMEOUT_MS = 10000;

// Each target is the maximum ratio of huddleup's Prosody CPU time per
// attempt to stock's.
const SCENARIOS = {
  login: {
    title: 'Login (connect, SASL ANONYMOUS, bind, close)',
    stock: 'authentication = "anonymous"',
    huddleup: 'authentication = "huddleup_token"',
    target: 1.05,
    join: false,
  },
  join: {
    title: 'Login plus MUC join (the login above, then join an occupied room)',
    stock: 'anonymous, plain MUC',
    huddleup: 'huddleup_token, mod_huddleup_moderation',
    target: 1.10,
    join: true,
  },
};
const CONFIGS = ['stock', 'huddleup'];

const NS_FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';

function usage() {
  return `usage: node bench/prosody_login.mjs --cli PATH --lua-cpath DIR [options]
  --cli PATH          the huddleup-token command (build/huddleup-token)
  --lua-cpath DIR     folder that contains huddleup/token.so (build/lua)
  --source-dir DIR    repository root, for plugin_paths (default: ${sourceDirDefault})
  --logins N          measured attempts per config and round (default 2000)
  --warmup N          attempts per config before each measurement (default 300)
  --rounds N          rounds per scenario, each on fresh Prosodies (default 5)
  --concurrency N     clients logging in at the same time (default 2)
  --scenarios LIST    comma-separated: login, join (default: both)
  --build-type TEXT   CMAKE_BUILD_TYPE of the build, printed with the machine
  --max-minutes M     abort when the whole run takes longer (default 60)
  --smoke             1 round of 200 attempts after 20 warm-up attempts; also
                      HU_BENCH_SMOKE=1. Checks that everything runs, not the times.`;
}

function positiveInteger(values, name) {
  const value = Number(values[name]);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`invalid --${name} ${values[name]}: expected a positive integer\n${usage()}`);
    process.exit(2);
  }
  return value;
}

// Parses the command line. Exits with status 2 and the usage text on a
// missing, unknown or invalid option.
function parseCommandLine(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        cli: { type: 'string' },
        'lua-cpath': { type: 'string' },
        'source-dir': { type: 'string', default: sourceDirDefault },
        logins: { type: 'string' },
        warmup: { type: 'string' },
        rounds: { type: 'string' },
        concurrency: { type: 'string', default: '2' },
        scenarios: { type: 'string', default: Object.keys(SCENARIOS).join(',') },
        'build-type': { type: 'string', default: '' },
        'max-minutes': { type: 'string', default: '60' },
        smoke: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    console.error(`${err.message}\n${usage()}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(usage());
    process.exit(0);
  }
  for (const required of ['cli', 'lua-cpath']) {
    if (!values[required]) {
      console.error(`missing --${required}\n${usage()}`);
      process.exit(2);
    }
  }

  const smokeEnv = process.env.HU_BENCH_SMOKE;
  const smoke = values.smoke || (smokeEnv !== undefined && smokeEnv !== '' && smokeEnv !== '0');
  values.logins ??= smoke ? '200' : '2000';
  values.warmup ??= smoke ? '20' : '300';
  values.rounds ??= smoke ? '1' : '5';

  const scenarios = values.scenarios.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = scenarios.filter((name) => !(name in SCENARIOS));
  if (scenarios.length === 0 || unknown.length > 0) {
    console.error(`invalid --scenarios ${values.scenarios}: expected a list of `
      + `${Object.keys(SCENARIOS).join(', ')}\n${usage()}`);
    process.exit(2);
  }
  return {
    cliPath: path.resolve(values.cli),
    luaCpathDir: path.resolve(values['lua-cpath']),
    sourceDir: path.resolve(values['source-dir']),
    logins: positiveInteger(values, 'logins'),
    warmup: positiveInteger(values, 'warmup'),
    rounds: positiveInteger(values, 'rounds'),
    concurrency: positiveInteger(values, 'concurrency'),
    maxMinutes: positiveInteger(values, 'max-minutes'),
    scenarios,
    buildType: values['build-type'],
    smoke,
  };
}

// The machine --------------------------------------------------------------

async function commandOutput(command, args) {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, { timeout: 10000 });
    return (stdout || stderr).trim().split('\n')[0];
  } catch {
    return 'unknown';
  }
}

// Returns the installed version of a Debian package. dpkg-query only reads
// the package database. `prosody --version` would start a server instead.
function packageVersion(name) {
  return commandOutput('dpkg-query', ['-W', '-f=${Version}', name]).then((version) => version || 'not installed');
}

async function cpuModel() {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  return cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? 'unknown';
}

async function loadAverage() {
  const text = await readFile('/proc/loadavg', 'utf8').catch(() => 'unknown');
  return text.split(' ').slice(0, 3).join(' ');
}

async function clockTicksPerSecond() {
  const { stdout } = await execFileAsync('getconf', ['CLK_TCK']);
  const ticks = Number(stdout.trim());
  if (!Number.isInteger(ticks) || ticks < 1) {
    throw new Error(`getconf CLK_TCK printed ${JSON.stringify(stdout)}, expected a positive integer`);
  }
  return ticks;
}

async function printMachine(options, clockTicks) {
  const [model, openssl, libssl, lua, prosody, version, load] = await Promise.all([
    cpuModel(),
    commandOutput('openssl', ['version']),
    packageVersion('libssl3'),
    packageVersion('lua5.4'),
    packageVersion('prosody'),
    commandOutput(options.cliPath, ['--version']),
    loadAverage(),
  ]);
  console.log('## Machine\n');
  console.log(`- CPU: ${model}, ${os.cpus().length} online cores`);
  console.log(`- Kernel: ${os.type()} ${os.release()}; load average at start: ${load}`);
  console.log(`- OpenSSL: ${openssl} (Debian package libssl3 ${libssl})`);
  console.log(`- Lua: Debian package lua5.4 ${lua}, which runs Prosody`);
  console.log(`- Prosody: ${prosody} (dpkg-query -W prosody)`);
  console.log(`- ${version}, build type "${options.buildType || 'not given'}"; Node.js ${process.version} `
    + `for the client; CLK_TCK ${clockTicks}`);
  console.log('');
}

// Prosody's CPU time ---------------------------------------------------------

// Returns utime + stime of a process, in clock ticks, from /proc/PID/stat.
// The command name in field 2 may contain spaces and parentheses, so the
// fields are counted from the last ")".
async function readCpuTicks(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so utime (14) and stime (15) are 11 and 12.
  return Number(fields[11]) + Number(fields[12]);
}

// The client ------------------------------------------------------------------

// Reads the frames of one XMPP-over-WebSocket connection. RFC 7395 puts
// exactly one top-level element into each text frame, so a frame can be
// classified by its first characters.
class FrameReader {
  constructor(socket) {
    this.socket = socket;
    this.frames = [];
    this.waiter = null;
    this.closed = false;
    this.closeError = null;
    this.closedPromise = new Promise((resolve) => {
      socket.on('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      });
    });
    socket.on('message', (data) => {
      this.frames.push(data.toString());
      this.wake();
    });
    socket.on('error', (err) => {
      this.closeError = err;
      this.wake();
    });
  }

  wake() {
    const waiter = this.waiter;
    this.waiter = null;
    if (waiter) waiter();
  }

  // Returns the next frame, or raises when the connection fails, closes or
  // sends nothing for STEP_TIMEOUT_MS.
  async next(step) {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    while (this.frames.length === 0) {
      if (this.closeError) throw new Error(`${step}: connection failed: ${this.closeError.message}`);
      if (this.closed) throw new Error(`${step}: the server closed the connection`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`${step}: timed out after ${STEP_TIMEOUT_MS} ms`);
      let timer;
      await new Promise((resolve) => {
        this.waiter = resolve;
        timer = setTimeout(resolve, remaining);
      });
      clearTimeout(timer);
    }
    return this.frames.shift();
  }

  // Skips frames until one starts with `<name` and returns it.
  async expect(name, step) {
    for (;;) {
      const frame = await this.next(step);
      if (frame.startsWith(`<${name}`)) return frame;
    }
  }
}

function openFrame() {
  return `<open xmlns='${NS_FRAMING}' to='${DOMAIN}' version='1.0'/>`;
}

async function openStream(socket, reader, step) {
  socket.send(openFrame());
  await reader.expect('open', step);
  // Prosody 0.12.3 sends the features element with the stream prefix.
  for (;;) {
    const frame = await reader.next(step);
    if (/^<(stream:)?features\b/.test(frame)) return frame;
    if (/^<(stream:)?error\b/.test(frame)) throw new Error(`${step}: stream error ${frame}`);
  }
}

function connect(url) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'xmpp', { perMessageDeflate: false, handshakeTimeout: STEP_TIMEOUT_MS });
    const reader = new FrameReader(socket);
    socket.once('open', () => resolve({ socket, reader }));
    socket.once('error', reject);
  });
}

// Joins the room as `nick` and waits for the self-presence (status 110).
async function joinRoom(socket, reader, nick) {
  const occupantJid = `${ROOM}@${MUC_DOMAIN}/${nick}`;
  socket.send(`<presence xmlns='jabber:client' to='${occupantJid}'><x xmlns='http://jabber.org/protocol/muc'/></presence>`);
  for (;;) {
    const frame = await reader.expect('presence', 'MUC join');
    if (!frame.includes(`from='${occupantJid}'`) && !frame.includes(`from="${occupantJid}"`)) continue;
    if (/type=['"]error['"]/.test(frame)) throw new Error(`MUC join rejected: ${frame}`);
    if (/<status [^>]*code=['"]110['"]/.test(frame)) return;
  }
}

// Logs in once: WebSocket connect, stream open, SASL ANONYMOUS (with the
// token in the URL when given), stream restart, resource bind, an optional
// MUC join, and a client-initiated close, as strophe.js does. With `keep`,
// returns the open connection instead of closing it.
async function loginOnce({ port, token, nick, join, keep = false }) {
  const query = token === undefined ? `?room=${ROOM}` : `?room=${ROOM}&token=${encodeURIComponent(token)}`;
  const { socket, reader } = await connect(`ws://127.0.0.1:${port}/xmpp-websocket${query}`);
  try {
    const features = await openStream(socket, reader, 'stream open');
    if (!features.includes('>ANONYMOUS<')) throw new Error(`SASL ANONYMOUS not offered: ${features}`);
    socket.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>");
    const outcome = await reader.next('SASL');
    if (!outcome.startsWith('<success')) throw new Error(`SASL ANONYMOUS failed: ${outcome}`);

    await openStream(socket, reader, 'stream restart');
    socket.send("<iq xmlns='jabber:client' type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>");
    const bound = await reader.expect('iq', 'resource bind');
    if (!/type=['"]result['"]/.test(bound)) throw new Error(`resource bind failed: ${bound}`);

    if (join) await joinRoom(socket, reader, nick);
  } catch (err) {
    socket.terminate();
    throw err;
  }
  if (keep) return { socket, reader };
  await closeStream(socket, reader);
  return null;
}

// Closes the stream from the client side and waits until Prosody has
// closed the connection, which it does right after destroying the session.
async function closeStream(socket, reader) {
  socket.send(`<close xmlns='${NS_FRAMING}'/>`);
  const timer = setTimeout(() => socket.terminate(), STEP_TIMEOUT_MS);
  await reader.closedPromise;
  clearTimeout(timer);
}

// Runs `count` attempts on each target with `concurrency` clients. Each
// client logs in to one target and then to the other, swapping the order
// on every attempt, so that both Prosodies work under the same machine
// load at the same moments. Nick numbers start at `first`.
async function runLogins({ targets, count, concurrency, first, deadline }) {
  let started = 0;
  const client = async () => {
    while (started < count) {
      if (Date.now() > deadline) throw new Error('the run took longer than --max-minutes');
      const index = first + started;
      started += 1;
      const order = index % 2 === 0 ? targets : [...targets].reverse();
      for (const target of order) {
        await loginOnce({ ...target.attempt, nick: `u${index}` });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, client));
}

// Prosody configs ---------------------------------------------------------------

// Both configs share tests/e2e/lib's global section (WebSocket, BOSH, no
// TLS on loopback) and name the hosts alike, so they differ only in the
// auth provider and the MUC module.
function hostsConfig(config, appSecret) {
  const global = `c2s_timeout = ${C2S_TIMEOUT_S}\n\n`;
  if (config === 'stock') {
    return `${global}VirtualHost "${DOMAIN}"
  authentication = "anonymous"

Component "${MUC_DOMAIN}" "muc"
  muc_room_locking = false
`;
  }
  return `${global}VirtualHost "${DOMAIN}"
  authentication = "huddleup_token"
  app_id = "${APP_ID}"
  app_secret = "${appSecret}"

Component "${MUC_DOMAIN}" "muc"
  modules_enabled = { "huddleup_moderation" }
  muc_room_locking = false
`;
}

async function countLogLines(prosody) {
  const text = await prosody.readLog();
  return text === '' ? 0 : text.trimEnd().split('\n').length;
}

// Starts a Prosody with `config` and, for a join, connects a keeper
// occupant that keeps the room open, so that each attempt joins an
// existing room, as most Jitsi participants do. Returns { prosody, keeper,
// attempt }, where attempt contains the loginOnce arguments of this config.
async function startTarget({ options, scenario, config, tokens, appSecret }) {
  const prosody = await startProsody({
    sourceDir: options.sourceDir,
    luaCpathDir: options.luaCpathDir,
    appId: APP_ID,
    appSecret,
    logLevel: 'warn',
    hostsConfig: hostsConfig(config, appSecret),
  });
  const target = { config, prosody, keeper: null };
  target.attempt = {
    port: prosody.httpPort,
    token: config === 'huddleup' ? tokens.member : undefined,
    join: SCENARIOS[scenario].join,
  };
  if (target.attempt.join) {
    const keeperToken = config === 'huddleup' ? tokens.moderator : undefined;
    try {
      target.keeper = await loginOnce({ ...target.attempt, token: keeperToken, nick: 'keeper', keep: true });
    } catch (err) {
      await stopTarget(target, err);
      throw err;
    }
  }
  return target;
}

// Stops a target's keeper and Prosody. With `err`, prints the end of
// Prosody's log first.
async function stopTarget(target, err) {
  if (err) {
    const log = await target.prosody.readLog();
    console.error(`${target.config} Prosody log (last 20 lines of ${target.prosody.logPath}):\n`
      + `${log.trimEnd().split('\n').slice(-20).join('\n')}`);
  }
  if (target.keeper) await closeStream(target.keeper.socket, target.keeper.reader);
  await target.prosody.stop();
}

// Measures one round of a scenario on a fresh Prosody per config, so that
// rounds are independent and a room's history does not carry over. After
// the warm-up and after the measured attempts, it waits for the
// c2s_timeout tasks to fire, so the window contains the whole cost of its
// attempts. An idle Prosody uses no measurable CPU time. Returns { stock,
// huddleup }, each { ticks, logLines }, and seconds (the wall-clock time
// of the measured attempts).
async function measureRound({ options, scenario, tokens, appSecret, deadline }) {
  const targets = [];
  let failure;
  try {
    for (const config of CONFIGS) {
      targets.push(await startTarget({ options, scenario, config, tokens, appSecret }));
    }
    const batch = { targets, concurrency: options.concurrency, deadline };
    await runLogins({ ...batch, count: options.warmup, first: 0 });
    await sleep(TIMER_WAIT_MS);

    const logLinesBefore = await Promise.all(targets.map((target) => countLogLines(target.prosody)));
    const before = await Promise.all(targets.map((target) => readCpuTicks(target.prosody.pid)));
    const started = Date.now();
    await runLogins({ ...batch, count: options.logins, first: options.warmup });
    const seconds = (Date.now() - started) / 1000;
    await sleep(TIMER_WAIT_MS);
    const after = await Promise.all(targets.map((target) => readCpuTicks(target.prosody.pid)));

    const results = { seconds };
    for (const [i, target] of targets.entries()) {
      results[target.config] = {
        ticks: after[i] - before[i],
        logLines: (await countLogLines(target.prosody)) - logLinesBefore[i],
      };
    }
    return results;
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    for (const target of targets) {
      await stopTarget(target, failure);
    }
  }
}

// Report ----------------------------------------------------------------------

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function spread(values, format) {
  return `${format(Math.min(...values))} to ${format(Math.max(...values))}`;
}

const ms = (value) => value.toFixed(3);
const percent = (value) => `${(value * 100).toFixed(1)}%`;

// Prints a scenario's table and summary. The target applies to the median
// of the per-round ratios. Returns { scenario, ratio, target }.
function printScenario(scenario, results, options, clockTicks) {
  const { title, target } = SCENARIOS[scenario];
  const perAttempt = (ticks) => (ticks / clockTicks) * 1000 / options.logins;
  const stock = results.stock.ticks.map(perAttempt);
  const huddleup = results.huddleup.ticks.map(perAttempt);
  const ratios = huddleup.map((value, i) => value / stock[i]);
  const ratio = median(ratios);
  const sum = (values) => values.reduce((total, value) => total + value, 0);
  const overall = sum(results.huddleup.ticks) / sum(results.stock.ticks);

  console.log(`## ${title}\n`);
  console.log('| Round | Stock, ms per attempt | huddleup, ms per attempt | Ratio |');
  console.log('|---|---|---|---|');
  stock.forEach((value, i) => {
    console.log(`| ${i + 1} | ${ms(value)} | ${ms(huddleup[i])} | ${percent(ratios[i])} |`);
  });
  console.log('');
  console.log(`- Stock (${SCENARIOS[scenario].stock}): median ${ms(median(stock))} ms of Prosody CPU `
    + `per attempt, ${spread(stock, ms)}`);
  console.log(`- huddleup (${SCENARIOS[scenario].huddleup}): median ${ms(median(huddleup))} ms, `
    + `${spread(huddleup, ms)}`);
  let verdict = ratio <= target ? 'met' : 'not met';
  if (options.smoke) verdict = 'not judged in a smoke run';
  console.log(`- Ratio: median ${percent(ratio)}, ${spread(ratios, percent)}; all rounds together `
    + `${percent(overall)}. Target at most ${percent(target)}: ${verdict}`);
  console.log(`- Prosody log lines during the measured attempts: stock ${results.stock.logLines}, `
    + `huddleup ${results.huddleup.logLines}`);
  console.log('');
  return { scenario, ratio, target };
}

// Main --------------------------------------------------------------------------

async function checkInputs({ cliPath, luaCpathDir }) {
  await access(cliPath, constants.X_OK).catch(() => {
    throw new Error(`${cliPath} is not an executable file; build the project first (cmake --build build)`);
  });
  await access(path.join(luaCpathDir, 'huddleup', 'token.so')).catch(() => {
    throw new Error(`${luaCpathDir}/huddleup/token.so not found; build the project first (cmake --build build)`);
  });
}

async function main() {
  const options = parseCommandLine(process.argv.slice(2));
  await checkInputs(options);
  const clockTicks = await clockTicksPerSecond();
  const deadline = Date.now() + options.maxMinutes * 60000;

  console.log('# Prosody CPU per login attempt\n');
  await printMachine(options, clockTicks);
  console.log(`Each round starts one Prosody per config (log level warn, c2s_timeout = ${C2S_TIMEOUT_S} s), `
    + `makes ${options.warmup} warm-up attempts on each, then ${options.logins} measured attempts on each. `
    + `${options.concurrency} concurrent clients over WebSocket on 127.0.0.1, each alternating between `
    + `the two Prosodies. Rounds: ${options.rounds}. CPU time is Prosody's utime + stime from `
    + `/proc/PID/stat, in ticks of 1/${clockTicks} s.\n`);

  // One member token for every attempt (the modules do not reject a
  // reused token) and a moderator token for the occupant that keeps the
  // room open.
  const appSecret = randomBytes(32).toString('hex');
  const issue = tokenIssuer({ cliPath: options.cliPath, appId: APP_ID, appSecret });
  const tokens = {
    member: await issue({ room: ROOM, name: 'Bench member', ttl: 24 * 3600 }),
    moderator: await issue({ room: ROOM, name: 'Bench keeper', moderator: true, ttl: 24 * 3600 }),
  };

  const results = {};
  for (const scenario of options.scenarios) {
    results[scenario] = { stock: { ticks: [], logLines: 0 }, huddleup: { ticks: [], logLines: 0 } };
  }
  for (let round = 1; round <= options.rounds; round += 1) {
    for (const scenario of options.scenarios) {
      const run = await measureRound({ options, scenario, tokens, appSecret, deadline });
      for (const config of CONFIGS) {
        results[scenario][config].ticks.push(run[config].ticks);
        results[scenario][config].logLines += run[config].logLines;
      }
      console.error(`round ${round} of ${options.rounds}, ${scenario}: stock ${run.stock.ticks} ticks, `
        + `huddleup ${run.huddleup.ticks} ticks, ${(options.logins / run.seconds).toFixed(0)} attempt pairs/s`);
    }
  }

  const outcomes = options.scenarios.map((scenario) => printScenario(scenario, results[scenario], options, clockTicks));
  console.log(`Load average at the end: ${await loadAverage()}`);
  if (options.smoke) {
    console.log('Smoke run: the counts are too small for the times to mean anything.');
  } else {
    const missed = outcomes.filter((outcome) => outcome.ratio > outcome.target);
    console.log(missed.length === 0 ? 'All targets met.'
      : `Targets not met: ${missed.map((outcome) => outcome.scenario).join(', ')}.`);
  }
}

main().catch((err) => {
  console.error(`prosody_login: ${err.message}`);
  process.exit(1);
});
