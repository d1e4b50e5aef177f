import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { Health } from "../../../../gen/grpc/health/v1/health_pb.js";
import type { HealthState } from "../health-state.js";

/** How many Watch streams may be open at once (each holds a stream and its buffers until the client leaves). */
export interface WatchLimits {
  /** In the whole process. */
  max: number;
  /** On one connection. */
  perConnection: number;
  /** The connection a call arrived on; undefined when unknown (in-memory transports). */
  connectionOf: (ctx: HandlerContext) => object | undefined;
}

const UNLIMITED: WatchLimits = { max: Infinity, perConnection: Infinity, connectionOf: () => undefined };

/** Registers grpc.health.v1.Health (Check and Watch) answering from `state`. */
export function registerHealth(router: ConnectRouter, state: HealthState, limits: WatchLimits = UNLIMITED): void {
  let open = 0;
  const byConnection = new WeakMap<object, number>();
  router.service(Health, {
    check(request) {
      const status = state.get(request.service);
      // grpc.health.v1: "If the requested service is unknown, the call will fail with status NOT_FOUND."
      if (status === undefined) {
        throw new ConnectError(`unknown service "${request.service}"`, Code.NotFound);
      }
      return { status };
    },
    async *watch(request, context) {
      const connection = limits.connectionOf(context);
      const mine = connection === undefined ? 0 : (byConnection.get(connection) ?? 0);
      if (open >= limits.max) {
        throw new ConnectError(
          `this server has ${limits.max} health watches open, its limit; use Check, or Watch again later`,
          Code.ResourceExhausted,
        );
      }
      if (mine >= limits.perConnection) {
        throw new ConnectError(
          `this connection has ${limits.perConnection} health watches open, the limit per connection`,
          Code.ResourceExhausted,
        );
      }
      open++;
      if (connection !== undefined) byConnection.set(connection, mine + 1);
      try {
        // context.signal aborts when the client cancels or the call ends, which
        // ends the watch and removes its listeners.
        for await (const status of state.watch(request.service, context.signal)) {
          yield { status };
        }
      } finally {
        open--;
        if (connection !== undefined) byConnection.set(connection, (byConnection.get(connection) ?? 1) - 1);
      }
    },
  });
}
