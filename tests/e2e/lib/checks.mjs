// Checks shared by the end-to-end scenarios. Each throws ScenarioFailure
// with what was expected and what happened.

export class ScenarioFailure extends Error {}

// Checks that `actual` ({ affiliation, role }) is `expected`
// ("affiliation/role") and returns it.
export function expectRoles(actual, expected, whose) {
  const got = `${actual?.affiliation}/${actual?.role}`;
  if (got !== expected) {
    throw new ScenarioFailure(`expected ${whose} to be ${expected}, got ${got}`);
  }
  return got;
}

// Checks the affiliation and role that `observer` has recorded for
// `occupantJid`, after a disco#info round trip to its room so that every
// presence sent before has arrived.
export async function expectRolesAfterRoundTrip(observer, occupantJid, expected, whose) {
  await observer.discoInfo(occupantJid.split('/')[0]);
  return expectRoles(observer.viewOf(occupantJid), expected, whose);
}

// Runs `attempt` and checks that it rejects with `ErrorType` carrying
// `condition` and, when given, `text`. Returns a description of the
// rejection.
export async function expectRejection(attempt, ErrorType, condition, text) {
  let result;
  try {
    result = await attempt();
  } catch (err) {
    if (!(err instanceof ErrorType)) throw err;
    if (err.condition !== condition || (text !== undefined && err.text !== text)) {
      throw new ScenarioFailure(`expected ${condition} (${text ?? 'any text'}), got ${err.condition} (${err.text})`);
    }
    return `rejected ${condition}${err.text ? ` (${err.text})` : ''}`;
  }
  await result?.disconnect?.();
  throw new ScenarioFailure(`expected rejection ${condition} (${text ?? 'any text'}), but it succeeded`);
}

// Checks that an IQ result from Client.sendIq is an error with `condition`.
export function expectIqError(reply, condition, what) {
  if (reply.ok) {
    throw new ScenarioFailure(`expected ${what} to fail with ${condition}, but it succeeded`);
  }
  if (reply.condition !== condition) {
    throw new ScenarioFailure(`expected ${what} to fail with ${condition}, got ${reply.condition}`);
  }
  return reply.condition;
}

// Checks that an IQ result from Client.sendIq is a success.
export function expectIqResult(reply, what) {
  if (!reply.ok) {
    throw new ScenarioFailure(`expected ${what} to succeed, got ${reply.condition} (${reply.text})`);
  }
}

// Returns the MUC node a Jitsi Meet web client sends for the room name
// `name`: NFKC-normalised, lowercased, then percent-encoded with lowercase
// hex digits (getBackendSafeRoomName in jitsi-meet's
// react/features/base/util/uri.ts).
export function jitsiRoomNode(name) {
  return encodeURIComponent(name.normalize('NFKC').toLowerCase()).toLowerCase();
}
