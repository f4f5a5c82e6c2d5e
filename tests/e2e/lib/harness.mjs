// Set-up shared by the end-to-end test (run.mjs) and the demo (demo.mjs):
// command-line options, a Prosody with the project's modules, and a token
// issuer that uses the project's CLI with the same app id and secret.

import { randomBytes } from 'node:crypto';
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { startProsody } from './prosody.mjs';
import { tokenIssuer } from './tokens.mjs';

const defaultSourceDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const usage = `options:
  --cli PATH          the huddleup-token command (build/huddleup-token)
  --lua-cpath DIR     folder that contains huddleup/token.so (build/lua)
  --source-dir DIR    repository root, for plugin_paths (default: ${defaultSourceDir})
  --log-level LEVEL   Prosody log level: debug, info, warn or error (default: info)
  --keep              keep Prosody's temporary folder (config, log) after the run`;

// Parses the command line of run.mjs and demo.mjs. Exits with status 2 and
// the usage text on a missing or unknown option.
export function parseCommandLine(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        cli: { type: 'string' },
        'lua-cpath': { type: 'string' },
        'source-dir': { type: 'string', default: defaultSourceDir },
        'log-level': { type: 'string', default: 'info' },
        keep: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    console.error(`${err.message}\n${usage}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  for (const required of ['cli', 'lua-cpath']) {
    if (!values[required]) {
      console.error(`missing --${required}\n${usage}`);
      process.exit(2);
    }
  }
  return {
    cliPath: path.resolve(values.cli),
    luaCpathDir: path.resolve(values['lua-cpath']),
    sourceDir: path.resolve(values['source-dir']),
    logLevel: values['log-level'],
    keepDir: values.keep,
  };
}

async function checkInputs({ cliPath, luaCpathDir, sourceDir }) {
  await access(cliPath, constants.X_OK).catch(() => {
    throw new Error(`${cliPath} is not an executable file; build the project first (cmake --build build)`);
  });
  await access(path.join(sourceDir, 'lua', 'mod_auth_huddleup_token.lua')).catch(() => {
    throw new Error(`${sourceDir}/lua/mod_auth_huddleup_token.lua not found; pass the repository root as --source-dir`);
  });
  await access(path.join(luaCpathDir, 'huddleup', 'token.so')).catch(() => {
    throw new Error(`${luaCpathDir}/huddleup/token.so not found; build the project first (cmake --build build)`);
  });
}

// Starts Prosody with a fresh app id and secret, calls `body` with
// { prosody, issue, issueWithOtherSecret }, and stops Prosody however
// `body` ends. Returns what `body` returns.
export async function withProsody(options, body) {
  await checkInputs(options);
  const appId = 'huddleup-e2e';
  const appSecret = randomBytes(32).toString('hex');
  const otherSecret = randomBytes(32).toString('hex');

  const prosody = await startProsody({ ...options, appId, appSecret });
  try {
    return await body({
      prosody,
      issue: tokenIssuer({ cliPath: options.cliPath, appId, appSecret }),
      issueWithOtherSecret: tokenIssuer({ cliPath: options.cliPath, appId, appSecret: otherSecret }),
    });
  } catch (err) {
    const log = await prosody.readLog();
    console.error(`Prosody log (last 30 lines of ${prosody.logPath}):\n${log.trimEnd().split('\n').slice(-30).join('\n')}`);
    throw err;
  } finally {
    await prosody.stop();
  }
}
