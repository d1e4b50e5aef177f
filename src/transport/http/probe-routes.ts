import type { ReadinessReport } from "../../observability/readiness.js";
import { sendError, sendJson } from "./respond.js";
import type { RouteTable } from "./route-table.js";

/** What the probes and /metrics need. */
export interface ProbeRoutesDeps {
  /** Readiness checks for GET /readyz; absent: no such route. */
  readiness?: (() => Promise<ReadinessReport>) | undefined;
  /** Prometheus exposition for GET /metrics; absent: no such route. */
  scrapeMetrics?: (() => Promise<{ contentType: string; body: string }>) | undefined;
  /** The realm of error answers: the issuer. */
  issuer: string;
  /** Reports unexpected errors (logged, never sent). */
  onUnexpected: (err: unknown) => void;
}

/**
 * Probes for orchestrators: liveness (/healthz) is only that the process answers; readiness
 * (/readyz) runs the checks and answers 503 (with which failed) until they pass. And /metrics
 * when this port serves it.
 */
export function probeRoutes(deps: ProbeRoutesDeps): RouteTable {
  const routes: RouteTable = { "/healthz": { methods: ["GET", "HEAD"], handle: (_req, res) => sendJson(res, 200, { status: "ok" }) } };
  const { readiness, scrapeMetrics } = deps;
  if (readiness) {
    routes["/readyz"] = {
      methods: ["GET", "HEAD"],
      handle: async (_req, res) => {
        try {
          const report = await readiness();
          sendJson(res, report.status === "ready" ? 200 : 503, report);
        } catch (err) {
          sendError(res, err, deps.issuer, deps.onUnexpected);
        }
      },
    };
  }
  if (scrapeMetrics) {
    routes["/metrics"] = {
      methods: ["GET"],
      handle: async (_req, res) => {
        try {
          const m = await scrapeMetrics();
          res.writeHead(200, { "content-type": m.contentType, "cache-control": "no-store" });
          res.end(m.body);
        } catch (err) {
          sendError(res, err, deps.issuer, deps.onUnexpected);
        }
      },
    };
  }
  return routes;
}
