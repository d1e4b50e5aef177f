import type { Config } from "../config.js";
import { createListener, type Listener } from "../transport/listener/listener.js";
import type { Transports } from "./transports.js";

/** The public port for the configuration: every door on one listener, over TLS when certificate and key are given. */
export function composeListener(config: Config, transports: Transports): Listener {
  return createListener({
    handler: transports.handler,
    limits: config,
    tls: config.tlsCert && config.tlsKey ? { cert: config.tlsCert, key: config.tlsKey } : undefined,
    onHttp2Server: transports.onHttp2Server,
    onClose: transports.shutdown,
  });
}
