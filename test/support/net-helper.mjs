// Traffic helper for the namespace tests, run inside a namespace with
// `nsenter --net=/run/netns/NS -- node net-helper.mjs MODE 'JSON'`.
//   udp        {src, dst, dport, sports: [..], packets}      datagrams from each bound sport
//   probe      {dst, dport, ports: [..], count}              pathsteer probes asking for each port
//   tcp-server {addr, port}                                  reply with sha256 of what each connection sent
//   tcp-client {addr, port, bytes, timeoutMs}                send bytes, compare the digest; exit 1 if wrong
//   agent      {port, replyOffset?, send?: {dst, dport, txSports: [..]}}
//              a stand-in for the agent's probe socket: an ordinary UDP socket on `port`; prints one JSON
//              line per datagram {from, fromPort, type, txSport, seq, ttl, ttlValid} (header bytes 26/27,
//              what probe_steer stashed); answers telemetry requests (0x7e) with a response (0x7f) asking
//              for tx_sport + replyOffset, sent to the requester's tunnel port 4789; after 'ready', sends
//              one request per send.txSports (tx_sport = that port) to send.dst:send.dport
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';

const [mode, json] = process.argv.slice(2);
const a = JSON.parse(json ?? '{}');

function send(sock, buf, port, addr) {
  return new Promise((resolve, reject) => sock.send(buf, port, addr, (e) => (e ? reject(e) : resolve())));
}

async function udp() {
  let sent = 0;
  for (const sport of a.sports) {
    const s = dgram.createSocket('udp4');
    await new Promise((resolve) => s.bind(sport, a.src, resolve));
    for (let i = 0; i < a.packets; i++) {
      await send(s, Buffer.from(`pathsteer test flow ${sport} packet ${i}`), a.dport, a.dst);
      sent++;
    }
    s.close();
  }
  process.stdout.write(`${JSON.stringify({ sent })}\n`);
}

async function probe() {
  const s = dgram.createSocket('udp4');
  let sent = 0;
  for (const port of a.ports) {
    for (let i = 0; i < a.count; i++) {
      const h = Buffer.alloc(28 + 16);
      h[0] = 0xff;
      h[1] = 0xee;
      h[2] = 0xdd;
      h[3] = 0x7e; // telemetry request
      h[4] = 1;
      h.writeUInt16BE(h.length, 8);
      h.writeUInt16BE(port, 10); // tx_sport
      h.writeUInt32BE(sent, 12);
      await send(s, h, a.dport, a.dst);
      sent++;
    }
  }
  s.close();
  process.stdout.write(`${JSON.stringify({ sent })}\n`);
}

function tcpServer() {
  const srv = net.createServer((c) => {
    const hash = createHash('sha256');
    let n = 0;
    c.on('data', (d) => {
      hash.update(d);
      n += d.length;
    });
    c.on('end', () => c.end(`${hash.digest('hex')} ${n}\n`));
    c.on('error', () => c.destroy());
  });
  srv.listen(a.port, a.addr, () => process.stdout.write('ready\n'));
  process.on('SIGTERM', () => process.exit(0));
}

function tcpClient() {
  const data = randomBytes(a.bytes);
  const want = `${createHash('sha256').update(data).digest('hex')} ${a.bytes}`;
  const start = Date.now();
  const c = net.connect(a.port, a.addr);
  const timer = setTimeout(() => {
    process.stdout.write(`${JSON.stringify({ ok: false, error: 'timeout' })}\n`);
    process.exit(1);
  }, a.timeoutMs ?? 20000);
  let reply = '';
  c.on('connect', () => c.end(data));
  c.on('data', (d) => (reply += d));
  c.on('end', () => {
    clearTimeout(timer);
    const got = reply.trim();
    process.stdout.write(`${JSON.stringify({ ok: got === want, ms: Date.now() - start })}\n`);
    process.exit(got === want ? 0 : 1);
  });
  c.on('error', (e) => {
    clearTimeout(timer);
    process.stdout.write(`${JSON.stringify({ ok: false, error: e.message })}\n`);
    process.exit(1);
  });
}

function header(type, txSport, seq) {
  const h = Buffer.alloc(28 + 16);
  h[0] = 0xff;
  h[1] = 0xee;
  h[2] = 0xdd;
  h[3] = type;
  h[4] = 1;
  h.writeUInt16BE(h.length, 8);
  h.writeUInt16BE(txSport, 10);
  h.writeUInt32BE(seq, 12);
  return h;
}

async function agent() {
  const s = dgram.createSocket('udp4');
  s.on('message', (m, rinfo) => {
    if (m.length < 28) return;
    const rec = {
      from: rinfo.address,
      fromPort: rinfo.port,
      type: m[3],
      txSport: m.readUInt16BE(10),
      seq: m.readUInt32BE(12),
      ttl: m[26],
      ttlValid: m[27],
    };
    process.stdout.write(`${JSON.stringify(rec)}\n`);
    if (rec.type === 0x7e && a.replyOffset !== undefined) {
      s.send(header(0x7f, rec.txSport + a.replyOffset, rec.seq), 4789, rinfo.address);
    }
  });
  await new Promise((resolve) => s.bind(a.port, '0.0.0.0', resolve));
  process.stdout.write('ready\n');
  process.on('SIGTERM', () => process.exit(0));
  let seq = 0;
  for (const port of a.send?.txSports ?? []) await send(s, header(0x7e, port, ++seq), a.send.dport, a.send.dst);
}

const modes = { udp, probe, 'tcp-server': tcpServer, 'tcp-client': tcpClient, agent };
if (!modes[mode]) {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
await modes[mode]();
