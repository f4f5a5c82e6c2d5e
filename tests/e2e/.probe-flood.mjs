import http from 'node:http';
import { startProsody, DOMAIN } from './lib/prosody.mjs';
import { websocketAttempt, boshAttempt, agentPoster, rawPoster } from './lib/raw-login.mjs';
const hostsConfig = `c2s_timeout = 5
VirtualHost "${DOMAIN}"
  authentication = "huddleup_token"
  app_id = "x"
  app_secret = "${'a'.repeat(64)}"
`;
const p = await startProsody({ sourceDir: '/work/main', luaCpathDir: '/work/main/build/lua', appId: 'x', appSecret: 'a'.repeat(64), hostsConfig, prosodyCommand: process.argv[2] || 'prosody' });
const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
const post = agentPoster(agent, p.httpPort);
for (const q of ['token=abc', '', 'token=a&token=b', 'token=%00', 'token=' + 'A'.repeat(9500), 'x', 'token=%zz%', 'token=' + 'A'.repeat(100000)]) {
  console.log(q.slice(0, 30), await websocketAttempt({ port: p.httpPort, query: q, domain: DOMAIN, timeoutMs: 3000 }),
    await boshAttempt({ post, query: q, domain: DOMAIN, timeoutMs: 3000 }));
}
console.log('raw nul', await boshAttempt({ post: rawPoster(p.httpPort), query: 'token=a\0b', domain: DOMAIN }));
let t = Date.now(); for (let i = 0; i < 200; i++) await websocketAttempt({ port: p.httpPort, query: 'token=abc', domain: DOMAIN }); console.log('ws ms', (Date.now() - t) / 200);
t = Date.now(); for (let i = 0; i < 200; i++) await boshAttempt({ post, query: 'token=abc', domain: DOMAIN }); console.log('bosh ms', (Date.now() - t) / 200);
console.log((await p.readLog()).split('\n').slice(-25).join('\n'));
await p.stop(); agent.destroy();
