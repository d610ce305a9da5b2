/**
 * The agent's one UDP socket. Probes leave from it to the peer's tunnel port
 * (so they share the ECMP hash of tenant traffic once vxlan_sport stamps the
 * header's tx_sport); probe_steer delivers pathsteer packets arriving on the
 * tunnel port to it.
 */
import { createSocket, type Socket } from 'node:dgram';
import { PathsteerError, UsageError } from '../common/errors.js';

export interface Datagram {
  data: Buffer;
  address: string;
  port: number;
}

export interface Transport {
  send(data: Buffer, address: string, port: number): void;
  onMessage(handler: (d: Datagram) => void): void;
  close(): Promise<void>;
}

export class UdpTransport implements Transport {
  private handler: ((d: Datagram) => void) | undefined;
  sendErrors = 0;

  private constructor(private readonly sock: Socket) {
    sock.on('message', (data, rinfo) => this.handler?.({ data, address: rinfo.address, port: rinfo.port }));
  }

  /** Bind 0.0.0.0:port (the agent port probe_steer steers to). */
  static open(port: number, address = '0.0.0.0'): Promise<UdpTransport> {
    return new Promise((resolve, reject) => {
      const sock = createSocket({ type: 'udp4', reuseAddr: false });
      const onError = (e: NodeJS.ErrnoException): void => {
        sock.close();
        reject(
          e.code === 'EADDRINUSE'
            ? new UsageError(`the agent port ${port} is already in use in this network namespace (another pathsteer agent? choose one with --agent-port)`)
            : new PathsteerError(`cannot bind the agent socket ${address}:${port}: ${e.code ?? e.message}`),
        );
      };
      sock.once('error', onError);
      sock.bind(port, address, () => {
        sock.off('error', onError);
        sock.on('error', () => {}); // send errors are counted per call
        try {
          sock.setRecvBufferSize(4 * 1024 * 1024);
          sock.setSendBufferSize(4 * 1024 * 1024);
        } catch {
          // best effort: limited by net.core.rmem_max
        }
        resolve(new UdpTransport(sock));
      });
    });
  }

  send(data: Buffer, address: string, port: number): void {
    this.sock.send(data, port, address, (err) => {
      if (err) this.sendErrors++;
    });
  }

  onMessage(handler: (d: Datagram) => void): void {
    this.handler = handler;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.sock.close(() => resolve()));
  }
}
