import net from "node:net";

/** One statement a client sent, as the PostgreSQL protocol carries it (a Query or a Parse message). */
export interface PgStatement {
  /** performance.now() when the proxy read it. */
  at: number;
  /** Which client connection sent it, numbered from 1 in the order they connected. */
  connection: number;
  /** The connection's application_name, from its startup message. */
  application: string;
  sql: string;
}

/** A PostgreSQL-protocol-aware TCP proxy that logs every statement its clients send. */
export interface PgWireLog {
  readonly port: number;
  /** Every statement so far, in the order read. */
  readonly statements: PgStatement[];
  /**
   * Stops forwarding in both directions without closing anything, as a database that stopped
   * answering: what a client awaits from it then never arrives until `thaw()`.
   */
  freeze(): void;
  /** Forwards again what was held back, and from then on. */
  thaw(): void;
  close(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

/**
 * Starts a proxy to 127.0.0.1:`targetPort` that parses what clients send (the frontend half of
 * the protocol, https://www.postgresql.org/docs/15/protocol-message-formats.html) and records
 * every simple Query ('Q') and extended-protocol Parse ('P'): each statement a driver sends is
 * exactly one of these. It refuses TLS (answers 'N' to SSLRequest), so clients must use
 * sslmode=disable or prefer: the traffic has to be readable.
 */
export async function pgWireLog(targetPort: number): Promise<PgWireLog> {
  const statements: PgStatement[] = [];
  const sockets = new Set<net.Socket>();
  // Freezing holds back what clients send (a paused socket emits no data): the server never
  // sees the statement, so the answer a client awaits never comes.
  const inbounds = new Set<net.Socket>();
  let frozen = false;
  let connections = 0;
  const server = net.createServer((inbound) => {
    const connection = ++connections;
    const outbound = net.connect(targetPort, "127.0.0.1");
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
    inbounds.add(inbound);
    inbound.on("close", () => inbounds.delete(inbound));
    if (frozen) inbound.pause();
    outbound.pipe(inbound);
    outbound.on("close", () => inbound.destroy());
    inbound.on("close", () => outbound.destroy());
    let pending = Buffer.alloc(0);
    let started = false;
    let application = "";
    inbound.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        if (!started) {
          if (pending.length < 8) return;
          const len = pending.readInt32BE(0);
          if (pending.length < len) return;
          const code = pending.readInt32BE(4);
          const message = pending.subarray(0, len);
          pending = pending.subarray(len);
          if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
            inbound.write("N");
            continue;
          }
          application = startupParameters(message).get("application_name") ?? "";
          started = true;
          outbound.write(message);
          continue;
        }
        if (pending.length < 5) return;
        const len = pending.readInt32BE(1);
        if (pending.length < 1 + len) return;
        const type = String.fromCharCode(pending[0]!);
        const message = pending.subarray(0, 1 + len);
        pending = pending.subarray(1 + len);
        const body = message.subarray(5);
        if (type === "Q") statements.push({ at: performance.now(), connection, application, sql: cString(body, 0).text });
        if (type === "P") {
          const name = cString(body, 0);
          statements.push({ at: performance.now(), connection, application, sql: cString(body, name.end + 1).text });
        }
        outbound.write(message);
      }
    });
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    statements,
    freeze() {
      frozen = true;
      for (const s of inbounds) s.pause();
    },
    thaw() {
      frozen = false;
      for (const s of inbounds) s.resume();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** The NUL-terminated string at `start` of `buf`, and the index of its NUL. */
function cString(buf: Buffer, start: number): { text: string; end: number } {
  const end = buf.indexOf(0, start);
  return { text: buf.toString("utf8", start, end < 0 ? buf.length : end), end: end < 0 ? buf.length : end };
}

/** The key/value pairs of a StartupMessage (after its length and protocol version). */
function startupParameters(message: Buffer): Map<string, string> {
  const params = new Map<string, string>();
  for (let at = 8; at < message.length && message[at] !== 0; ) {
    const key = cString(message, at);
    const value = cString(message, key.end + 1);
    params.set(key.text, value.text);
    at = value.end + 1;
  }
  return params;
}
