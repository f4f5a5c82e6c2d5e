#!/usr/bin/env node
// Local demo, started by deploy/demo/run.sh: a throwaway Prosody with the
// project's modules, tokens from the project's CLI, and a moderator and a
// member joining one room over WebSocket and one over BOSH. Prints who got
// which affiliation and role, shows a forged token being rejected, then
// stops Prosody.

import { parseCommandLine, resolveProsody, withProsody } from './lib/harness.mjs';
import { DOMAIN, MUC_DOMAIN } from './lib/prosody.mjs';
import { AuthError, connect, TRANSPORTS } from './lib/xmpp.mjs';

function printTable(rows) {
  const headers = ['transport', 'user', 'token', 'affiliation', 'role'];
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => row[i].length)));
  const format = (cells) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  console.log(format(headers));
  console.log(format(widths.map((width) => '-'.repeat(width))));
  for (const row of rows) console.log(format(row));
}

async function runDemo({ prosody, issue, issueWithOtherSecret }) {
  console.log(`Prosody ${prosody.pid} is serving ${DOMAIN} on 127.0.0.1:${prosody.httpPort} (BOSH /http-bind, WebSocket /xmpp-websocket)\n`);
  const login = (transport, token) => connect({ transport, port: prosody.httpPort, domain: DOMAIN, token });
  const rows = [];

  for (const transport of TRANSPORTS) {
    const room = `demo-${transport}`;
    const roomJid = `${room}@${MUC_DOMAIN}`;

    // The member creates the room; Prosody would make a room's creator
    // owner, but a member token keeps it a member.
    const bob = await login(transport, await issue({ room, name: 'Bob' }));
    const ada = await login(transport, await issue({ room, name: 'Ada', moderator: true }));
    try {
      const bobSelf = await bob.join(roomJid, 'bob');
      const adaSelf = await ada.join(roomJid, 'ada');
      await bob.discoInfo(roomJid);
      const bobNow = bob.viewOf(bobSelf.occupantJid) ?? bobSelf;
      rows.push([transport, 'Bob (creates the room)', 'member', bobNow.affiliation, bobNow.role]);
      rows.push([transport, 'Ada (joins later)', 'moderator', adaSelf.affiliation, adaSelf.role]);
    } finally {
      await ada.disconnect();
      await bob.disconnect();
    }
  }
  printTable(rows);

  const forged = await issueWithOtherSecret({ room: 'demo-websocket', name: 'Mallory', moderator: true });
  try {
    const mallory = await login('websocket', forged);
    await mallory.disconnect();
    console.log('\nA token signed with another secret was accepted: this is a bug.');
    return false;
  } catch (err) {
    if (!(err instanceof AuthError)) throw err;
    console.log(`\nA token signed with another secret: login rejected with ${err.condition} (${err.text}).`);
  }
  return true;
}

// The demo runs on the first version of --prosody-versions, which is
// Debian's Prosody 0.12 by default.
const options = parseCommandLine(process.argv.slice(2), { defaultVersions: '0.12' });
let exitCode;
try {
  const prosody = await resolveProsody(options.prosodyVersions[0], options);
  exitCode = (await withProsody(options, prosody, runDemo)) ? 0 : 1;
  console.log('Prosody stopped.');
} catch (err) {
  console.error(`Demo failed: ${err.message}`);
  exitCode = 1;
}
// Idle HTTP agents of the BOSH clients would otherwise keep Node running.
process.exit(exitCode);
