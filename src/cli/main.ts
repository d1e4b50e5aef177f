import { ConnectError } from "@connectrpc/connect";
import { ConfigError } from "../config.js";
import { KekError } from "../keys/key-encryption.js";
import { SchemaTooNewError } from "../storage/sqlite/migrations.js";
import { auditCommand } from "./audit.js";
import { BackupError, backupCommand } from "./backup.js";
import { StorageUnavailableError } from "../storage/storage.js";
import { bootstrapCommand } from "./bootstrap.js";
import { clientsCommand } from "./clients.js";
import { keysCommand } from "./keys.js";
import { serveCommand } from "./serve.js";
import { tokenCommand } from "./token.js";
import { TokenError } from "../client/index.js";
import { HELP, UsageError } from "./usage.js";

/** Runs the `tessera` command line; resolves to the process exit code. */
export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case "serve":
        await serveCommand(args);
        return -1; // keeps running
      case "bootstrap":
        await bootstrapCommand(args, env);
        return 0;
      case "clients":
        await clientsCommand(args, env);
        return 0;
      case "audit":
        await auditCommand(args, env);
        return 0;
      case "backup":
        await backupCommand(args, env);
        return 0;
      case "keys":
        await keysCommand(args, env);
        return 0;
      case "token":
        await tokenCommand(args, env);
        return 0;
      case undefined:
      case "help":
      case "--help":
      case "-h":
        process.stdout.write(HELP);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`Unknown command ${JSON.stringify(command)}; run \`tessera help\`.`);
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError || err instanceof KekError || isArgError(err)) {
      process.stderr.write(`tessera: ${(err as Error).message}\n`);
      return 2;
    }
    if (err instanceof ConnectError) {
      process.stderr.write(`tessera: ${err.code === undefined ? "" : codeName(err)}: ${err.rawMessage}\n`);
      return 1;
    }
    if (err instanceof TokenError) {
      process.stderr.write(`tessera: ${err.code}: ${err.message}\n`);
      return 1;
    }
    if (err instanceof SchemaTooNewError || err instanceof StorageUnavailableError || err instanceof BackupError) {
      process.stderr.write(`tessera: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

function isArgError(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS");
}

function codeName(err: ConnectError): string {
  return err.message.slice(1, err.message.indexOf("]"));
}
