/**
 * The state of the agent's own UDP socket from /proc/net/udp in this network
 * namespace: `drops` (datagrams the kernel discarded because the receive
 * buffer was full) and `rx_queue` (bytes received but not read yet).
 * Drops mean missing answers say nothing about the paths and the probe rate
 * must come down; a non-empty queue means answers may be waiting unread, so
 * no probe may be judged lost yet.
 */
import { readFileSync } from 'node:fs';

export interface SocketState {
  drops: number;
  rxQueueBytes: number;
}

/** Drops and receive queue summed over IPv4 UDP sockets bound to local `port`; undefined if none. */
export function parseUdpSocket(text: string, port: number): SocketState | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let found = false;
  const st: SocketState = { drops: 0, rxQueueBytes: 0 };
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13) continue;
    const local = f[1]!;
    if (local.slice(local.indexOf(':') + 1).toUpperCase() !== hexPort) continue;
    found = true;
    st.drops += Number(f[f.length - 1]);
    st.rxQueueBytes += parseInt(f[4]!.split(':')[1] ?? '0', 16) || 0;
  }
  return found ? st : undefined;
}

export function readUdpSocket(port: number, path = '/proc/net/udp'): SocketState | undefined {
  try {
    return parseUdpSocket(readFileSync(path, 'utf8'), port);
  } catch {
    return undefined;
  }
}
