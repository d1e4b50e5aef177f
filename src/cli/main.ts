import { readFileSync } from "node:fs";
import { CommanderError } from "commander";
import { buildProgram } from "./program.js";

/**
 * Exit codes by error name: 2 for what the person must fix in the command line or settings,
 * 1 for failures at run time. Names rather than instanceof, so the modules that define these
 * errors are not loaded just to run `tessera --help`.
 */
const EXIT_CODES: Record<string, number> = {
  UsageError: 2,
  ConfigError: 2,
  KekError: 2,
  DatabasePathError: 2,
  DatabaseUrlError: 2,
  // A replica older than the schema must not run on it: the operator upgrades it (or waits).
  SchemaTooNewError: 2,
  MigrationsPendingError: 2,
  ListenError: 2,
  ClientConfigError: 2,
  ConnectError: 1,
  TokenError: 1,
  StorageUnavailableError: 1,
  BackupError: 1,
  CopyError: 1,
  ServerUnreachableError: 1,
  AdminCredentialsError: 1,
  NotConfirmedError: 1,
  AssertionRefusedError: 1,
};

/** Runs the `tessera` command line; resolves to the process exit code (-1: keeps running). */
export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let keepRunning = false;
  const program = buildProgram({ env, version: packageVersion(), keepRunning: () => (keepRunning = true) });
  forEachCommand(program, (cmd, path) =>
    cmd.configureOutput({
      // One line per mistake, naming the command and where its help is.
      outputError: (str, write) => write(`${path}: ${oneLine(str)} See \`${path} --help\`.\n`),
    }),
  );
  try {
    await program.parseAsync(argv, { from: "user" });
    return keepRunning ? -1 : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version exit 0; everything else commander refuses is a usage error.
      return err.exitCode === 0 ? 0 : 2;
    }
    const name = err instanceof Error ? err.name : "";
    const code = EXIT_CODES[name];
    if (code === undefined) throw err;
    process.stderr.write(`tessera: ${await describe(err as Error)}\n`);
    return code;
  }
}

async function describe(err: Error): Promise<string> {
  if (err.name === "ConnectError") {
    const { Code, ConnectError } = await import("@connectrpc/connect");
    if (err instanceof ConnectError) return `${codeName(Code[err.code])}: ${err.rawMessage}`;
  }
  if (err.name === "TokenError") return `${(err as Error & { code: string }).code}: ${err.message}`;
  return err.message;
}

// "NotFound" -> "not_found", as gRPC status names read in docs and grpcurl.
function codeName(name: string | undefined): string {
  return (name ?? "unknown").replace(/[A-Z]/g, (c, i: number) => (i === 0 ? "" : "_") + c.toLowerCase());
}

function oneLine(commanderMessage: string): string {
  const text = commanderMessage
    .replace(/^error: /, "")
    .replace(/\n\(Did you mean (.*)\?\)/, " (did you mean $1?)")
    .replace(/\s*\n\s*/g, " ")
    .trim();
  return /[.?)]$/.test(text) ? text : `${text}.`;
}

function forEachCommand(
  cmd: import("commander").Command,
  fn: (cmd: import("commander").Command, path: string) => void,
  path = cmd.name(),
): void {
  fn(cmd, path);
  for (const sub of cmd.commands) forEachCommand(sub, fn, `${path} ${sub.name()}`);
}

/** The version in package.json: two folders up in development (src/cli), three when built (dist/src/cli). */
function packageVersion(): string {
  for (const relative of ["../../package.json", "../../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(relative, import.meta.url), "utf8")) as {
        version?: string;
        bin?: Record<string, string>;
      };
      if (pkg.bin?.tessera && pkg.version) return pkg.version;
    } catch {
      // not at this depth
    }
  }
  return "unknown";
}
