import net from "node:net";

/** A TCP proxy on 127.0.0.1 to a local port, that a test can cut (an outage) and restore. */
export interface TcpProxy {
  readonly port: number;
  /** Cuts every open connection and refuses new ones, as an unreachable server would. */
  cut(): Promise<void>;
  /** Accepts connections again, on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a proxy to 127.0.0.1:`targetPort` on a free port. */
export async function tcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const server = () =>
    net.createServer((inbound) => {
      const outbound = net.connect(targetPort, "127.0.0.1");
      for (const s of [inbound, outbound]) {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
        s.on("error", () => {});
      }
      inbound.pipe(outbound).pipe(inbound);
      outbound.on("close", () => inbound.destroy());
      inbound.on("close", () => outbound.destroy());
    });
  const listen = (srv: net.Server, port: number) =>
    new Promise<void>((resolve, reject) => srv.once("error", reject).listen(port, "127.0.0.1", resolve));
  let current: net.Server | undefined = server();
  await listen(current, 0);
  const { port } = current.address() as net.AddressInfo;
  const stop = async () => {
    const s = current;
    current = undefined;
    for (const sock of sockets) sock.destroy();
    if (s) await new Promise((r) => s.close(r));
  };
  return {
    port,
    cut: stop,
    async restore() {
      if (current) return;
      current = server();
      await listen(current, port);
    },
    close: stop,
  };
}
