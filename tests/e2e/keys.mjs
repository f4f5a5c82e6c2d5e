#!/usr/bin/env node
// End-to-end test of public-key tokens and keys selected by kid. It runs a
// real Prosody (0.12 and 13) with mod_auth_huddleup_token and strophe.js
// clients. RS256 and ES256 tokens come from the project's CLI, which reads
// the private key, kid and alg from HU_JITSI_JWT_PRIVATE_KEY_FILE,
// HU_JITSI_JWT_KID and HU_JITSI_JWT_ALG. Prosody takes the public keys from
// a folder in Jitsi's ASAP layout, from a key server that this test runs on
// 127.0.0.1, from huddleup_token_keys and from a JWK Set file.
//
//   node keys.mjs --cli build/huddleup-token --lua-cpath build/lua [--prosody-versions 0.12,13]
//
// Prints one line per scenario and Prosody version ("ok prosody-0.12.3
// NAME DETAIL" or "FAIL ..."), then "N passed, N failed". The scenarios
// build on each other (rotation follows the first logins), so they run in
// order on one Prosody per version. Exits 1 when a scenario fails or a
// Prosody cannot be started.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import { expectRejection, ScenarioFailure } from './lib/checks.mjs';
import { parseCommandLine, resolveProsody } from './lib/harness.mjs';
import { startProsody } from './lib/prosody.mjs';
import { AuthError, connect } from './lib/xmpp.mjs';

const execFileAsync = promisify(execFile);

const APP_ID = 'huddleup-keys-e2e';
// One VirtualHost per key source, each with mod_auth_huddleup_token.
const FOLDER_HOST = 'keys-folder.meet.jitsi.test';
const SERVER_HOST = 'keys-server.meet.jitsi.test';
const BLACK_HOLE_HOST = 'keys-blackhole.meet.jitsi.test';
const CONFIG_HOST = 'keys-config.meet.jitsi.test';

// Options of the key server hosts. The black-hole timeout bounds how long
// the scenario that measures it takes.
const SERVER_TIMEOUT_S = 2;
const SERVER_RETRIES = 1;
const BLACK_HOLE_TIMEOUT_S = 3;
// A login whose key is in memory took 10 to 60 ms over WebSocket on a
// 2-core machine. This bound only has to separate it from the black-hole
// timeout.
const CACHED_LOGIN_MAX_MS = 1500;
const RELOAD_TIMEOUT_MS = 10000;

function luaString(value) {
  return JSON.stringify(String(value));
}

// Runs the project's CLI and returns its standard output without the
// trailing newline.
async function runCli(cliPath, args, env = {}) {
  try {
    const { stdout } = await execFileAsync(cliPath, args, { env: { ...process.env, ...env }, timeout: 10000 });
    return stdout.trimEnd();
  } catch (err) {
    throw new Error(`${cliPath} ${args.join(' ')} failed: ${err.stderr?.trim() || err.message}`);
  }
}

// A signing key: a private key file made by openssl, with its algorithm.
async function newKey(dir, name, alg) {
  const privateKeyFile = path.join(dir, `${name}.pem`);
  const args = alg === 'RS256'
    ? ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', privateKeyFile]
    : ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', privateKeyFile];
  await execFileAsync('openssl', args, { timeout: 30000 });
  return { privateKeyFile, alg };
}

// Returns what the backend's environment needs to sign with key under kid.
function signingEnvironment(key, kid) {
  return {
    HU_JITSI_HOST: 'http://127.0.0.1',
    HU_JITSI_JWT_ENABLED: 'true',
    HU_JITSI_JWT_APP_ID: APP_ID,
    HU_JITSI_JWT_SECRET: '',
    HU_JITSI_JWT_PRIVATE_KEY_FILE: key.privateKeyFile,
    HU_JITSI_JWT_KID: kid,
    HU_JITSI_JWT_ALG: key.alg,
  };
}

// The key server: serves the PEM files of `files` (ASAP name -> PEM) under
// /asap/ and responds 404 for others. stop() closes it and its connections,
// so that later requests are refused.
async function startKeyServer() {
  const files = new Map();
  const requests = [];
  const server = createHttpServer((request, response) => {
    requests.push(request.url);
    const name = request.url.startsWith('/asap/') ? request.url.slice('/asap/'.length) : '';
    const pem = files.get(name);
    if (request.method !== 'GET' || pem === undefined) {
      response.writeHead(404, { 'Content-Type': 'text/plain' });
      response.end('not found\n');
      return;
    }
    response.writeHead(200, { 'Content-Type': 'application/x-pem-file' });
    response.end(pem);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/asap/`,
    files,
    requests,
    stop: () => new Promise((resolve) => {
      server.close(resolve);
      server.closeAllConnections();
    }),
  };
}

// A black-hole key server: accepts connections and never responds.
async function startBlackHole() {
  const sockets = new Set();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/asap/`,
    connectionCount: () => sockets.size,
    stop: () => new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(resolve);
    }),
  };
}

// The VirtualHost sections of this test. configKeys maps kid -> { alg,
// publicKeyFile } for huddleup_token_keys on CONFIG_HOST.
function hostsConfig({ keyDir, keyServerUrl, blackHoleUrl, blackHoleKeyFile, configKeys, jwksFile }) {
  const keys = Object.entries(configKeys)
    .map(([kid, key]) => `    [${luaString(kid)}] = { algorithm = ${luaString(key.alg)}; `
      + `public_key_file = ${luaString(key.publicKeyFile)} };`)
    .join('\n');
  return `
-- Keys selected by kid (tests/e2e/keys.mjs).
VirtualHost ${luaString(FOLDER_HOST)}
  authentication = "huddleup_token"
  app_id = ${luaString(APP_ID)}
  huddleup_token_key_dir = ${luaString(keyDir)}

VirtualHost ${luaString(SERVER_HOST)}
  authentication = "huddleup_token"
  app_id = ${luaString(APP_ID)}
  asap_key_server = ${luaString(keyServerUrl)}
  huddleup_token_key_server_timeout = ${SERVER_TIMEOUT_S}
  huddleup_token_key_server_retries = ${SERVER_RETRIES}

VirtualHost ${luaString(BLACK_HOLE_HOST)}
  authentication = "huddleup_token"
  app_id = ${luaString(APP_ID)}
  asap_key_server = ${luaString(blackHoleUrl)}
  huddleup_token_key_server_timeout = ${BLACK_HOLE_TIMEOUT_S}
  huddleup_token_key_server_retries = 0
  huddleup_token_keys = {
    ["bh-config"] = { algorithm = "ES256"; public_key_file = ${luaString(blackHoleKeyFile)} };
  }

VirtualHost ${luaString(CONFIG_HOST)}
  authentication = "huddleup_token"
  app_id = ${luaString(APP_ID)}
  huddleup_token_jwks_file = ${luaString(jwksFile)}
  huddleup_token_keys = {
${keys}
  }
`;
}

// Counts the "Token keys reloaded" lines of CONFIG_HOST in the log.
function reloadCount(log) {
  return log.split('\n').filter((line) => line.includes(CONFIG_HOST) && line.includes('Token keys reloaded')).length;
}

class KeysTest {
  constructor(options, prosodySetup) {
    this.options = options;
    this.prosodySetup = prosodySetup;
    this.clients = [];
    this.tokens = [];
  }

  async setUp() {
    const { cliPath } = this.options;
    this.dir = await mkdtemp(path.join(tmpdir(), 'huddleup-keys-e2e-'));
    this.keyDir = path.join(this.dir, 'asap');
    await mkdir(this.keyDir);
    this.rsaOld = await newKey(this.dir, 'rsa-old', 'RS256');
    this.rsaNew = await newKey(this.dir, 'rsa-new', 'RS256');
    this.ecOld = await newKey(this.dir, 'ec-old', 'ES256');
    this.ecNew = await newKey(this.dir, 'ec-new', 'ES256');

    // Public keys as the backend's operator exports them.
    this.publicKeyFiles = new Map();
    for (const [name, key] of [['rsa-old', this.rsaOld], ['rsa-new', this.rsaNew], ['ec-old', this.ecOld],
      ['ec-new', this.ecNew]]) {
      const file = path.join(this.dir, `${name}.pub.pem`);
      await writeFile(file, `${await runCli(cliPath, ['key', '--private-key', key.privateKeyFile])}\n`);
      this.publicKeyFiles.set(key, file);
    }
    await this.publishToFolder('dir-rsa-1', this.rsaOld);
    await this.publishToFolder('dir-ec-1', this.ecOld);

    this.keyServer = await startKeyServer();
    this.blackHole = await startBlackHole();
    await this.publishToServer('srv-rsa-1', this.rsaOld);
    await this.publishToServer('srv-ec-1', this.ecOld);

    this.jwksFile = path.join(this.dir, 'jwks.json');
    await this.writeJwks([['jwks-ec-1', this.ecOld]]);
    this.configKeys = { 'cfg-rsa-1': { alg: 'RS256', publicKeyFile: this.publicKeyFiles.get(this.rsaOld) } };

    this.prosody = await startProsody({
      ...this.options,
      appId: APP_ID,
      appSecret: randomBytes(32).toString('hex'),
      focusPassword: randomBytes(16).toString('hex'),
      prosodyCommand: this.prosodySetup.prosodyCommand,
      prosodyctlCommand: this.prosodySetup.prosodyctlCommand,
      extraConfig: this.hostsConfig(),
    });
    this.baseConfig = (await readFile(this.prosody.configPath, 'utf8')).slice(0, -this.hostsConfig().length);
  }

  hostsConfig() {
    return hostsConfig({
      keyDir: this.keyDir,
      keyServerUrl: this.keyServer.url,
      blackHoleUrl: this.blackHole.url,
      blackHoleKeyFile: this.publicKeyFiles.get(this.ecNew),
      configKeys: this.configKeys,
      jwksFile: this.jwksFile,
    });
  }

  async tearDown() {
    for (const client of this.clients.reverse()) await client.disconnect();
    await this.prosody?.stop();
    await this.keyServer?.stop();
    await this.blackHole?.stop();
    if (this.dir && !this.options.keepDir) await rm(this.dir, { recursive: true, force: true });
  }

  async asapName(kid) {
    return runCli(this.options.cliPath, ['key', '--kid', kid, '--format', 'asap-name']);
  }

  async publishToFolder(kid, key) {
    await writeFile(path.join(this.keyDir, await this.asapName(kid)), await readFile(this.publicKeyFiles.get(key)));
  }

  async publishToServer(kid, key) {
    this.keyServer.files.set(await this.asapName(kid), await readFile(this.publicKeyFiles.get(key), 'utf8'));
  }

  async writeJwks(entries) {
    const keys = [];
    for (const [kid, key] of entries) {
      keys.push(await runCli(this.options.cliPath,
        ['key', '--private-key', key.privateKeyFile, '--kid', kid, '--format', 'jwk']));
    }
    await writeFile(this.jwksFile, `{"keys":[${keys.join(',')}]}\n`);
  }

  async issue(key, kid) {
    const token = await runCli(this.options.cliPath, ['issue', '--room', 'lobby', '--name', 'Ada'],
      signingEnvironment(key, kid));
    this.tokens.push(token);
    return token;
  }

  // Logs in to host with a token signed by key under kid, and returns the
  // client, which tearDown() closes.
  async login(host, key, kid, transport = 'websocket') {
    const token = await this.issue(key, kid);
    const client = await connect({ transport, port: this.prosody.httpPort, domain: host, token });
    this.clients.push(client);
    return client;
  }

  async expectLogin(host, key, kid, transport = 'websocket') {
    const started = Date.now();
    await this.login(host, key, kid, transport);
    return `${key.alg} kid ${kid} logged in over ${transport} in ${Date.now() - started} ms`;
  }

  async expectRejected(host, key, kid, reason) {
    const token = await this.issue(key, kid);
    return expectRejection(
      () => connect({ transport: 'websocket', port: this.prosody.httpPort, domain: host, token }),
      AuthError, 'not-authorized', reason,
    );
  }

  // Rewrites the config with the current configKeys and JWK Set, sends
  // SIGHUP and waits until CONFIG_HOST has reloaded its keys.
  async reloadConfig() {
    const before = reloadCount(await this.prosody.readLog());
    await writeFile(this.prosody.configPath, this.baseConfig + this.hostsConfig());
    process.kill(this.prosody.pid, 'SIGHUP');
    const deadline = Date.now() + RELOAD_TIMEOUT_MS;
    while (reloadCount(await this.prosody.readLog()) === before) {
      if (Date.now() > deadline) throw new ScenarioFailure(`no key reload within ${RELOAD_TIMEOUT_MS} ms of SIGHUP`);
      await sleep(100);
    }
  }

  requestsFor(name) {
    return this.keyServer.requests.filter((url) => url.endsWith(name)).length;
  }
}

// [name, run(test) -> detail]; they run in this order.
const scenarios = [
  ['folder-rs256', (t) => t.expectLogin(FOLDER_HOST, t.rsaOld, 'dir-rsa-1')],
  ['folder-es256', (t) => t.expectLogin(FOLDER_HOST, t.ecOld, 'dir-ec-1')],
  ['folder-bosh', (t) => t.expectLogin(FOLDER_HOST, t.ecOld, 'dir-ec-1', 'bosh')],
  ['folder-unknown-kid', (t) => t.expectRejected(FOLDER_HOST, t.rsaNew, 'dir-rsa-2', 'unknown-key')],
  ['folder-rotation', async (t) => {
    await t.publishToFolder('dir-rsa-2', t.rsaNew);
    const added = await t.expectLogin(FOLDER_HOST, t.rsaNew, 'dir-rsa-2');
    const old = await t.expectLogin(FOLDER_HOST, t.rsaOld, 'dir-rsa-1');
    return `new key without restart: ${added}; old key still works: ${old}`;
  }],
  ['folder-wrong-key-for-kid', (t) => t.expectRejected(FOLDER_HOST, t.rsaNew, 'dir-rsa-1', 'signature-mismatch')],

  ['server-rs256', async (t) => {
    const detail = await t.expectLogin(SERVER_HOST, t.rsaOld, 'srv-rsa-1');
    await t.expectLogin(SERVER_HOST, t.rsaOld, 'srv-rsa-1');
    const requests = t.requestsFor(await t.asapName('srv-rsa-1'));
    if (requests !== 1) throw new ScenarioFailure(`expected 1 key server request for srv-rsa-1, got ${requests}`);
    return `${detail}; second login from the cache (1 key server request)`;
  }],
  ['server-es256-bosh', (t) => t.expectLogin(SERVER_HOST, t.ecOld, 'srv-ec-1', 'bosh')],
  ['server-unknown-kid', (t) => t.expectRejected(SERVER_HOST, t.rsaNew, 'srv-missing', 'unknown-key')],
  ['server-oversized-response', async (t) => {
    t.keyServer.files.set(await t.asapName('srv-large'), `-----BEGIN PUBLIC KEY-----\n${'A'.repeat(200000)}\n`);
    return t.expectRejected(SERVER_HOST, t.rsaNew, 'srv-large', 'key-unavailable');
  }],
  ['server-rotation', async (t) => {
    await t.publishToServer('srv-rsa-2', t.rsaNew);
    const added = await t.expectLogin(SERVER_HOST, t.rsaNew, 'srv-rsa-2');
    const old = await t.expectLogin(SERVER_HOST, t.rsaOld, 'srv-rsa-1');
    return `new key without restart: ${added}; old key still works: ${old}`;
  }],
  ['server-stopped', async (t) => {
    await t.publishToServer('srv-rsa-3', t.rsaNew);
    await t.keyServer.stop();
    const started = Date.now();
    const rejected = await t.expectRejected(SERVER_HOST, t.rsaNew, 'srv-rsa-3', 'key-unavailable');
    const rejectedAfter = Date.now() - started;
    const cached = await t.expectLogin(SERVER_HOST, t.rsaOld, 'srv-rsa-1');
    return `new kid ${rejected} after ${rejectedAfter} ms; cached key still works: ${cached}`;
  }],

  ['black-hole-does-not-block', async (t) => {
    const started = Date.now();
    let pendingEnded = null;
    const pending = t.expectRejected(BLACK_HOLE_HOST, t.rsaNew, 'bh-new', 'key-unavailable')
      .finally(() => { pendingEnded = Date.now(); });
    // Wait until Prosody's request to the black hole is open.
    const deadline = Date.now() + 5000;
    while (t.blackHole.connectionCount() === 0 && Date.now() < deadline) await sleep(20);
    if (t.blackHole.connectionCount() === 0) throw new ScenarioFailure('Prosody never connected to the black hole');

    const cachedStart = Date.now();
    await t.login(BLACK_HOLE_HOST, t.ecNew, 'bh-config');
    const cachedMs = Date.now() - cachedStart;
    const otherStart = Date.now();
    await t.login(FOLDER_HOST, t.rsaOld, 'dir-rsa-1');
    const otherMs = Date.now() - otherStart;
    if (pendingEnded !== null) throw new ScenarioFailure('the login waiting for the black hole ended too early');
    if (cachedMs > CACHED_LOGIN_MAX_MS || otherMs > CACHED_LOGIN_MAX_MS) {
      throw new ScenarioFailure(`logins took ${cachedMs} ms and ${otherMs} ms while the fetch was pending`);
    }

    const rejected = await pending;
    const waited = pendingEnded - started;
    if (waited < BLACK_HOLE_TIMEOUT_S * 1000 - 200) {
      throw new ScenarioFailure(`the black-hole login ended after ${waited} ms, before the ${BLACK_HOLE_TIMEOUT_S} s timeout`);
    }
    return `while a fetch was pending, a login with a configured key took ${cachedMs} ms and one on another `
      + `host ${otherMs} ms; the pending login was ${rejected} after ${waited} ms`;
  }],

  ['config-keys', (t) => t.expectLogin(CONFIG_HOST, t.rsaOld, 'cfg-rsa-1')],
  ['jwks-file', (t) => t.expectLogin(CONFIG_HOST, t.ecOld, 'jwks-ec-1')],
  ['config-reload-adds-keys', async (t) => {
    await t.expectRejected(CONFIG_HOST, t.rsaNew, 'cfg-rsa-2', 'unknown-key');
    t.configKeys['cfg-rsa-2'] = { alg: 'RS256', publicKeyFile: t.publicKeyFiles.get(t.rsaNew) };
    await t.writeJwks([['jwks-ec-1', t.ecOld], ['jwks-ec-2', t.ecNew]]);
    await t.reloadConfig();
    const added = await t.expectLogin(CONFIG_HOST, t.rsaNew, 'cfg-rsa-2');
    const jwksAdded = await t.expectLogin(CONFIG_HOST, t.ecNew, 'jwks-ec-2');
    const old = await t.expectLogin(CONFIG_HOST, t.rsaOld, 'cfg-rsa-1');
    return `after SIGHUP: ${added}; ${jwksAdded}; old key still works: ${old}`;
  }],
  ['config-reload-removes-keys', async (t) => {
    delete t.configKeys['cfg-rsa-1'];
    await t.writeJwks([['jwks-ec-2', t.ecNew]]);
    await t.reloadConfig();
    const removed = await t.expectRejected(CONFIG_HOST, t.rsaOld, 'cfg-rsa-1', 'unknown-key');
    const jwksRemoved = await t.expectRejected(CONFIG_HOST, t.ecOld, 'jwks-ec-1', 'unknown-key');
    const kept = await t.expectLogin(CONFIG_HOST, t.rsaNew, 'cfg-rsa-2');
    return `removed kids ${removed} and ${jwksRemoved}; ${kept}`;
  }],
  ['folder-removal-on-reload', async (t) => {
    await unlink(path.join(t.keyDir, await t.asapName('dir-rsa-1')));
    await t.reloadConfig();
    const removed = await t.expectRejected(FOLDER_HOST, t.rsaOld, 'dir-rsa-1', 'unknown-key');
    const kept = await t.expectLogin(FOLDER_HOST, t.rsaNew, 'dir-rsa-2');
    return `deleted key file ${removed}; ${kept}`;
  }],

  ['log-hygiene', async (t) => {
    const log = await t.prosody.readLog();
    if (!/Token key added: kid "dir-rsa-1"/.test(log)) throw new ScenarioFailure('no "Token key added" line in the log');
    for (const token of t.tokens) {
      if (log.includes(token.split('.')[2])) throw new ScenarioFailure('a token signature is in the log');
    }
    for (const key of [t.rsaOld, t.rsaNew, t.ecOld, t.ecNew]) {
      const body = (await readFile(key.privateKeyFile, 'utf8')).split('\n')[1];
      if (log.includes(body)) throw new ScenarioFailure('private key material is in the log');
      const publicBody = (await readFile(t.publicKeyFiles.get(key), 'utf8')).split('\n')[1];
      if (log.includes(publicBody)) throw new ScenarioFailure('public key material is in the log');
    }
    return `no token or key material in ${log.split('\n').length} log lines`;
  }],
];

async function runScenarios(test, only) {
  const label = `prosody-${test.prosody.version}`;
  let passed = 0;
  let failed = 0;
  for (const [name, run] of scenarios) {
    if (!name.includes(only)) continue;
    try {
      const detail = await run(test);
      console.log(`ok ${label} ${name} ${detail}`);
      passed += 1;
    } catch (err) {
      console.log(`FAIL ${label} ${name}: ${err.message}`);
      if (!(err instanceof ScenarioFailure)) console.error(err.stack);
      failed += 1;
    }
  }
  if (failed > 0) {
    const log = await test.prosody.readLog();
    console.error(`Prosody ${test.prosody.version} log (last 40 lines of ${test.prosody.logPath}):\n`
      + `${log.trimEnd().split('\n').slice(-40).join('\n')}`);
  }
  return { passed, failed };
}

const options = parseCommandLine(process.argv.slice(2));
let passed = 0;
let failed = 0;
let exitCode = 0;
for (const version of options.prosodyVersions) {
  let test;
  try {
    test = new KeysTest(options, await resolveProsody(version, options));
    await test.setUp();
    const result = await runScenarios(test, options.only);
    passed += result.passed;
    failed += result.failed;
  } catch (err) {
    console.error(`Key end-to-end test could not run on Prosody ${version}: ${err.message}`);
    exitCode = 1;
  } finally {
    await test?.tearDown();
  }
}
console.log(`${passed} passed, ${failed} failed`);
if (failed > 0) exitCode = 1;
// Idle HTTP agents of the BOSH clients would otherwise keep Node running.
process.exit(exitCode);
