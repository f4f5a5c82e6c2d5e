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

// A logged-in client. Tracks the affiliation and role of every occupant of
// the rooms it joined, from the presences it receives.
class Client {
  constructor(connection, transport) {
    this.connection = connection;
    this.transport = transport;
    this.occupants = new Map(); // occupant JID -> { affiliation, role }
    connection.addHandler((presence) => {
      this.recordPresence(presence);
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
// passing `token` in the URL when it is defined. Returns a Client, or
// rejects with AuthError when Prosody rejects the login.
export function connect({ transport, port, domain, token }) {
  const connection = new Strophe.Connection(serviceUrl(transport, port, token));
  let client;
  const connected = new Promise((resolve, reject) => {
    connection.connect(domain, null, (status, condition, element) => {
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
