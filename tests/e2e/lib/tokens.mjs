// Issues tokens with the project's `huddleup-token issue` command.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

// Returns a function that issues a token for { room, name, moderator, ttl,
// sub } with the given app id and secret, as the HuddleUp backend would.
// Without sub, the CLI takes the host name of `jitsiHost`.
export function tokenIssuer({ cliPath, appId, appSecret, jitsiHost = 'http://127.0.0.1' }) {
  const env = {
    ...process.env,
    HU_JITSI_HOST: jitsiHost,
    HU_JITSI_JWT_ENABLED: 'true',
    HU_JITSI_JWT_APP_ID: appId,
    HU_JITSI_JWT_SECRET: appSecret,
  };
  return async ({ room, name, moderator = false, ttl, sub }) => {
    const args = ['issue', '--room', room];
    if (name) args.push('--name', name);
    if (moderator) args.push('--moderator');
    if (ttl !== undefined) args.push('--ttl', String(ttl));
    if (sub !== undefined) args.push('--sub', sub);
    let stdout;
    try {
      ({ stdout } = await execFileAsync(cliPath, args, { env, timeout: 10000 }));
    } catch (err) {
      throw new Error(`${cliPath} ${args.join(' ')} failed: ${err.stderr?.trim() || err.message}`);
    }
    const token = stdout.trim();
    if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) {
      throw new Error(`${cliPath} ${args.join(' ')} printed no JWT: ${JSON.stringify(stdout.slice(0, 80))}`);
    }
    return token;
  };
}
