// What every peer script shares: its settings from the environment (set by bench/run.mjs), and
// how it listens on 127.0.0.1 and stops on SIGINT or SIGTERM.

/**
 * The value of a setting from `env`; throws when the harness did not set it.
 * @param {NodeJS.ProcessEnv} env
 * @param {string} name
 */
export function setting(env, name) {
  const v = env[name];
  if (v === undefined) throw new Error(`${name} is not set in the environment (bench/run.mjs sets it)`);
  return v;
}

/**
 * Listens on 127.0.0.1:PORT and says so on stdout.
 * @param {import("node:net").Server} server
 */
function listen(server) {
  const port = setting(process.env, "PORT");
  server.listen(Number(port), "127.0.0.1", () => process.stdout.write(`listening ${port}\n`));
}

/**
 * Serves HTTP/1.1 until a signal, then closes every connection and exits.
 * @param {import("node:http").Server} server
 */
export function serveHttp(server) {
  listen(server);
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

/**
 * Serves h2c until a signal, then stops accepting, closes `storage` and exits; open HTTP/2
 * sessions keep close() waiting, so it exits after a second regardless.
 * @param {import("node:http2").Http2Server} server
 * @param {{ close(): Promise<void> }} storage
 */
export function serveH2c(server, storage) {
  listen(server);
  const stop = () => {
    server.close(() => storage.close().then(() => process.exit(0)));
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
