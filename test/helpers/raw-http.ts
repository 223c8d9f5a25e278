// Raw HTTP/1.1 over node:net, for tests of what a client does with the connection itself: stall its
// headers or body, hold a long-poll, stay idle. Works on TCP and on the Unix socket listener.
import { connect, type Socket } from 'node:net';

/** A TCP port on loopback, or a Unix socket path. */
export type Listener = { port: number } | { path: string };

export interface RawConnection {
  socket: Socket;
  /** Everything the server sent so far. */
  received(): string;
  /** Resolves when the server has closed the connection (or after `giveUpMs`: then `closed` is false). */
  closed(giveUpMs: number): Promise<{ closed: boolean; afterMs: number; text: string }>;
}

/** Connects and writes `data` (possibly an unfinished request). Times are counted from the connection. */
export function rawConnect(listener: Listener, data: string): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = 'port' in listener ? connect(listener.port, '127.0.0.1') : connect(listener.path);
    let text = '';
    let closedAt: number | null = null;
    const t0 = Date.now();
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    socket.on('error', () => undefined); // a reset is one way of being closed
    socket.on('close', () => (closedAt = Date.now()));
    socket.once('connect', () => {
      if (data) socket.write(data);
      resolve({
        socket,
        received: () => text,
        closed: (giveUpMs) =>
          new Promise((done) => {
            const report = () => done({ closed: closedAt !== null, afterMs: (closedAt ?? Date.now()) - t0, text });
            if (closedAt !== null) return report();
            const timer = setTimeout(() => {
              socket.off('close', onClose);
              report();
            }, giveUpMs);
            const onClose = () => {
              clearTimeout(timer);
              report();
            };
            socket.once('close', onClose);
          }),
      });
    });
    socket.once('error', reject);
  });
}

/** The status code of the first response in `text`, or null. */
export const statusOf = (text: string): number | null => {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
  return m ? Number(m[1]) : null;
};

/** The JSON body of a single complete response in `text`. */
export const bodyOf = (text: string): unknown => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
