import { spawnSync } from "node:child_process";
import net from "node:net";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { httpRequest } from "../../helpers/http.js";
import { runTessera, startTessera, type TesseraProcess, tempDir } from "../../helpers/tessera-process.js";

// Where `tessera serve` listens. With no --host: 127.0.0.1 and ::1 on one port, so
// `localhost` works whichever address a client resolves it to, nothing else on the machine can
// reach it, and there is no cleartext warning. A non-loopback --host without TLS warns.

const WARNING = /cleartext HTTP on a non-loopback address/;
const dir = tempDir("listen");
const started: TesseraProcess[] = [];
afterAll(async () => {
  for (const s of started) await s.stop("SIGKILL");
});

/** An address of this machine other than loopback, if it has one. */
function nonLoopbackAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (!a.internal && a.family === "IPv4") return a.address;
    }
  }
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      // Link-local IPv6 needs a zone id to connect to; global ones do not.
      if (!a.internal && a.family === "IPv6" && !a.address.startsWith("fe80:")) return a.address;
    }
  }
  return undefined;
}

/** Resolves "connected" or the connection error's code for host:port. */
function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 5000 });
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve("timeout");
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

const url = (host: string, port: number) => `http://${host.includes(":") ? `[${host}]` : host}:${port}/.well-known/jwks.json`;

describe("tessera serve without --host", () => {
  it("listens on 127.0.0.1 and [::1] on the same port, answers on both and on localhost, not on another address of this machine, and does not warn", async () => {
    const s = await startTessera({ db: join(dir, "default.db"), host: null });
    started.push(s);
    for (const host of ["127.0.0.1", "::1", "localhost"]) {
      const r = await httpRequest("GET", url(host, s.port));
      expect(r.status, host).toBe(200);
      expect(JSON.parse(r.text)).toMatchObject({ keys: expect.arrayContaining([expect.objectContaining({ alg: "ES256" })]) });
    }
    const other = nonLoopbackAddress();
    if (other === undefined) console.log("SKIPPED the check on a non-loopback address: this machine has none");
    else expect(await tryConnect(other, s.port), `connecting to ${other}:${s.port}`).toBe("ECONNREFUSED");
    expect(s.logs.filter((l) => WARNING.test(String(l.msg)))).toEqual([]);
    expect(s.logs.find((l) => l.msg === "tessera listening")!.addresses).toEqual([`127.0.0.1:${s.port}`, `[::1]:${s.port}`]);
    expect(await s.stop()).toEqual({ code: 0, signal: null });
  });

  it("with --workers 2, every worker serves both loopback addresses on one port", async () => {
    const s = await startTessera({ db: join(dir, "workers.db"), host: null, args: ["--workers", "2"] });
    started.push(s);
    await s.waitForLog((l) => l.msg === "tessera listening" && l.pid !== s.listening.pid, 30_000);
    const lines = s.logs.filter((l) => l.msg === "tessera listening");
    expect(lines.map((l) => l.addresses)).toEqual([
      [`127.0.0.1:${s.port}`, `[::1]:${s.port}`],
      [`127.0.0.1:${s.port}`, `[::1]:${s.port}`],
    ]);
    for (const host of ["127.0.0.1", "::1"]) expect((await httpRequest("GET", url(host, s.port))).status, host).toBe(200);
    expect(await s.stop()).toEqual({ code: 0, signal: null });
  });

  it("a port taken on ::1 alone is a failed start, not a server on half its addresses", async () => {
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, "::1", resolve));
    const port = (squatter.address() as net.AddressInfo).port;
    try {
      const r = await runTessera(["serve", "--port", String(port), "--db", join(dir, "taken.db")]);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stdout + r.stderr).toMatch(/EADDRINUSE|in use/i);
      expect(r.stdout).not.toMatch(/tessera listening/);
    } finally {
      squatter.close();
    }
  });

  it("on a machine without IPv6 loopback, listens on 127.0.0.1 alone and says so", async (ctx) => {
    // A network namespace of its own with IPv6 turned off on its loopback (needs root).
    const setup = 'ip link set lo up && echo 1 > /proc/sys/net/ipv6/conf/lo/disable_ipv6 && exec "$@"';
    const probe = spawnSync("unshare", ["-n", "sh", "-c", setup, "sh", "true"], { encoding: "utf8" });
    if (probe.status !== 0) {
      console.log(
        `SKIPPED the no-IPv6 start: cannot make a network namespace without IPv6 (${(probe.stderr || probe.error?.message || "").trim()})`,
      );
      ctx.skip();
    }
    const s = await startTessera({ db: join(dir, "v4only.db"), host: null, prefix: ["unshare", "-n", "sh", "-c", setup, "sh"] });
    started.push(s);
    expect(s.logs.find((l) => l.msg === "tessera listening")!.addresses).toEqual([`127.0.0.1:${s.port}`]);
    expect(s.logs.find((l) => /not listening on ::1/.test(String(l.msg)))).toMatchObject({ host: "::1", reason: "EADDRNOTAVAIL" });
    // curl from inside the same namespace (unshare execs, so the server keeps the child's pid).
    const inside = (target: string) =>
      spawnSync("nsenter", ["-t", String(s.child.pid), "-n", "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", target], {
        encoding: "utf8",
      });
    expect(inside(url("127.0.0.1", s.port)).stdout).toBe("200");
    expect(inside(url("localhost", s.port)).stdout).toBe("200");
    expect(await s.stop()).toEqual({ code: 0, signal: null });
  });
});

describe("tessera serve --host 0.0.0.0 without TLS", () => {
  it("is reachable on this machine's other addresses and warns that secrets would cross the network in cleartext", async () => {
    const s = await startTessera({ db: join(dir, "public.db"), host: "0.0.0.0" });
    started.push(s);
    const warn = s.logs.filter((l) => WARNING.test(String(l.msg)));
    expect(warn).toHaveLength(1);
    expect(warn[0]).toMatchObject({ level: 40, host: "0.0.0.0" });
    expect(s.logs.find((l) => l.msg === "tessera listening")!.addresses).toEqual([`0.0.0.0:${s.port}`]);
    const other = nonLoopbackAddress();
    if (other === undefined || other.includes(":"))
      console.log("SKIPPED the check on a non-loopback address: this machine has no IPv4 one");
    else expect((await httpRequest("GET", url(other, s.port))).status).toBe(200);
    expect(await s.stop()).toEqual({ code: 0, signal: null });
  });
});
