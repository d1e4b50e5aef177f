import http from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * What a stub token endpoint does with one request: answer a token, answer 503, answer an
 * OAuth error (status, optional body and Retry-After in seconds), drop the connection without
 * answering, or never answer.
 */
export type StubStep = "token" | "503" | { status: number; body?: object; retryAfter?: number } | "drop" | "hang";

/** A real HTTP server standing in for a failing token service. */
export interface StubTokenServer {
  url: string;
  /** Requests received so far. */
  readonly count: number;
  /** Arrival time (Date.now()) of each request. */
  readonly arrivals: number[];
  close(): Promise<void>;
}

/**
 * Serves POST /oauth/token, one step of `script` per request; when the script runs out, the
 * last step repeats. For failures a real Tessera cannot be made to produce on demand.
 */
export async function startStubTokenServer(script: StubStep[]): Promise<StubTokenServer> {
  const arrivals: number[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const step = script[Math.min(arrivals.length, script.length - 1)]!;
    arrivals.push(Date.now());
    req.resume();
    if (step === "hang") return;
    if (step === "drop") return req.socket.destroy();
    const json = (status: number, body: object, headers: Record<string, string> = {}) =>
      res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
    if (step === "token") return json(200, { access_token: `stub-token-${arrivals.length}`, token_type: "Bearer", expires_in: 3600 });
    if (step === "503") return json(503, { error: "temporarily_unavailable", error_description: "down for maintenance" });
    const body = step.body ?? { error: "temporarily_unavailable", error_description: "slow down" };
    json(step.status, body, step.retryAfter === undefined ? {} : { "retry-after": String(step.retryAfter) });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get count() {
      return arrivals.length;
    },
    arrivals,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port on which nothing listens (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
