// Graceful shutdown of HTTP servers' connections. Node's server.close() only stops accepting and
// drops idle keep-alive connections: one whose client stalls its headers or body, or a keep-alive
// connection whose response finished after close(), would hold the process. This ends those at once
// and lets requests that have fully arrived finish; the caller decides when the rest are cut.
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';

export class ConnectionDrain {
  private readonly sockets = new Set<Socket>();
  /** socket → the request it is being answered for */
  private readonly serving = new Map<Socket, IncomingMessage>();
  private draining = false;

  watch(server: Server): void {
    server.on('connection', (socket: Socket) => {
      if (this.draining) return void socket.destroy();
      this.sockets.add(socket);
      socket.once('close', () => {
        this.sockets.delete(socket);
        this.serving.delete(socket);
      });
    });
    server.on('request', (req: IncomingMessage, res) => {
      const socket = req.socket as Socket;
      this.serving.set(socket, req);
      res.once('close', () => {
        if (this.serving.get(socket) === req) this.serving.delete(socket);
        // Answered during shutdown: do not keep the connection alive for another request.
        if (this.draining) socket.end();
      });
    });
  }

  /** Ends every connection not carrying a fully received request: idle, stalled headers, stalled body. */
  begin(): void {
    this.draining = true;
    for (const socket of this.sockets) {
      if (!this.serving.get(socket)?.complete) socket.destroy();
    }
  }

  /** The grace period is over: ends the connections still open. */
  cutAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }
}
