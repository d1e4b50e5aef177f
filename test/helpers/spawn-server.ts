import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** The real `tessera` command (compiled by `npm test` / `npm ci`). */
export const TESSERA_BIN = fileURLToPath(new URL("../../bin/tessera", import.meta.url));
const DIST = fileURLToPath(new URL("../../dist/src/cli/main.js", import.meta.url));

/** A `tessera serve` child process. */
export interface ServerProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  stop(): Promise<number | null>;
}

/** Starts `tessera serve` on a free loopback port and resolves once it listens. */
export async function spawnServer(args: string[], env: Record<string, string> = {}): Promise<ServerProcess> {
  if (!existsSync(DIST)) throw new Error("dist/ is missing: run `npm run build` (npm test does it) first");
  const child = spawn(process.execPath, [TESSERA_BIN, "serve", "--port", "0", "--host", "127.0.0.1", ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 15_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${stderr}`));
    });
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const rec = JSON.parse(line) as Record<string, unknown>;
      logs.push(rec);
      if (rec.msg === "tessera listening") {
        clearTimeout(timer);
        resolve(rec.port as number);
      }
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    logs,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
      child.kill("SIGTERM");
      return exited;
    },
  };
}

/** Runs `tessera ARGS` to completion. */
export function runTessera(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [TESSERA_BIN, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    encoding: "utf8",
    timeout: 20_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
