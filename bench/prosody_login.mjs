// Measures Prosody's CPU time per login attempt, stock anonymous auth
// against huddleup_token, and per login plus MUC join, plain MUC against
// mod_huddleup_moderation.
//
// Each measurement starts a fresh Prosody on 127.0.0.1 (tests/e2e/lib),
// warms it up, then runs a fixed number of logins over WebSocket and reads
// Prosody's utime + stime from /proc/PID/stat before and after. The client
// is a raw RFC 7395 client on the `ws` package, so that it stays cheap.
// Configs alternate (stock, huddleup, stock, huddleup, ...) and the
// report gives the median and the spread of the rounds, because a shared
// machine is noisy. Only the ratios matter: the absolute numbers depend on
// the machine.
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
const STEP_TIMEOUT_MS = 10000;

// The targets: huddleup CPU per attempt over stock CPU per attempt.
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
  --logins N          measured attempts per run (default 3000)
  --warmup N          attempts before each measurement (default 300)
  --rounds N          runs of each config per scenario, alternating (default 5)
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
  values.logins ??= smoke ? '200' : '3000';
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
  async next(what) {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    while (this.frames.length === 0) {
      if (this.closeError) throw new Error(`${what}: connection failed: ${this.closeError.message}`);
      if (this.closed) throw new Error(`${what}: the server closed the connection`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`${what}: timed out after ${STEP_TIMEOUT_MS} ms`);
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
  async expect(name, what) {
    for (;;) {
      const frame = await this.next(what);
      if (frame.startsWith(`<${name}`)) return frame;
    }
  }
}

function openFrame() {
  return `<open xmlns='${NS_FRAMING}' to='${DOMAIN}' version='1.0'/>`;
}

async function openStream(socket, reader, what) {
  socket.send(openFrame());
  await reader.expect('open', what);
  // Prosody names the features element with the stream prefix.
  for (;;) {
    const frame = await reader.next(what);
    if (/^<(stream:)?features\b/.test(frame)) return frame;
    if (/^<(stream:)?error\b/.test(frame)) throw new Error(`${what}: stream error ${frame}`);
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

// Runs `count` logins with `concurrency` clients. Nick numbers start at
// `first`, so that no two attempts share a nick.
async function runLogins({ port, token, join, count, concurrency, first, deadline }) {
  let started = 0;
  const client = async () => {
    while (started < count) {
      if (Date.now() > deadline) throw new Error('the run took longer than --max-minutes');
      const index = first + started;
      started += 1;
      await loginOnce({ port, token, join, nick: `u${index}` });
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

// Measures one config in one scenario on a fresh Prosody: Prosody CPU
// ticks over `logins` attempts, after `warmup` attempts. With a join, a
// keeper occupant holds the room open, so each attempt joins an existing
// room, as most Jitsi participants do. Returns { ticks, seconds (the
// wall-clock time of the measured attempts), logLines }.
async function measure({ options, scenario, config, tokens, appSecret, deadline }) {
  const prosody = await startProsody({
    sourceDir: options.sourceDir,
    luaCpathDir: options.luaCpathDir,
    appId: APP_ID,
    appSecret,
    logLevel: 'warn',
    hostsConfig: hostsConfig(config, appSecret),
  });
  let keeper = null;
  try {
    const port = prosody.httpPort;
    const memberToken = config === 'huddleup' ? tokens.member : undefined;
    const join = SCENARIOS[scenario].join;
    if (join) {
      const keeperToken = config === 'huddleup' ? tokens.moderator : undefined;
      keeper = await loginOnce({ port, token: keeperToken, join: true, nick: 'keeper', keep: true });
    }
    const common = { port, token: memberToken, join, concurrency: options.concurrency, deadline };
    await runLogins({ ...common, count: options.warmup, first: 0 });

    // The last c2s_timeout tasks fire before the first reading and after
    // the last attempt, so each window holds the whole cost of its attempts.
    await sleep(C2S_TIMEOUT_S * 1000 + 500);
    const logLinesBefore = await countLogLines(prosody);
    const before = await readCpuTicks(prosody.pid);
    const started = Date.now();
    await runLogins({ ...common, count: options.logins, first: options.warmup });
    const seconds = (Date.now() - started) / 1000;
    await sleep(C2S_TIMEOUT_S * 1000 + 500);
    const after = await readCpuTicks(prosody.pid);
    const logLines = (await countLogLines(prosody)) - logLinesBefore;
    return { ticks: after - before, seconds, logLines };
  } catch (err) {
    const log = await prosody.readLog();
    console.error(`Prosody log (last 20 lines of ${prosody.logPath}):\n`
      + `${log.trimEnd().split('\n').slice(-20).join('\n')}`);
    throw err;
  } finally {
    if (keeper) await closeStream(keeper.socket, keeper.reader);
    await prosody.stop();
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

function printScenario(scenario, results, options, clockTicks) {
  const { title, target } = SCENARIOS[scenario];
  const perAttempt = (ticks) => (ticks / clockTicks) * 1000 / options.logins;
  const stock = results.stock.map((run) => perAttempt(run.ticks));
  const huddleup = results.huddleup.map((run) => perAttempt(run.ticks));
  const ratios = huddleup.map((value, i) => value / stock[i]);
  const ratio = median(ratios);

  console.log(`## ${title}\n`);
  console.log('| Round | Stock, ms per attempt | huddleup, ms per attempt | Ratio | Log lines (stock, huddleup) |');
  console.log('|---|---|---|---|---|');
  stock.forEach((value, i) => {
    console.log(`| ${i + 1} | ${ms(value)} | ${ms(huddleup[i])} | ${percent(ratios[i])} `
      + `| ${results.stock[i].logLines}, ${results.huddleup[i].logLines} |`);
  });
  console.log('');
  console.log(`- Stock (${SCENARIOS[scenario].stock}): median ${ms(median(stock))} ms of Prosody CPU `
    + `per attempt, ${spread(stock, ms)}`);
  console.log(`- huddleup (${SCENARIOS[scenario].huddleup}): median ${ms(median(huddleup))} ms, `
    + `${spread(huddleup, ms)}`);
  console.log(`- Ratio: median ${percent(ratio)}, ${spread(ratios, percent)}; target at most `
    + `${percent(target)}: ${ratio <= target ? 'met' : 'not met'}`);
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
  console.log(`Rounds per scenario: ${options.rounds}. In each round a fresh Prosody per config, `
    + `${options.warmup} warm-up attempts, then ${options.logins} measured attempts by `
    + `${options.concurrency} concurrent clients over WebSocket on 127.0.0.1. Prosody log level warn, `
    + `c2s_timeout = ${C2S_TIMEOUT_S} s. The CPU time is Prosody's utime + stime from /proc/PID/stat, `
    + `in ticks of 1/${clockTicks} s.\n`);

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
    results[scenario] = { stock: [], huddleup: [] };
  }
  for (let round = 1; round <= options.rounds; round += 1) {
    for (const scenario of options.scenarios) {
      for (const config of CONFIGS) {
        const run = await measure({ options, scenario, config, tokens, appSecret, deadline });
        results[scenario][config].push(run);
        console.error(`round ${round}, ${scenario}, ${config}: ${run.ticks} ticks, `
          + `${(options.logins / run.seconds).toFixed(0)} attempts/s`);
      }
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
