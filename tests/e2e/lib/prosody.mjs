// Starts and stops a throwaway Prosody on 127.0.0.1 with this project's
// modules, for the end-to-end test and the demo.
//
// Prosody runs in the foreground (`prosody -F`) from a fresh temporary
// folder that contains its config, data, pidfile and log. Its ports are free
// ports picked by the OS for each run. The same config serves Prosody
// 0.12 and 13.

import { execFile, spawn } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const DOMAIN = 'meet.jitsi.test';
export const GUEST_DOMAIN = 'guest.meet.jitsi.test';
// A VirtualHost with accounts, for the focus user (Jitsi's jicofo logs in
// to auth.<domain> and is listed in admins).
export const AUTH_DOMAIN = 'auth.meet.jitsi.test';
export const FOCUS_USER = 'focus';
export const FOCUS_JID = `${FOCUS_USER}@${AUTH_DOMAIN}`;

// MUC components, each with mod_huddleup_moderation and the settings of
// one group of scenarios.
export const MUC_DOMAIN = 'conference.meet.jitsi.test';
export const NO_GRANT_MUC_DOMAIN = 'nogrant.meet.jitsi.test';
export const OPEN_MUC_DOMAIN = 'open.meet.jitsi.test';
export const WAIT_MUC_DOMAIN = 'waitforhost.meet.jitsi.test';
export const TENANT_MUC_DOMAIN = 'tenants.meet.jitsi.test';
export const EXPIRY_MUC_DOMAIN = 'expiry.meet.jitsi.test';
export const CONFLICT_MUC_DOMAIN = 'conflicts.meet.jitsi.test';
export const BREAKOUT_MUC_DOMAIN = 'breakout.meet.jitsi.test';

// Stand-ins for Jitsi modules (tests/e2e/fixtures).
const fixturesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

const READY_TIMEOUT_MS = 15000;
const STOP_TIMEOUT_MS = 5000;
const REGISTER_TIMEOUT_MS = 15000;

// Returns a TCP port on 127.0.0.1 that was free a moment ago. Another
// process may take it before Prosody binds it. The start-up then fails
// with an error in the log instead of using the wrong port.
export function getFreePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// Quotes a JavaScript string as a Lua string literal.
function luaString(value) {
  const escaped = String(value).replace(/[\\"\x00-\x1f\x7f]/g,
    (ch) => `\\${ch.charCodeAt(0).toString().padStart(3, '0')}`);
  return `"${escaped}"`;
}

// Returns the config lines of a MUC component with mod_huddleup_moderation
// and `options` (Lua source lines), after `modules` when given.
function mucComponent(host, options = [], modules = []) {
  const enabled = [...modules, 'huddleup_moderation'].map((name) => luaString(name)).join(', ');
  return [
    `Component ${luaString(host)} "muc"`,
    `  modules_enabled = { ${enabled} }`,
    '  muc_room_locking = false',
    // Prosody 0.12 makes admins room owners by default, 13 only with this.
    '  component_admins_as_room_owners = true',
    ...options.map((line) => `  ${line}`),
    '',
  ].join('\n');
}

// Returns the config: the global section, then `hostsConfig` when given,
// else the VirtualHosts and MUC components of the end-to-end scenarios.
function buildConfig({
  dir, pluginDir, httpPort, c2sPort, appId, appSecret, logLevel, hostsConfig, globalModules, globalConfig,
}) {
  const q = luaString;
  return `-- Generated for one end-to-end run; deleted when the run ends.
run_as_root = true
pidfile = ${q(path.join(dir, 'prosody.pid'))}
data_path = ${q(path.join(dir, 'data'))}
certificates = ${q(path.join(dir, 'certs'))}
plugin_paths = { ${q(pluginDir)}, ${q(fixturesDir)} }
log = { { levels = { min = ${q(logLevel)} }, to = "file", filename = ${q(path.join(dir, 'prosody.log'))} } }
admins = { ${q(FOCUS_JID)} }

interfaces = { "127.0.0.1" }
c2s_interfaces = { "127.0.0.1" }
http_interfaces = { "127.0.0.1" }
c2s_ports = { ${c2sPort} }
http_ports = { ${httpPort} }
https_ports = {}
use_ipv6 = false

modules_enabled = { ${['saslauth', 'disco', 'bosh', 'websocket', ...globalModules].map(q).join(', ')} }
modules_disabled = { "s2s" }

http_default_host = ${q(DOMAIN)}
consider_websocket_secure = true
consider_bosh_secure = true
c2s_require_encryption = false
${globalConfig}
${hostsConfig ?? defaultHostsConfig({ appId, appSecret })}`;
}

function defaultHostsConfig({ appId, appSecret }) {
  const q = luaString;
  return `VirtualHost ${q(DOMAIN)}
  authentication = "huddleup_token"
  app_id = ${q(appId)}
  app_secret = ${q(appSecret)}
  huddleup_token_leeway = 0
  -- Jitsi's options for mod_muc_breakout_rooms, from which
  -- mod_huddleup_moderation finds the main MUC of the breakout component.
  main_muc = ${q(MUC_DOMAIN)}
  breakout_rooms_muc = ${q(BREAKOUT_MUC_DOMAIN)}

VirtualHost ${q(GUEST_DOMAIN)}
  authentication = "huddleup_token"
  app_id = ${q(appId)}
  app_secret = ${q(appSecret)}
  huddleup_token_leeway = 0
  allow_empty_token = true

VirtualHost ${q(AUTH_DOMAIN)}
  authentication = "internal_hashed"

${mucComponent(MUC_DOMAIN)}
${mucComponent(NO_GRANT_MUC_DOMAIN, ['huddleup_moderation_allow_grant = false'])}
${mucComponent(OPEN_MUC_DOMAIN, ['huddleup_moderation_restrict_room_creation = false'])}
${mucComponent(WAIT_MUC_DOMAIN, ['huddleup_moderation_wait_for_host = true'])}
${mucComponent(TENANT_MUC_DOMAIN, ['enable_domain_verification = true', `muc_mapper_domain_base = ${q(DOMAIN)}`])}
${mucComponent(EXPIRY_MUC_DOMAIN, ['huddleup_moderation_on_expiry = "kick"'])}
${mucComponent(CONFLICT_MUC_DOMAIN, [],
    ['muc_allowners', 'token_affiliation', 'token_moderation', 'muc_wait_for_host'])}
${mucComponent(BREAKOUT_MUC_DOMAIN, [`e2e_main_muc = ${q(MUC_DOMAIN)}`], ['e2e_breakout_rooms'])}`;
}

async function isReady(httpPort) {
  try {
    const response = await fetch(`http://127.0.0.1:${httpPort}/http-bind`,
      { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

async function readLog(logPath) {
  try {
    return await readFile(logPath, 'utf8');
  } catch {
    return '';
  }
}

function lastLines(text, count) {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}

// Registers the focus user with `prosodyctl register`, as a Jitsi install
// registers jicofo's account.
async function registerFocus({ prosodyctlCommand, configPath, env, focusPassword }) {
  const args = ['--config', configPath, 'register', FOCUS_USER, AUTH_DOMAIN, focusPassword];
  try {
    await execFileAsync(prosodyctlCommand, args, { env, timeout: REGISTER_TIMEOUT_MS });
  } catch (err) {
    const output = `${err.stdout ?? ''}${err.stderr ?? ''}`.trim();
    throw new Error(`${prosodyctlCommand} register ${FOCUS_USER} ${AUTH_DOMAIN} failed: ${output || err.message}`);
  }
}

// Registers the focus user, starts Prosody and waits until its BOSH
// endpoint returns 200. The options are sourceDir (the repository),
// pluginDir (the folder of the Prosody modules for plugin_paths, by
// default SOURCE-DIR/lua), luaCpathDir (the folder that contains huddleup/token.so),
// appId, appSecret, focusPassword, logLevel ("info" by default), keepDir,
// and extraConfig (Lua config text appended to the generated config, such
// as more VirtualHost sections), globalModules (more global
// modules_enabled) and globalConfig (Lua config text for the global
// section, before the hosts). hostsConfig, when given, replaces the
// default VirtualHosts and components. That text starts in the global
// section, so it may begin with global options. The focus user is
// registered only when focusPassword is given, and needs AUTH_DOMAIN.
// prosodyCommand and prosodyctlCommand default to "prosody" and
// "prosodyctl". Returns { httpPort, c2sPort, dir, configPath, logPath,
// pid, version, readLog(), stop() }. stop() ends Prosody with SIGTERM,
// then SIGKILL after 5 s, and deletes the folder unless keepDir is set.
export async function startProsody({
  sourceDir, pluginDir = path.join(sourceDir, 'lua'), luaCpathDir, appId, appSecret, focusPassword,
  prosodyCommand = 'prosody', prosodyctlCommand = 'prosodyctl', logLevel = 'info', keepDir = false, extraConfig = '',
  hostsConfig, globalModules = [], globalConfig = '',
}) {
  const dir = await mkdtemp(path.join(tmpdir(), 'huddleup-prosody-'));
  await mkdir(path.join(dir, 'data'));
  await mkdir(path.join(dir, 'certs'));
  const [httpPort, c2sPort] = [await getFreePort(), await getFreePort()];
  const configPath = path.join(dir, 'prosody.cfg.lua');
  const logPath = path.join(dir, 'prosody.log');
  await writeFile(configPath,
    buildConfig({
      dir, pluginDir, httpPort, c2sPort, appId, appSecret, logLevel, hostsConfig, globalModules, globalConfig,
    }) + extraConfig);

  // Prosody drops relative entries from package.cpath, so the folder must
  // be absolute. The trailing ;; keeps Lua's default search path.
  const env = { ...process.env, LUA_CPATH_5_4: `${path.resolve(luaCpathDir)}/?.so;${process.env.LUA_CPATH_5_4 ?? ';'}` };
  if (focusPassword !== undefined) {
    try {
      await registerFocus({ prosodyctlCommand, configPath, env, focusPassword });
    } catch (err) {
      if (!keepDir) await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  const child = spawn(prosodyCommand, ['-F', '--config', configPath], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  let exitCode = null;
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exitCode = code ?? signal;
      resolve();
    });
  });
  const spawnFailed = new Promise((resolve) => child.on('error', resolve));

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (exitCode === null) {
      child.kill('SIGTERM');
      const timedOut = await Promise.race([exited.then(() => false), sleep(STOP_TIMEOUT_MS).then(() => true)]);
      if (timedOut) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    if (!keepDir) {
      await rm(dir, { recursive: true, force: true });
    }
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const failure = await Promise.race([spawnFailed, sleep(100).then(() => null)]);
    if (failure) {
      await stop();
      throw new Error(`Failed to start ${prosodyCommand}: ${failure.message}. Is Debian's prosody package installed?`);
    }
    if (exitCode !== null) {
      const log = await readLog(logPath);
      await stop();
      throw new Error(`Prosody exited with ${exitCode} during start-up:\n${lastLines(output + log, 20)}`);
    }
    if (await isReady(httpPort)) break;
    if (Date.now() > deadline) {
      const log = await readLog(logPath);
      await stop();
      throw new Error(`Prosody did not respond on http://127.0.0.1:${httpPort}/http-bind `
        + `within ${READY_TIMEOUT_MS} ms:\n${lastLines(output + log, 20)}`);
    }
  }

  // A module that fails to load leaves Prosody running without it, so the
  // start-up log is checked too.
  const log = await readLog(logPath);
  const moduleErrors = log.split('\n').filter((line) => /Error initializing module|Unable to load module/.test(line));
  if (moduleErrors.length > 0) {
    await stop();
    throw new Error(`Prosody failed to load a module:\n${moduleErrors.join('\n')}`);
  }

  const version = log.match(/Prosody version (\S+)/)?.[1] ?? 'unknown';
  return {
    httpPort, c2sPort, dir, configPath, logPath, pid: child.pid, version, stop, readLog: () => readLog(logPath),
  };
}
