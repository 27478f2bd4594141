/**
 * The programs the kernel lab runs inside its namespaces (with the running Node, `node -e`): a
 * server answering "<name>:<port>" on tcp and udp ports, both families, and a client that
 * reports what one or more connection attempts got: the answer, 'refused' or 'timeout'.
 * Both end by themselves.
 */
export const SERVER = String.raw`
const net = require('net'), dgram = require('dgram');
const [name, ...specs] = process.argv.slice(1);
let pending = specs.length;
const ready = () => { if (--pending === 0) console.log('ready'); };
for (const spec of specs) {
  const [proto, p] = spec.split(':'); const port = Number(p);
  if (proto === 'tcp') net.createServer((s) => { s.on('error', () => {}); s.end(name + ':' + port + '\n'); }).listen({ port, host: '::', ipv6Only: false }, ready);
  else { const u = dgram.createSocket({ type: 'udp6', ipv6Only: false }); u.on('message', (m, r) => u.send(name + ':' + port, r.port, r.address)); u.bind(port, '::', ready); }
}
setTimeout(() => process.exit(0), 180000);
`;

export const CLIENT = String.raw`
const net = require('net'), dgram = require('dgram');
const [proto, host, port, timeout, count, gap] = process.argv.slice(1);
const one = () => new Promise((done) => {
  const t = Number(timeout);
  if (proto === 'tcp') {
    const s = net.connect({ host, port: Number(port) });
    const timer = setTimeout(() => { s.destroy(); done('timeout'); }, t);
    let data = '';
    s.on('data', (d) => { data += d; });
    s.on('end', () => { clearTimeout(timer); done(data.trim() || 'empty'); });
    s.on('error', (e) => { clearTimeout(timer); done(e.code === 'ECONNREFUSED' ? 'refused' : e.code || 'error'); });
  } else {
    const u = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => { u.close(); done('timeout'); }, t);
    u.on('message', (m) => { clearTimeout(timer); u.close(); done(String(m)); });
    u.on('error', (e) => { clearTimeout(timer); u.close(); done(e.code === 'ECONNREFUSED' ? 'refused' : e.code || 'error'); });
    u.connect(Number(port), host, () => u.send('ping'));
  }
});
(async () => {
  const out = [];
  for (let i = 0; i < Number(count); i++) {
    out.push(await one());
    if (Number(gap) > 0) await new Promise((r) => setTimeout(r, Number(gap)));
  }
  console.log(JSON.stringify(out));
})();
`;
