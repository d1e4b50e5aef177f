import http from "node:http";
import type { AddressInfo } from "node:net";

/** A listener of its own that serves only GET /metrics. */
export interface MetricsListener {
  address: AddressInfo;
  close(): Promise<void>;
}

/**
 * Serves the Prometheus exposition on `host:port`, apart from the public port, so that
 * monitoring can reach it on an internal address while clients cannot. Anything but GET
 * /metrics is 404 (405 for another method on /metrics).
 */
export async function listenMetrics(
  scrape: () => Promise<{ contentType: string; body: string }>,
  host: string,
  port: number,
  onUnexpected: (err: unknown) => void,
): Promise<MetricsListener> {
  const server = http.createServer({ requestTimeout: 10_000 }, (req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0];
    if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("Only /metrics is served here.\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" }).end("Use GET.\n");
      return;
    }
    scrape().then(
      (m) =>
        res.writeHead(200, { "content-type": m.contentType, "cache-control": "no-store" }).end(req.method === "HEAD" ? undefined : m.body),
      (err: unknown) => {
        onUnexpected(err);
        res.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end("The metrics could not be collected.\n");
      },
    );
  });
  // Scrapers keep connections alive between scrapes; they must not hold up a shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
