// Issues tokens with the project's `huddleup-token issue` command.

import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
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

// Returns a function that signs an HS256 token the way another issuer (for
// example Jitsi's own tooling) may write it: the room claim exactly as
// given, so an already percent-encoded claim stays encoded. The project's
// CLI writes a "%" in a room name as "%25" instead.
export function foreignTokenIssuer({ appId, appSecret }) {
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return ({ room, name, moderator = false, ttl = 3600, sub = '127.0.0.1' }) => {
    const now = Math.floor(Date.now() / 1000);
    const header = encode({ alg: 'HS256', typ: 'JWT' });
    const payload = encode({
      iss: appId, aud: 'jitsi', sub, room, iat: now, nbf: now - 10, exp: now + ttl,
      context: { user: { name, moderator } },
    });
    const signature = createHmac('sha256', appSecret).update(`${header}.${payload}`).digest('base64url');
    return `${header}.${payload}.${signature}`;
  };
}
