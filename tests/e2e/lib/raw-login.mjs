// Login attempts for load tests, with just enough XMPP to reach the SASL
// result: open the stream, read the stream features, send SASL ANONYMOUS,
// read <success/> or <failure/>, close. No stanza is parsed into a DOM and
// no session is bound, so one Node.js process sends several hundred
// attempts per second (measured on 2 cores with Prosody on the same host).
//
// Every attempt resolves, never rejects, with an outcome:
//   { kind: 'success' }
//   { kind: 'failure', condition, text }     SASL <failure/>
//   { kind: 'no-anonymous' }                  features without ANONYMOUS
//   { kind: 'http-error', status }            HTTP status other than 101/200
//   { kind: 'closed' }                        closed by the server before a result
//   { kind: 'timeout' }                       no result within timeoutMs
//   { kind: 'error', message }                any other client-side error

import http from 'node:http';
import net from 'node:net';

import WebSocket from 'ws';

const NS_FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';
const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const NS_HTTPBIND = 'http://jabber.org/protocol/httpbind';

const AUTH_ANONYMOUS = `<auth xmlns="${NS_SASL}" mechanism="ANONYMOUS"/>`;

// Reads the SASL result from received XML text, or returns null when the
// text contains none. The failure condition is the first child element that is
// not <text/>.
function readSaslResult(xml) {
  if (/<success[\s/>]/.test(xml)) return { kind: 'success' };
  const failure = xml.match(/<failure[^>]*>([\s\S]*?)<\/failure>/);
  if (!failure) return null;
  const inner = failure[1];
  const condition = inner.replace(/<text[\s\S]*?<\/text>/, '').match(/<([A-Za-z-]+)/)?.[1] ?? 'unknown';
  const text = inner.match(/<text[^>]*>([\s\S]*?)<\/text>/)?.[1] ?? '';
  return { kind: 'failure', condition, text };
}

function offersAnonymous(xml) {
  return /<mechanism>ANONYMOUS<\/mechanism>/.test(xml);
}

// Runs one attempt over WebSocket (RFC 7395) to ws://127.0.0.1:port/xmpp-websocket?query.
export function websocketAttempt({ port, query, domain, timeoutMs = 10000 }) {
  const url = `ws://127.0.0.1:${port}/xmpp-websocket${query ? `?${query}` : ''}`;
  return new Promise((resolve) => {
    let outcome = null;
    let features = '';
    const ws = new WebSocket(url, 'xmpp', { perMessageDeflate: false, handshakeTimeout: timeoutMs });
    const timer = setTimeout(() => {
      outcome ??= { kind: 'timeout' };
      ws.terminate();
    }, timeoutMs);

    const finish = (result) => {
      outcome ??= result;
      if (ws.readyState === WebSocket.OPEN) ws.send(`<close xmlns="${NS_FRAMING}"/>`);
    };

    ws.on('open', () => ws.send(`<open xmlns="${NS_FRAMING}" to="${domain}" version="1.0"/>`));
    ws.on('message', (data) => {
      const xml = data.toString();
      if (xml.startsWith('<close')) {
        ws.close(1000);
        return;
      }
      if (outcome) return;
      const result = readSaslResult(xml);
      if (result) {
        finish(result);
        return;
      }
      features += xml;
      if (/<\/stream:features>|<features[^>]*\/>/.test(features)) {
        if (offersAnonymous(features)) ws.send(AUTH_ANONYMOUS);
        else finish({ kind: 'no-anonymous' });
      }
    });
    ws.on('unexpected-response', (request, response) => {
      outcome ??= { kind: 'http-error', status: response.statusCode };
      response.resume();
      request.destroy();
    });
    ws.on('error', (err) => {
      outcome ??= /socket hang up|ECONNRESET/.test(err.message) ? { kind: 'closed' } : { kind: 'error', message: err.message };
    });
    ws.on('close', () => {
      clearTimeout(timer);
      resolve(outcome ?? { kind: 'closed' });
    });
  });
}

// Returns a function that POSTs a BOSH body to /http-bind?query over the
// keep-alive `agent`, resolving to { status, body } or rejecting on a
// socket error or after timeoutMs.
export function agentPoster(agent, port) {
  return (query, body, timeoutMs) => new Promise((resolve, reject) => {
    const request = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: `/http-bind${query ? `?${query}` : ''}`,
      agent,
      headers: { 'Content-Type': 'text/xml; charset=utf-8', 'Content-Length': Buffer.byteLength(body) },
      timeout: timeoutMs,
    }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => { text += chunk; });
      response.on('end', () => resolve({ status: response.statusCode, body: text }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
    request.end(body);
  });
}

// Sends one HTTP/1.1 request over a new TCP connection without any check
// of the request line, so that it can carry bytes an HTTP client library
// rejects (a NUL) or a request head far beyond Prosody's limit. Resolves
// to { status, body }, { closed: true } when the server closes without a
// response, or { timedOut: true }.
export function rawHttpRequest({ port, head, body = '', timeoutMs = 5000 }) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks = [];
    let settled = false;
    const settle = (result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => settle({ timedOut: true }), timeoutMs);

    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const status = Number(text.match(/^HTTP\/1\.[01] (\d{3})/)?.[1]);
      const length = Number(text.slice(0, end).match(/\r\ncontent-length: *(\d+)/i)?.[1] ?? 0);
      if (status === 101 || text.length >= end + 4 + length) {
        settle({ status, body: text.slice(end + 4, end + 4 + length) });
      }
    });
    socket.on('error', () => settle({ closed: true }));
    socket.on('close', () => settle({ closed: true }));
    socket.write(Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body)]));
  });
}

// Returns a poster like agentPoster's that sends each request with
// rawHttpRequest, so the query may contain any byte.
export function rawPoster(port) {
  return async (query, body, timeoutMs) => {
    const head = `POST /http-bind${query ? `?${query}` : ''} HTTP/1.1\r\nHost: 127.0.0.1\r\n`
      + `Content-Type: text/xml; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`
      + 'Connection: close\r\n\r\n';
    const result = await rawHttpRequest({ port, head, body, timeoutMs });
    if (result.timedOut) throw new Error('timeout');
    if (result.closed) throw new Error('socket hang up');
    return result;
  };
}

function boshBody(attributes, content = '') {
  const attributeText = Object.entries(attributes).map(([name, value]) => ` ${name}="${value}"`).join('');
  return `<body xmlns="${NS_HTTPBIND}"${attributeText}${content ? `>${content}</body>` : '/>'}`;
}

// Runs one attempt over BOSH (XEP-0124, XEP-0206): a session request with
// `query` in its URL, polls until the stream features arrive, the SASL
// request, and a terminate request. `post` is from agentPoster or
// rawPoster.
export async function boshAttempt({ post, query, domain, timeoutMs = 10000 }) {
  const deadline = Date.now() + timeoutMs;
  let rid = Math.floor(Math.random() * 1e9) + 1;
  const send = async (requestQuery, body) => {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new Error('timeout');
    return post(requestQuery, body, remaining);
  };

  let sid;
  try {
    const created = await send(query, boshBody({
      'xmlns:xmpp': 'urn:xmpp:xbosh', content: 'text/xml; charset=utf-8', hold: 1, rid, to: domain,
      ver: '1.6', wait: 10, 'xml:lang': 'en', 'xmpp:version': '1.0',
    }));
    if (created.status !== 200) return { kind: 'http-error', status: created.status };
    sid = created.body.match(/\ssid=['"]([^'"]+)['"]/)?.[1];
    if (!sid) return { kind: 'error', message: `no sid in the session response: ${created.body.slice(0, 80)}` };

    let features = created.body;
    for (let poll = 0; poll < 3 && !/<(stream:)?features/.test(features); poll += 1) {
      rid += 1;
      features = (await send('', boshBody({ rid, sid }))).body;
    }
    if (!offersAnonymous(features)) return { kind: 'no-anonymous' };

    rid += 1;
    const reply = await send('', boshBody({ rid, sid }, AUTH_ANONYMOUS));
    if (reply.status !== 200) return { kind: 'http-error', status: reply.status };
    return readSaslResult(reply.body) ?? { kind: 'error', message: `no SASL result: ${reply.body.slice(0, 80)}` };
  } catch (err) {
    if (err.message === 'timeout') return { kind: 'timeout' };
    if (/socket hang up|ECONNRESET/.test(err.message)) return { kind: 'closed' };
    return { kind: 'error', message: err.message };
  } finally {
    if (sid) {
      rid += 1;
      await send('', boshBody({ rid, sid, type: 'terminate' })).catch(() => {});
    }
  }
}
