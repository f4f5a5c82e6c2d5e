// Set-up shared by the end-to-end test (run.mjs) and the demo (demo.mjs):
// command-line options, the Prosody versions to run, a Prosody with the
// project's modules, and a token issuer that uses the project's CLI with
// the same app id and secret.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, constants, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';

import { startProsody } from './prosody.mjs';
import { foreignTokenIssuer, tokenIssuer } from './tokens.mjs';

const execFileAsync = promisify(execFile);

const defaultSourceDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

// Prosody 0.12 is Debian 12's package. Prosody 13 is unpacked from
// bookworm-backports by scripts/prosody13.sh, which downloads it on its
// first run.
export const PROSODY_VERSIONS = ['0.12', '13'];
const PROSODY13_SETUP_TIMEOUT_MS = 300000;

function usage(defaultVersions) {
  return `options:
  --cli PATH                the huddleup-token command (build/huddleup-token)
  --lua-cpath DIR           folder that contains huddleup/token.so (build/lua)
  --source-dir DIR          repository root (default: ${defaultSourceDir})
  --plugin-dir DIR          folder of the Prosody modules for plugin_paths, such as an
                            installed copy (default: SOURCE-DIR/lua)
  --prosody-versions LIST   comma-separated Prosody versions to run on: ${PROSODY_VERSIONS.join(', ')}
                            (default: ${defaultVersions})
  --prosody13-dir DIR       folder for Prosody 13, passed to scripts/prosody13.sh
                            (default: SOURCE-DIR/build/prosody13)
  --only TEXT               run only the scenarios whose name contains TEXT, or with
                            run.mjs the group TEXT (token-path)
  --log-level LEVEL         Prosody log level: debug, info, warn or error (default: info)
  --keep                    keep Prosody's temporary folder (config, log) after the run`;
}

// Parses the command line of run.mjs and demo.mjs. Exits with status 2 and
// the usage text on a missing or unknown option.
export function parseCommandLine(argv, { defaultVersions = PROSODY_VERSIONS.join(',') } = {}) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        cli: { type: 'string' },
        'lua-cpath': { type: 'string' },
        'source-dir': { type: 'string', default: defaultSourceDir },
        'plugin-dir': { type: 'string' },
        'prosody-versions': { type: 'string', default: defaultVersions },
        'prosody13-dir': { type: 'string' },
        only: { type: 'string', default: '' },
        'log-level': { type: 'string', default: 'info' },
        keep: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    console.error(`${err.message}\n${usage(defaultVersions)}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(usage(defaultVersions));
    process.exit(0);
  }
  for (const required of ['cli', 'lua-cpath']) {
    if (!values[required]) {
      console.error(`missing --${required}\n${usage(defaultVersions)}`);
      process.exit(2);
    }
  }
  const versions = values['prosody-versions'].split(',').map((version) => version.trim()).filter(Boolean);
  const unknown = versions.filter((version) => !PROSODY_VERSIONS.includes(version));
  if (versions.length === 0 || unknown.length > 0) {
    console.error(`invalid --prosody-versions ${values['prosody-versions']}: expected a list of `
      + `${PROSODY_VERSIONS.join(', ')}\n${usage(defaultVersions)}`);
    process.exit(2);
  }
  const sourceDir = path.resolve(values['source-dir']);
  return {
    cliPath: path.resolve(values.cli),
    luaCpathDir: path.resolve(values['lua-cpath']),
    sourceDir,
    pluginDir: path.resolve(values['plugin-dir'] ?? path.join(sourceDir, 'lua')),
    prosodyVersions: versions,
    prosody13Dir: path.resolve(values['prosody13-dir'] ?? path.join(sourceDir, 'build', 'prosody13')),
    only: values.only,
    logLevel: values['log-level'],
    keepDir: values.keep,
  };
}

// Writes a prosodyctl launcher for the unpacked Prosody 13 beside the
// prosody launcher of scripts/prosody13.sh, with the same source folders,
// and returns its path.
async function writeProsody13Ctl(prosody13Dir) {
  const root = path.join(prosody13Dir, 'root');
  const source = await readFile(path.join(root, 'usr', 'bin', 'prosodyctl'), 'utf8');
  const launcher = source
    .replace(/^CFG_SOURCEDIR=.*$/m, `CFG_SOURCEDIR='${root}/usr/lib/prosody';`)
    .replace(/^CFG_PLUGINDIR=.*$/m, `CFG_PLUGINDIR='${root}/usr/lib/prosody/modules/';`);
  const launcherPath = path.join(prosody13Dir, 'prosodyctl');
  await writeFile(launcherPath, launcher, { mode: 0o755 });
  return launcherPath;
}

// Returns the commands that run Prosody `version` (one of PROSODY_VERSIONS):
// { version, prosodyCommand, prosodyctlCommand }.
export async function resolveProsody(version, { sourceDir, prosody13Dir }) {
  if (version === '0.12') {
    return { version, prosodyCommand: 'prosody', prosodyctlCommand: 'prosodyctl' };
  }
  const script = path.join(sourceDir, 'scripts', 'prosody13.sh');
  let stdout;
  try {
    ({ stdout } = await execFileAsync('bash', [script, prosody13Dir], { timeout: PROSODY13_SETUP_TIMEOUT_MS }));
  } catch (err) {
    throw new Error(`${script} ${prosody13Dir} failed, so Prosody 13 is not available: `
      + `${err.stderr?.trim() || err.message}`);
  }
  const prosodyCommand = stdout.trim().split('\n').pop();
  return { version, prosodyCommand, prosodyctlCommand: await writeProsody13Ctl(prosody13Dir) };
}

async function checkInputs({ cliPath, luaCpathDir, sourceDir, pluginDir = path.join(sourceDir, 'lua') }) {
  await access(cliPath, constants.X_OK).catch(() => {
    throw new Error(`${cliPath} is not an executable file; build the project first (cmake --build build)`);
  });
  await access(path.join(pluginDir, 'mod_auth_huddleup_token.lua')).catch(() => {
    throw new Error(`${pluginDir}/mod_auth_huddleup_token.lua not found; pass the repository root as --source-dir, `
      + 'or the folder of the installed Prosody modules as --plugin-dir');
  });
  await access(path.join(luaCpathDir, 'huddleup', 'token.so')).catch(() => {
    throw new Error(`${luaCpathDir}/huddleup/token.so not found; build the project first (cmake --build build)`);
  });
}

// Starts the Prosody of `prosody` (from resolveProsody) with a fresh app id,
// secret and focus password, calls `body` with { prosody, issue,
// issueWithOtherSecret, focusPassword }, and stops Prosody however `body`
// ends. Returns what `body` returns.
export async function withProsody(options, prosody, body) {
  await checkInputs(options);
  const appId = 'huddleup-e2e';
  const appSecret = randomBytes(32).toString('hex');
  const otherSecret = randomBytes(32).toString('hex');
  const focusPassword = randomBytes(16).toString('hex');

  const server = await startProsody({
    ...options, appId, appSecret, focusPassword,
    prosodyCommand: prosody.prosodyCommand, prosodyctlCommand: prosody.prosodyctlCommand,
  });
  try {
    return await body({
      prosody: server,
      focusPassword,
      issue: tokenIssuer({ cliPath: options.cliPath, appId, appSecret }),
      issueWithOtherSecret: tokenIssuer({ cliPath: options.cliPath, appId, appSecret: otherSecret }),
      issueForeign: foreignTokenIssuer({ appId, appSecret }),
    });
  } catch (err) {
    const log = await server.readLog();
    console.error(`Prosody log (last 30 lines of ${server.logPath}):\n${log.trimEnd().split('\n').slice(-30).join('\n')}`);
    throw err;
  } finally {
    await server.stop();
  }
}
