// XMPP clients for the end-to-end test: strophe.js, the library
// lib-jitsi-meet uses, over WebSocket or BOSH, logging in with SASL
// ANONYMOUS and a `?token=` URL parameter as Jitsi Meet does.

import { DOMParser } from '@xmldom/xmldom';
import { $iq, $pres, Strophe } from 'strophe.js';
import XMLHttpRequest2 from 'xhr2';

// strophe.js's BOSH transport reads responseXML, which xhr2 lacks.
class XMLHttpRequestWithXML extends XMLHttpRequest2 {
  get responseXML() {
    if (!this.responseText) return null;
    return new DOMParser().parseFromString(this.responseText, 'text/xml');
  }
}
globalThis.XMLHttpRequest = XMLHttpRequestWithXML;

Strophe.setLogLevel(Strophe.LogLevel.FATAL);

const NS_MUC = 'http://jabber.org/protocol/muc';
const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';
const NS_MUC_ADMIN = 'http://jabber.org/protocol/muc#admin';
const NS_MUC_OWNER = 'http://jabber.org/protocol/muc#owner';
const NS_DATA = 'jabber:x:data';
const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const TIMEOUT_MS = 10000;

export const TRANSPORTS = ['websocket', 'bosh'];

// A rejected login, with the SASL condition and text Prosody sent.
export class AuthError extends Error {
  constructor(condition, text) {
    super(`authentication failed: ${condition}${text ? ` (${text})` : ''}`);
    this.condition = condition;
    this.text = text;
  }
}

// A rejected room join, with the stanza error condition and text.
export class JoinError extends Error {
  constructor(condition, text) {
    super(`join failed: ${condition}${text ? ` (${text})` : ''}`);
    this.condition = condition;
    this.text = text;
  }
}

function serviceUrl(transport, port, token) {
  const query = token === undefined ? '' : `?token=${encodeURIComponent(token)}`;
  if (transport === 'websocket') return `ws://127.0.0.1:${port}/xmpp-websocket${query}`;
  if (transport === 'bosh') return `http://127.0.0.1:${port}/http-bind${query}`;
  throw new Error(`unknown transport ${transport}`);
}

function withTimeout(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function childElements(element) {
  return Array.from(element?.childNodes ?? []).filter((node) => node.nodeType === 1);
}

function findChild(element, name, namespace) {
  return childElements(element).find((child) => child.localName === name
    && (namespace === undefined || child.namespaceURI === namespace));
}

// Reads the defined condition and text of a SASL <failure/> or a stanza
// <error/> element.
function readError(element) {
  const children = childElements(element);
  const conditionElement = children.find((child) => child.localName !== 'text');
  const textElement = children.find((child) => child.localName === 'text');
  return { condition: conditionElement?.localName ?? 'unknown', text: textElement?.textContent ?? '' };
}

// Returns the values of the data form field `name` in a disco#info result.
export function formFieldValues(stanza, name) {
  const query = findChild(stanza, 'query', NS_DISCO_INFO);
  const form = findChild(query, 'x', NS_DATA);
  const field = childElements(form).find((child) => child.localName === 'field'
    && child.getAttribute('var') === name);
  return childElements(field).filter((child) => child.localName === 'value').map((value) => value.textContent);
}

export function bareJid(jid) {
  return Strophe.getBareJidFromJid(jid);
}

// A logged-in client. Tracks the affiliation and role of every occupant of
// the rooms it joined, from the presences it receives.
class Client {
  constructor(connection, transport) {
    this.connection = connection;
    this.transport = transport;
    this.occupants = new Map(); // occupant JID -> { affiliation, role }
    this.presenceWaiters = new Set();
    connection.addHandler((presence) => {
      this.recordPresence(presence);
      for (const waiter of this.presenceWaiters) waiter(presence);
      return true;
    }, null, 'presence');
  }

  get jid() {
    return this.connection.jid;
  }

  recordPresence(presence) {
    const from = presence.getAttribute('from');
    const x = findChild(presence, 'x', NS_MUC_USER);
    const item = findChild(x, 'item');
    if (!from || !item) return;
    if (presence.getAttribute('type') === 'unavailable') {
      this.occupants.delete(from);
      return;
    }
    this.occupants.set(from, {
      affiliation: item.getAttribute('affiliation') || 'none',
      role: item.getAttribute('role') || 'none',
    });
  }

  // Returns what this client last saw of `occupantJid`, or undefined.
  viewOf(occupantJid) {
    return this.occupants.get(occupantJid);
  }

  // Joins `room` (a bare room JID) as `nick` and returns the occupant JID
  // and the affiliation and role the room reports for it, read after a
  // disco#info round trip so that any later grant is included. Rejects
  // with JoinError when the room rejects the join.
  async join(room, nick) {
    const occupantJid = `${room}/${nick}`;
    const joined = new Promise((resolve, reject) => {
      this.connection.addHandler((presence) => {
        if (presence.getAttribute('from') !== occupantJid) return true;
        if (presence.getAttribute('type') === 'error') {
          const { condition, text } = readError(findChild(presence, 'error'));
          reject(new JoinError(condition, text));
          return false;
        }
        const x = findChild(presence, 'x', NS_MUC_USER);
        const selfPresence = childElements(x).some((child) => child.localName === 'status'
          && child.getAttribute('code') === '110');
        if (!selfPresence) return true;
        resolve();
        return false;
      }, null, 'presence');
    });
    this.connection.send($pres({ to: occupantJid }).c('x', { xmlns: NS_MUC }));
    await withTimeout(joined, `joining ${occupantJid} over ${this.transport}`);
    await this.discoInfo(room);
    return { occupantJid, ...this.viewOf(occupantJid) };
  }

  // Leaves `room` as `nick`, with `status` as the presence status when
  // given (Jitsi clients send "switch_room" when moving to a breakout
  // room), and waits for the room to confirm.
  async leave(room, nick, status) {
    const occupantJid = `${room}/${nick}`;
    const left = this.waitForPresence((presence) => presence.getAttribute('from') === occupantJid
      && presence.getAttribute('type') === 'unavailable', `leaving ${occupantJid}`);
    const presence = $pres({ to: occupantJid, type: 'unavailable' });
    if (status) presence.c('status').t(status);
    this.connection.send(presence);
    await left;
  }

  // Waits until a presence stanza satisfies `predicate`, for at most
  // `timeoutMs`, and returns it.
  waitForPresence(predicate, what, timeoutMs = TIMEOUT_MS) {
    let waiter;
    const found = new Promise((resolve) => {
      waiter = (presence) => {
        if (predicate(presence)) resolve(presence);
      };
      this.presenceWaiters.add(waiter);
    });
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([found, timeout]).finally(() => {
      clearTimeout(timer);
      this.presenceWaiters.delete(waiter);
    });
  }

  // Waits until the room removes this client's occupant `occupantJid` and
  // returns the status codes and the reason of that presence.
  async waitForRemoval(occupantJid, timeoutMs) {
    const presence = await this.waitForPresence((stanza) => stanza.getAttribute('from') === occupantJid
      && stanza.getAttribute('type') === 'unavailable', `removal of ${occupantJid}`, timeoutMs);
    const x = findChild(presence, 'x', NS_MUC_USER);
    const codes = childElements(x).filter((child) => child.localName === 'status')
      .map((child) => child.getAttribute('code'));
    const reason = findChild(findChild(x, 'item'), 'reason')?.textContent ?? '';
    return { codes, reason };
  }

  // Sends an IQ and returns { ok: true, stanza } for a result, or
  // { ok: false, condition, text } for an error.
  sendIq(iq, what) {
    const reply = new Promise((resolve) => {
      this.connection.sendIQ(iq,
        (stanza) => resolve({ ok: true, stanza }),
        (stanza) => resolve(stanza
          ? { ok: false, ...readError(findChild(stanza, 'error')) }
          : { ok: false, condition: 'timeout', text: '' }),
        TIMEOUT_MS);
    });
    return withTimeout(reply, what);
  }

  // Requests the affiliation `affiliation` for the user `userJid` (bare)
  // in `room`, as a muc#admin item, as Jitsi's focus and the "Grant
  // moderator" button do.
  setAffiliation(room, userJid, affiliation) {
    const iq = $iq({ type: 'set', to: room }).c('query', { xmlns: NS_MUC_ADMIN })
      .c('item', { affiliation, jid: userJid });
    return this.sendIq(iq, `setting ${userJid} to ${affiliation} in ${room}`);
  }

  // Returns the bare JIDs that hold `affiliation` in `room`.
  async affiliationList(room, affiliation) {
    const iq = $iq({ type: 'get', to: room }).c('query', { xmlns: NS_MUC_ADMIN }).c('item', { affiliation });
    const reply = await this.sendIq(iq, `listing ${affiliation} affiliations of ${room}`);
    if (!reply.ok) throw new Error(`listing ${affiliation} of ${room} failed: ${reply.condition}`);
    const query = findChild(reply.stanza, 'query', NS_MUC_ADMIN);
    return childElements(query).map((item) => item.getAttribute('jid'));
  }

  // Submits the room configuration fields `fields` (name -> value) of
  // `room` with the owner's muc#owner form.
  configureRoom(room, fields) {
    const iq = $iq({ type: 'set', to: room }).c('query', { xmlns: NS_MUC_OWNER })
      .c('x', { xmlns: NS_DATA, type: 'submit' })
      .c('field', { var: 'FORM_TYPE' }).c('value').t('http://jabber.org/protocol/muc#roomconfig').up().up();
    for (const [name, value] of Object.entries(fields)) {
      iq.c('field', { var: name }).c('value').t(value).up().up();
    }
    return this.sendIq(iq, `configuring ${room}`);
  }

  // Sends a disco#info query to `jid` and waits for the result.
  discoInfo(jid) {
    const result = new Promise((resolve, reject) => {
      this.connection.sendIQ($iq({ type: 'get', to: jid }).c('query', { xmlns: NS_DISCO_INFO }),
        resolve,
        (stanza) => reject(new Error(`disco#info to ${jid} failed: ${stanza ? readError(findChild(stanza, 'error')).condition : 'timeout'}`)),
        TIMEOUT_MS);
    });
    return withTimeout(result, `disco#info to ${jid}`);
  }

  // Closes the session and waits until strophe.js reports it closed.
  async disconnect() {
    if (this.connection.connected === false && this.connection.connecting === false) return;
    const closed = new Promise((resolve) => { this.onDisconnected = resolve; });
    this.connection.disconnect('done');
    await withTimeout(closed, `disconnecting over ${this.transport}`).catch(() => {
      this.connection.reset();
    });
  }
}

// Logs in to `domain` over `transport` on the Prosody HTTP port `port`,
// with SASL ANONYMOUS and `token` in the URL when it is defined, or as
// `jid` with `password`. Returns a Client, or rejects with AuthError when
// Prosody rejects the login.
export function connect({ transport, port, domain, token, jid, password }) {
  const connection = new Strophe.Connection(serviceUrl(transport, port, token));
  let client;
  const connected = new Promise((resolve, reject) => {
    connection.connect(jid ?? domain, password ?? null, (status, condition, element) => {
      switch (status) {
        case Strophe.Status.CONNECTED:
          client = new Client(connection, transport);
          resolve(client);
          break;
        case Strophe.Status.AUTHFAIL: {
          const failure = element ? readError(element) : { condition: condition ?? 'unknown', text: '' };
          reject(new AuthError(failure.condition, failure.text));
          connection.disconnect('authentication failed');
          break;
        }
        case Strophe.Status.CONNFAIL:
        case Strophe.Status.ERROR:
          reject(new Error(`connection over ${transport} failed: ${condition ?? 'unknown'}`));
          break;
        case Strophe.Status.DISCONNECTED:
          reject(new Error(`disconnected over ${transport} before login`));
          client?.onDisconnected?.();
          break;
        default:
          break;
      }
    });
  });
  return withTimeout(connected, `login over ${transport}`);
}
