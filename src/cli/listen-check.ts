import { createServer } from "node:net";
import { listenPlan } from "../transport/listener/listen-all.js";

/** The server cannot listen where it was told to; the message says why and what to do. */
class ListenError extends Error {
  override readonly name = "ListenError";
}

/**
 * Binds `port` on every address the server will listen on (both loopback addresses by default)
 * and lets it go again, so a start that cannot listen fails before it creates or changes
 * anything (a database, signing keys). Port 0 always binds; an optional address this machine
 * lacks (::1 with IPv6 off) is skipped as the server skips it.
 */
export async function checkCanListen(port: number, host: string | undefined, portSource: string): Promise<void> {
  if (port === 0) return;
  const plan = listenPlan(host);
  for (const h of plan.hosts) {
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once("error", (err: NodeJS.ErrnoException) => {
        if (plan.optional.has(h) && (err.code === "EADDRNOTAVAIL" || err.code === "EAFNOSUPPORT")) resolve();
        else reject(listenError(err, port, h, portSource));
      });
      probe.listen({ port, host: h, exclusive: true }, () => probe.close(() => resolve()));
    });
  }
}

/** The sentence for a failed listen; other errors are returned unchanged. */
export function listenError(err: unknown, port: number, host: string | undefined, portSource: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  const where = `${host === undefined ? "" : `${host} `}port ${port} (${portSource.startsWith("the default") ? portSource : `set by ${portSource}`})`;
  switch (code) {
    case "EADDRINUSE":
      return new ListenError(
        `Cannot listen on ${where}: it is in use by another process (another tessera serve?). Stop that process, or choose another port with --port or TESSERA_PORT.`,
      );
    case "EACCES":
      return new ListenError(
        `Cannot listen on ${where}: ports below 1024 need root or CAP_NET_BIND_SERVICE. Choose a port from 1024 with --port or TESSERA_PORT.`,
      );
    case "EADDRNOTAVAIL":
      return new ListenError(`Cannot listen on ${where}: ${host} is not an address of this machine. Fix --host or TESSERA_HOST.`);
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new ListenError(`Cannot listen on ${where}: the name ${host} does not resolve. Fix --host or TESSERA_HOST.`);
    default:
      return err;
  }
}
