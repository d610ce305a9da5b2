// TCP and UDP traffic for the AltPath namespace tests, run inside a namespace
// with `nsenter --net=/run/netns/NS -- node conn-helper.mjs MODE 'JSON'` (or '@FILE').
//   tcp-server {addrs: [..], port, reply}   on every address: read a connection to its end, then send
//                                           `reply` bytes and close; prints 'ready' once listening
//   tcp-client {addr, port, count, send, parallel}
//                                           `count` connections (at most `parallel` at once): send `send`
//                                           bytes, half-close, read the reply to its end; prints one JSON
//                                           line {conns: [{lport, rx}], errors: [..]}
//   udp-flows  {src, dst, sports: [..], dports: [..], packets} or {src, dst, pairs: [[sport, dport], ..], packets}
//                                           one socket per source port; sends `packets` datagrams to every
//                                           destination port (a flow per (sport, dport)); prints {sent}
//   http-sink  {addr, port}                 an AltPath controller stand-in: POST /v1/samples answered
//                                           {accepted, rejected, errors}; prints {port} then 'ready', then
//                                           one JSON line per request {lines: [...parsed samples]}
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';

const [mode, json] = process.argv.slice(2);
// '@FILE': the arguments are in FILE (long flow lists do not fit in argv)
const a = JSON.parse(json?.startsWith('@') ? readFileSync(json.slice(1), 'utf8') : (json ?? '{}'));
process.on('SIGTERM', () => process.exit(0));

function tcpServer() {
  const reply = Buffer.alloc(a.reply ?? 0, 0x61);
  let listening = 0;
  for (const addr of a.addrs) {
    const srv = net.createServer((c) => {
      c.on('data', () => {});
      c.on('end', () => c.end(reply));
      c.on('error', () => c.destroy());
    });
    srv.listen(a.port, addr, () => {
      if (++listening === a.addrs.length) process.stdout.write('ready\n');
    });
  }
}

function oneConn(data) {
  return new Promise((resolve) => {
    const c = net.connect({ host: a.addr, port: a.port });
    let rx = 0;
    let lport = 0;
    const timer = setTimeout(() => {
      c.destroy();
      resolve({ lport, rx, error: 'timeout' });
    }, a.timeoutMs ?? 30000);
    c.on('connect', () => {
      lport = c.localPort;
      c.end(data);
    });
    c.on('data', (d) => (rx += d.length));
    c.on('end', () => {
      clearTimeout(timer);
      resolve({ lport, rx });
    });
    c.on('error', (e) => {
      clearTimeout(timer);
      resolve({ lport, rx, error: e.message });
    });
  });
}

async function tcpClient() {
  const data = Buffer.alloc(a.send ?? 0, 0x62);
  const conns = [];
  const errors = [];
  let next = 0;
  const worker = async () => {
    while (next < a.count) {
      next++;
      const r = await oneConn(data);
      if (r.error) errors.push(r.error);
      else conns.push({ lport: r.lport, rx: r.rx });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, a.parallel ?? 1) }, worker));
  process.stdout.write(`${JSON.stringify({ conns, errors })}\n`);
}

async function udpFlows() {
  let sent = 0;
  const payload = Buffer.from('pathsteer altpath flow');
  const bySport = new Map();
  if (a.pairs) for (const [sp, dp] of a.pairs) bySport.set(sp, [...(bySport.get(sp) ?? []), dp]);
  else for (const sp of a.sports) bySport.set(sp, a.dports);
  for (const [sport, dports] of bySport) {
    const s = dgram.createSocket(a.dst.includes(':') ? 'udp6' : 'udp4');
    await new Promise((resolve) => s.bind(sport, a.src, resolve));
    for (let p = 0; p < a.packets; p++) {
      for (const dport of dports) {
        await new Promise((resolve, reject) => s.send(payload, dport, a.dst, (e) => (e ? reject(e) : resolve())));
        sent++;
      }
    }
    s.close();
  }
  process.stdout.write(`${JSON.stringify({ sent })}\n`);
}

function httpSink() {
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/samples') {
        res.writeHead(404).end();
        return;
      }
      const lines = body.split('\n').filter(Boolean).map((l) => JSON.parse(l));
      process.stdout.write(`${JSON.stringify({ lines, contentType: req.headers['content-type'] })}\n`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ accepted: lines.length, rejected: 0, errors: [] }));
    });
  });
  srv.listen(a.port ?? 0, a.addr, () => {
    process.stdout.write(`${JSON.stringify({ port: srv.address().port })}\n`);
    process.stdout.write('ready\n');
  });
}

const modes = { 'tcp-server': tcpServer, 'tcp-client': tcpClient, 'udp-flows': udpFlows, 'http-sink': httpSink };
if (!modes[mode]) {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
await modes[mode]();
