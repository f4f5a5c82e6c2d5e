// Hostile connection-URL queries for the flood test: the rejected cases of
// the shared token cases file, and random garbage in families that each
// aim at one bound of the token path.
//
// Each query is a plan entry { family, domain, query }. tokenValues(query)
// returns the `token` values Prosody decodes from it, for the log scan.

import { createHmac, randomBytes, randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';

// Prosody closes (13.0.1) or never responds to (0.12.3) a request whose
// head exceeds 10 KiB (head_size_limit in net/http/parser.lua). Queries of
// the main flood stay below this, so each one reaches the token path.
// Larger ones are sent separately.
export const MAX_FLOOD_QUERY_BYTES = 9900;

// The verifier's default token size limit (HU_DEFAULT_MAX_SIZE) and the
// module's URL query limit, which adds 1 KiB for other parameters.
export const TOKEN_MAX_SIZE = 8192;
export const QUERY_MAX_SIZE = TOKEN_MAX_SIZE + 1024;

// The JSON bounds of the verifier (HU_MAX_JSON_DEPTH, HU_MAX_JSON_VALUES in
// csrc/internal.h).
const MAX_JSON_DEPTH = 16;
const MAX_JSON_VALUES = 512;

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function randomBase64url(length) {
  const bytes = randomBytes(length);
  let text = '';
  for (let i = 0; i < length; i += 1) text += BASE64URL[bytes[i] & 63];
  return text;
}

function randomJwtShape(length) {
  const first = randomInt(1, Math.max(2, Math.floor(length / 3)));
  const second = randomInt(1, Math.max(2, Math.floor(length / 3)));
  const body = randomBase64url(Math.max(3, length - 2));
  return `${body.slice(0, first)}.${body.slice(first, first + second)}.${body.slice(first + second)}`;
}

function pick(list) {
  return list[randomInt(list.length)];
}

// Percent-encodes every byte, so that any byte reaches Prosody's decoder.
function percentEncodeBytes(bytes) {
  let text = '';
  for (const byte of bytes) text += `%${byte.toString(16).padStart(2, '0')}`;
  return text;
}

const PERCENT_JUNK = [
  '%', '%%', '%zz', '%0', '%G1', '%E0%80%80', '%C0%AF', '%FF%FE', '%ED%A0%80', '+', '%2B', '%26token%3D',
  '%3D', '%2E', '..', '%u0041', '%25%32%35', '%%41', '%0A', '%0D%0A', '%09', '%7F', '%C2%A0', '%F0%9F%92%A9',
];

// Signs an HS256 JWT with `secret`, as the verifier's key, so that the
// token reaches the payload checks.
function signHs256(payload, secret) {
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const body = Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)).toString('base64url');
  const signature = createHmac('sha256', secret).update(`${header}.${body}`).digest('base64url');
  return `${header}.${body}.${signature}`;
}

function validClaims(appId) {
  const now = Math.floor(Date.now() / 1000);
  return { iss: appId, aud: 'jitsi', sub: '127.0.0.1', room: 'flood', nbf: now - 10, exp: now + 600 };
}

// Returns the JSON text of valid claims plus one claim nested `depth` levels
// below the top-level object.
function deepPayload(appId, depth) {
  const claims = JSON.stringify(validClaims(appId));
  return `${claims.slice(0, -1)},"deep":${'['.repeat(depth - 1)}0${']'.repeat(depth - 1)}}`;
}

// Returns valid claims plus `extra` claims with names of one or two
// characters, so that 700 of them still fit the token size limit.
function manyClaimsPayload(appId, extra) {
  const claims = validClaims(appId);
  for (let i = 0; i < extra; i += 1) claims[`_${i.toString(36)}`] = 0;
  return claims;
}

function tokenQuery(token) {
  return `token=${encodeURIComponent(token)}`;
}

// Families of garbage: each has a relative weight, the rejection reasons
// its queries must get, and a function of the flood's settings that
// returns a query.
const GARBAGE_FAMILIES = [
  {
    name: 'random-bytes', weight: 10, reasons: ['invalid-encoding'],
    make: () => `token=${percentEncodeBytes(randomBytes(randomInt(1, 2048)))}`,
  },
  {
    name: 'random-base64url', weight: 10, reasons: ['invalid-encoding'],
    make: () => tokenQuery(randomBase64url(randomInt(1, 3000))),
  },
  {
    name: 'random-jwt-shape', weight: 10, reasons: ['invalid-encoding', 'signature-mismatch', 'unsupported-header'],
    make: () => tokenQuery(randomJwtShape(randomInt(5, 3000))),
  },
  {
    // Larger than the token limit, within the query limit: the verifier's
    // size check rejects it.
    name: 'oversized-token', weight: 5, reasons: ['token-too-large'],
    make: () => tokenQuery(randomJwtShape(randomInt(TOKEN_MAX_SIZE + 1, QUERY_MAX_SIZE - 6 + 1))),
  },
  {
    // Larger than the query limit, within Prosody's request head limit:
    // the module rejects it before splitting the query.
    name: 'oversized-query', weight: 5, reasons: ['token-too-large'],
    make: () => tokenQuery(randomJwtShape(randomInt(QUERY_MAX_SIZE - 6 + 1, MAX_FLOOD_QUERY_BYTES - 6))),
  },
  {
    // A header or signature segment that decodes to more than 1024 bytes
    // (HU_MAX_HEADER_BYTES, HU_MAX_SIGNATURE_BYTES): rejected from its
    // length, before it is decoded.
    name: 'oversized-segment', weight: 4, reasons: ['unsupported-header', 'signature-mismatch'],
    make: () => {
      const segment = randomBase64url(randomInt(1400, 3000));
      const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
      return tokenQuery(randomInt(2) === 0
        ? `${segment}.${randomBase64url(40)}.${randomBase64url(43)}`
        : `${header}.${randomBase64url(40)}.${segment}`);
    },
  },
  {
    name: 'percent-junk', weight: 10, reasons: ['invalid-encoding'],
    make: () => {
      const count = randomInt(1, 200);
      let junk = '';
      for (let i = 0; i < count; i += 1) junk += randomInt(3) === 0 ? randomBase64url(randomInt(1, 20)) : pick(PERCENT_JUNK);
      return randomInt(10) === 0 ? `tok%65n=${junk}` : `token=${junk}`;
    },
  },
  {
    name: 'nul', weight: 8, reasons: ['invalid-encoding'],
    make: (settings) => {
      const jwt = signHs256(validClaims(settings.appId), settings.appSecret);
      return pick([
        () => 'token=%00',
        () => `token=${'%00'.repeat(randomInt(2, 3000))}`,
        () => `token=${jwt}%00`,
        () => `token=%00${jwt}`,
        () => `token=${jwt.slice(0, 20)}%00${jwt.slice(20)}`,
        () => `token=${randomBase64url(randomInt(1, 100))}%00.${randomBase64url(30)}.${randomBase64url(43)}`,
      ])();
    },
  },
  {
    name: 'many-token-params', weight: 8, reasons: ['invalid-encoding', 'token-too-large'],
    make: () => {
      const values = [];
      let length = 0;
      const target = randomInt(2, 1500);
      while (values.length < target && length < MAX_FLOOD_QUERY_BYTES - 100) {
        const value = randomBase64url(randomInt(0, 40));
        values.push(`token=${value}`);
        length += value.length + 7;
      }
      if (values.length < 2) values.push('token=');
      return values.join('&');
    },
  },
  {
    name: 'no-token', weight: 4, reasons: ['missing-token'],
    make: () => pick(['room=flood', 'tokens=abc', 'TOKEN=abc', 'token', '=', '&&&', `room=${randomBase64url(500)}`, 'token%3Dabc']),
  },
  {
    name: 'empty-token', weight: 2, reasons: ['invalid-encoding'],
    make: () => pick(['token=', 'token=&room=flood', 'room=flood&token=']),
  },
  {
    // Signed with the right secret: only the JSON depth bound stops it.
    name: 'signed-deep-json', weight: 4, reasons: ['invalid-json'],
    make: (settings) => tokenQuery(signHs256(deepPayload(settings.appId, randomInt(MAX_JSON_DEPTH + 1, 2000)),
      settings.appSecret)),
  },
  {
    // Signed with the right secret: only the JSON value count bound stops it.
    name: 'signed-many-claims', weight: 4, reasons: ['invalid-json'],
    make: (settings) => tokenQuery(signHs256(manyClaimsPayload(settings.appId, randomInt(MAX_JSON_VALUES, 700)),
      settings.appSecret)),
  },
  {
    name: 'wrong-secret', weight: 5, reasons: ['signature-mismatch'],
    make: (settings) => tokenQuery(signHs256(validClaims(settings.appId), randomBytes(32).toString('hex'))),
  },
];

// Returns the rejection reasons expected for the garbage family `name`, or
// undefined for the cases, whose reasons depend on the case.
export function expectedReasons(name) {
  return GARBAGE_FAMILIES.find((family) => family.name === name)?.reasons;
}

const TOTAL_WEIGHT = GARBAGE_FAMILIES.reduce((sum, family) => sum + family.weight, 0);

function pickFamily() {
  let point = randomInt(TOTAL_WEIGHT);
  for (const family of GARBAGE_FAMILIES) {
    point -= family.weight;
    if (point < 0) return family;
  }
  return GARBAGE_FAMILIES[GARBAGE_FAMILIES.length - 1];
}

// Reads the rejected cases of the token cases file. Returns { cases, secret,
// appId }: cases as { name, token }, and the HMAC secret and issuer that
// most of them were made with, for a host that checks them past the
// signature.
export async function readRejectedCases(casesPath) {
  let document;
  try {
    document = JSON.parse(await readFile(casesPath, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the token cases file ${casesPath}: ${err.message}; pass --shared-dir`);
  }
  const rejected = (document.cases ?? []).filter((entry) => entry.expect === 'reject' && typeof entry.token === 'string');
  if (rejected.length === 0) throw new Error(`${casesPath} has no rejected case with a token`);

  const uses = new Map();
  for (const entry of rejected) {
    if (entry.alg !== 'HS256' || !entry.secret || !entry.app_id) continue;
    const key = JSON.stringify([entry.secret, entry.app_id]);
    uses.set(key, (uses.get(key) ?? 0) + 1);
  }
  const [secret, appId] = JSON.parse([...uses.entries()].sort((a, b) => b[1] - a[1])[0][0]);
  const otherSecrets = [...new Set(rejected.flatMap((entry) => [entry.secret, entry.secret_hex].filter(Boolean)))];
  return { cases: rejected.map((entry) => ({ name: entry.name, token: entry.token })), secret, appId, otherSecrets };
}

// Returns `count` plan entries for one transport: every case once (those
// whose query fits MAX_FLOOD_QUERY_BYTES), then garbage. settings: {
// domain, casesDomain, appId, appSecret, cases }.
export function buildPlan(count, settings) {
  const plan = [];
  for (const { name, token } of settings.cases) {
    const query = tokenQuery(token);
    if (query.length > MAX_FLOOD_QUERY_BYTES) continue;
    if (plan.length >= count) break;
    plan.push({ family: `case:${name}`, domain: settings.casesDomain, query });
  }
  while (plan.length < count) {
    const family = pickFamily();
    plan.push({ family: family.name, domain: settings.domain, query: family.make(settings) });
  }
  return plan;
}

// Returns the cases whose query is too large for the main flood.
export function oversizedCases(cases) {
  return cases.filter(({ token }) => tokenQuery(token).length > MAX_FLOOD_QUERY_BYTES);
}

// Decodes %XX escapes and '+' as util.http.urldecode does (Prosody 0.12.3
// and 13.0.1), into a string of one char per byte.
function prosodyUrlDecode(text) {
  return text.replace(/\+/g, ' ')
    .replace(/%([0-9A-Fa-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
}

// Returns the `token` values that util.http.formdecode finds in `query`,
// one char per byte, and the encoded values as sent.
export function tokenValues(query) {
  const values = [];
  for (const [, name, value] of query.matchAll(/([^=&]*)=([^&]*)/g)) {
    if (prosodyUrlDecode(name) !== 'token') continue;
    values.push(prosodyUrlDecode(value));
    values.push(value);
  }
  return values;
}
