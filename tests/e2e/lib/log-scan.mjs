// Scans a Prosody log for the rejection lines of mod_auth_huddleup_token and
// for leaked tokens and secrets.
//
// The leak search must cover every 20-byte substring of thousands of
// tokens, some of them 9 KB long. So it indexes every 20-byte window of the
// log by two 32-bit polynomial hashes in a typed-array hash table, and
// looks up each token window there. Every hit is confirmed by an exact
// search, so hash collisions cost time but never give a wrong result.

export const WINDOW_BYTES = 20;

const BASE_1 = 257;
const BASE_2 = 65599;

// Returns base ** (WINDOW_BYTES - 1) modulo 2 ** 32.
function highPower(base) {
  let power = 1;
  for (let i = 0; i < WINDOW_BYTES - 1; i += 1) power = Math.imul(power, base) >>> 0;
  return power;
}

const POWER_1 = highPower(BASE_1);
const POWER_2 = highPower(BASE_2);

// Calls visit(start, hash1, hash2) for every WINDOW_BYTES window of `text`
// (a string of one char per byte) from `from` to `to`.
function forEachWindow(text, from, to, visit) {
  if (to - from < WINDOW_BYTES) return;
  let hash1 = 0;
  let hash2 = 0;
  for (let i = from; i < from + WINDOW_BYTES; i += 1) {
    hash1 = (Math.imul(hash1, BASE_1) + text.charCodeAt(i)) >>> 0;
    hash2 = (Math.imul(hash2, BASE_2) + text.charCodeAt(i)) >>> 0;
  }
  visit(from, hash1, hash2);
  for (let start = from + 1; start + WINDOW_BYTES <= to; start += 1) {
    const out = text.charCodeAt(start - 1);
    const next = text.charCodeAt(start + WINDOW_BYTES - 1);
    hash1 = (Math.imul((hash1 - Math.imul(out, POWER_1)) >>> 0, BASE_1) + next) >>> 0;
    hash2 = (Math.imul((hash2 - Math.imul(out, POWER_2)) >>> 0, BASE_2) + next) >>> 0;
    visit(start, hash1, hash2);
  }
}

// An index of every WINDOW_BYTES window of a log text.
class WindowIndex {
  constructor(text) {
    this.text = text;
    let size = 1024;
    while (size < text.length * 2) size *= 2;
    this.mask = size - 1;
    this.keys = new Uint32Array(size);
    this.values = new Uint32Array(size);
    this.used = new Uint8Array(size);
    forEachWindow(text, 0, text.length, (_, hash1, hash2) => this.insert(hash1, hash2));
  }

  insert(hash1, hash2) {
    for (let slot = hash1 & this.mask; ; slot = (slot + 1) & this.mask) {
      if (!this.used[slot]) {
        this.used[slot] = 1;
        this.keys[slot] = hash1;
        this.values[slot] = hash2;
        return;
      }
      if (this.keys[slot] === hash1 && this.values[slot] === hash2) return;
    }
  }

  mayContain(hash1, hash2) {
    for (let slot = hash1 & this.mask; this.used[slot]; slot = (slot + 1) & this.mask) {
      if (this.keys[slot] === hash1 && this.values[slot] === hash2) return true;
    }
    return false;
  }

  // Returns the first WINDOW_BYTES substring of text[from, to) that occurs
  // in the log, or null.
  findWindow(text, from, to) {
    let found = null;
    forEachWindow(text, from, to, (start, hash1, hash2) => {
      if (found !== null || !this.mayContain(hash1, hash2)) return;
      const window = text.slice(start, start + WINDOW_BYTES);
      if (this.text.includes(window)) found = window;
    });
    return found;
  }
}

// Returns the part of a token whose substrings must not occur in the log:
// the signature segment (after the last '.') when it has at least
// WINDOW_BYTES bytes, else the whole token.
function signatureSegment(token) {
  const segment = token.slice(token.lastIndexOf('.') + 1);
  return segment.length >= WINDOW_BYTES ? segment : token;
}

// Searches `logText` (one char per byte) for each of `secrets` and each of
// `tokens` (strings of one char per byte), and for every WINDOW_BYTES
// substring of each token's signature segment. Values shorter than
// WINDOW_BYTES are not searched, because short strings such as "a" or ".."
// occur in ordinary log text. Returns { searched, skipped, leaks } with
// leaks as { what, sample } (sample is a short hex prefix, never the value).
export function findLeaks(logText, { tokens, secrets }) {
  const index = new WindowIndex(logText);
  const leaks = [];
  let searched = 0;
  let skipped = 0;
  const sampleOf = (text) => Buffer.from(text.slice(0, 6), 'latin1').toString('hex');

  for (const secret of secrets) {
    if (secret.length < WINDOW_BYTES) {
      skipped += 1;
      continue;
    }
    searched += 1;
    if (logText.includes(secret)) leaks.push({ what: 'secret', sample: sampleOf(secret) });
  }

  for (const token of new Set(tokens)) {
    if (token.length < WINDOW_BYTES) {
      skipped += 1;
      continue;
    }
    searched += 1;
    // A whole token in the log contains its first window, so the exact
    // search runs only after that window is found.
    if (index.findWindow(token, 0, WINDOW_BYTES) !== null && logText.includes(token)) {
      leaks.push({ what: 'token', sample: sampleOf(token) });
      continue;
    }
    const segment = signatureSegment(token);
    const window = index.findWindow(segment, 0, segment.length);
    if (window !== null) leaks.push({ what: 'signature substring', sample: sampleOf(window) });
  }
  return { searched, skipped, leaks };
}

// Matches the rejection warnings of mod_auth_huddleup_token ("Rejected
// token HASH for session ID: REASON (DETAIL)" and "Rejected login for
// session ID: REASON (DETAIL)") in Prosody's default file log format.
const REJECTION_LINE = /\twarn\tRejected (?:token [0-9a-f]+|login) for session (\S+): ([a-z-]+) \(/;

// Returns the rejection lines of `logText` as { reasons: Map reason ->
// count, sessions: Map session id -> count, total }, and the log lines at
// level error, which a module error or a traceback produces.
export function readRejections(logText) {
  const reasons = new Map();
  const sessions = new Map();
  const errors = [];
  let total = 0;
  for (const line of logText.split('\n')) {
    const match = line.match(REJECTION_LINE);
    if (match) {
      total += 1;
      reasons.set(match[2], (reasons.get(match[2]) ?? 0) + 1);
      sessions.set(match[1], (sessions.get(match[1]) ?? 0) + 1);
    } else if (/\terror\t|traceback/i.test(line)) {
      errors.push(line);
    }
  }
  return { reasons, sessions, total, errors };
}
