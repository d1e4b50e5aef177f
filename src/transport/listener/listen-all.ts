import net, { type AddressInfo } from "node:net";

/** The addresses `tessera serve` listens on when no host is given: IPv4 and IPv6 loopback. */
const LOOPBACK_HOSTS: readonly string[] = ["127.0.0.1", "::1"];

/** Where to listen: every host on one port; `optional` hosts are skipped where this machine lacks them. */
export interface ListenPlan {
  hosts: readonly string[];
  optional: ReadonlySet<string>;
}

/**
 * The plan for a --host setting. None (and "localhost") means both loopback addresses, so
 * `localhost` reaches the server whichever of 127.0.0.1 and ::1 a client resolves it to; ::1 is
 * optional there, for machines without IPv6. Anything else is listened on exactly as given.
 */
export function listenPlan(host: string | undefined): ListenPlan {
  if (host === undefined || host === "localhost") return { hosts: LOOPBACK_HOSTS, optional: new Set(["::1"]) };
  return { hosts: [host], optional: new Set() };
}

/** True for an address only this machine can reach: 127.0.0.0/8, ::1 (also IPv4-mapped) and localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^::ffff:/, "");
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Open listeners, one per address, all feeding the same connection handler. */
export interface Listeners {
  addresses: AddressInfo[];
  /** Optional hosts that could not be listened on, and why. */
  skipped: { host: string; reason: string }[];
  /** Stops accepting connections on every address; resolves once all are closed. */
  close(): Promise<void>;
}

// What listen() reports for an address family this machine lacks (IPv6 off or absent).
const UNAVAILABLE = new Set(["EADDRNOTAVAIL", "EAFNOSUPPORT"]);
// Port 0: the first host picks a free port; another process may hold it on the other
// address. Trying again with a new port is cheap; a few times is plenty.
const PORT_ZERO_ATTEMPTS = 5;

/**
 * Listens on every host of `plan` on one port and hands each accepted socket to `accept`.
 * With port 0 the first host picks the port and the others take the same one. A listen error
 * on any non-optional host closes what was opened and rejects.
 */
export async function listenAll(plan: ListenPlan, port: number, accept: (socket: net.Socket) => void): Promise<Listeners> {
  for (let attempt = 1; ; attempt++) {
    const servers: net.Server[] = [];
    const skipped: Listeners["skipped"] = [];
    let chosen = port;
    try {
      for (const host of plan.hosts) {
        // noDelay as http.Server sets it for its own sockets: without it Nagle's algorithm can
        // hold an answer back until the client's delayed ACK (tens of ms on the tail).
        const server = net.createServer({ noDelay: true }, accept);
        try {
          await listenOne(server, chosen, host);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? "";
          if (plan.optional.has(host) && UNAVAILABLE.has(code)) {
            skipped.push({ host, reason: code });
            continue;
          }
          throw err;
        }
        servers.push(server);
        chosen = (server.address() as AddressInfo).port;
      }
    } catch (err) {
      await Promise.all(servers.map(closeServer));
      const retry =
        port === 0 && servers.length > 0 && (err as NodeJS.ErrnoException).code === "EADDRINUSE" && attempt < PORT_ZERO_ATTEMPTS;
      if (retry) continue;
      throw err;
    }
    return {
      addresses: servers.map((s) => s.address() as AddressInfo),
      skipped,
      close: async () => {
        await Promise.all(servers.map(closeServer));
      },
    };
  }
}

function listenOne(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
