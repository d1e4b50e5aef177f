import { EventEmitter, once } from "node:events";
import type http2 from "node:http2";
import type net from "node:net";

/**
 * The connections a listener has open: its sockets, and the HTTP/2 sessions on them. Emits
 * "empty" when the last socket closes, so a drain waits on that event rather than polling.
 */
export class ConnectionTracker extends EventEmitter<{ empty: [] }> {
  readonly #sockets = new Set<net.Socket>();
  readonly #sessions = new Set<http2.Http2Session>();

  /** Counts `socket` until it closes. */
  trackSocket(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.once("close", () => {
      this.#sockets.delete(socket);
      if (this.#sockets.size === 0) this.emit("empty");
    });
  }

  /** Remembers an HTTP/2 session until it closes, so a drain can send it GOAWAY. */
  trackSession(session: http2.Http2Session): void {
    this.#sessions.add(session);
    session.once("close", () => this.#sessions.delete(session));
  }

  /** How many sockets are open. */
  get size(): number {
    return this.#sockets.size;
  }

  /** Resolves once no socket is open (at once when none is). */
  async whenEmpty(): Promise<void> {
    if (this.#sockets.size > 0) await once(this, "empty");
  }

  /** Sends GOAWAY on every HTTP/2 session: streams in flight finish, no new ones start. */
  closeSessions(): void {
    for (const s of this.#sessions) s.close();
  }

  /** Ends every connection at once, whatever it is doing. */
  destroyAll(): void {
    for (const s of this.#sessions) s.destroy();
    for (const s of this.#sockets) s.destroy();
  }
}
