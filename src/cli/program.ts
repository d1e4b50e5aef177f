import { Command, InvalidArgumentError, Option } from "commander";
import { CLIENT_ASSERTION_ALGS } from "../client/client-key.js";
import { ENV_ONLY_SETTINGS, type RawSettings, SETTINGS, type Setting } from "../config.js";
import { DURATION_FORMS, parseDuration } from "../duration.js";
import { addClientCredentialCommands } from "./client-credential-commands.js";
import { DB_HELP } from "./database-option.js";
import { defaultServer, SERVER_HELP } from "./server-address.js";
import { UsageError } from "./usage.js";

/** What a command's action needs from the process: the environment, and a way to say "keep running". */
export interface ProgramContext {
  env: NodeJS.ProcessEnv;
  version: string;
  /** Called by `serve`: the process stays up after the action returns. */
  keepRunning(): void;
}

/**
 * The `tessera` command tree. Each command loads its implementation only when it runs, so
 * `tessera --help` and `tessera token` do not pay for the server's modules.
 */
export function buildProgram(ctx: ProgramContext): Command {
  const program = new Command("tessera")
    .description("OAuth 2.0 client credentials server: gRPC, Connect, and the form POST /oauth/token on one port")
    .version(ctx.version, "-v, --version", "print the version")
    .helpOption("-h, --help", "show help")
    .helpCommand("help [command]", "show help for a command")
    .showSuggestionAfterError(true)
    .exitOverride()
    .addHelpText("after", "\nRun `tessera COMMAND --help` for a command's flags, their environment variables and defaults.");
  // In the order `tessera --help` lists them.
  addServe(program, ctx);
  addBootstrap(program, ctx.env);
  addClients(program, ctx.env);
  addKeys(program, ctx.env);
  addAudit(program, ctx.env);
  addBackup(program, ctx.env);
  addDatabaseCommands(program, ctx.env);
  addToken(program, ctx.env);
  program
    .command("completion")
    .description("print a bash completion script: source <(tessera completion)")
    .action(async () => {
      process.stdout.write((await import("./completion.js")).bashCompletion(program));
    });
  checkMandatoryOptionsLast(program);
  return program;
}

/**
 * Commander checks mandatory options before it looks for unknown ones, so a misspelt
 * `--nme x` would be reported as a missing `--name`. Every command's mandatory options are
 * checked instead just before its action runs: after unknown options were refused (with a
 * "did you mean") and the arguments were read.
 */
function checkMandatoryOptionsLast(program: Command): void {
  const mandatory = new Map<Command, Option[]>();
  const visit = (cmd: Command) => {
    const options = cmd.options.filter((o) => o.mandatory);
    for (const o of options) o.makeOptionMandatory(false);
    mandatory.set(cmd, options);
    cmd.commands.forEach(visit);
  };
  visit(program);
  program.hook("preAction", (_program, action) => {
    for (const o of mandatory.get(action) ?? []) {
      if (action.getOptionValue(o.attributeName()) === undefined) {
        action.error(`error: required option '${o.flags}' not specified`, { code: "commander.missingMandatoryOptionValue" });
      }
    }
  });
}

/** `tessera serve`: one flag per setting of the table in config.ts. */
function addServe(program: Command, ctx: ProgramContext): void {
  const serve = program
    .command("serve")
    .description("run the server until SIGINT or SIGTERM (flags win over the environment)")
    .addHelpText("after", `\nOnly from the environment:\n${ENV_ONLY_SETTINGS.map((s) => `  ${s.env.padEnd(22)}${s.help}`).join("\n")}`);
  const options = (Object.entries(SETTINGS) as [keyof RawSettings, Setting][]).map(([key, s]) => {
    const option = new Option(`--${s.flag} <${s.arg}>`, settingHelp(s));
    serve.addOption(option);
    return [key, option] as const;
  });
  serve.action(async (opts: Record<string, string | undefined>) => {
    const flags: RawSettings = {};
    for (const [key, option] of options) {
      const value = opts[option.attributeName()];
      if (value !== undefined) flags[key] = value;
    }
    const { serveCommand } = await import("./serve.js");
    await serveCommand(flags, ctx.env);
    ctx.keepRunning();
  });
}

function addBootstrap(program: Command, env: NodeJS.ProcessEnv): void {
  program
    .command("bootstrap")
    .description("create the first admin client (scope tessera:admin) in the database; prints its id and secret once, as JSON")
    .option("--db <file-or-url>", DB_HELP)
    .option(
      "--create-dir",
      "create the database's folder if it does not exist (otherwise refused: a wrong working directory is the usual cause)",
    )
    .option("--name <name>", "name of the admin client (default admin)")
    .option("--force", "create another admin client in a database that was already bootstrapped")
    .action(async (opts) => (await import("./bootstrap.js")).bootstrapCommand(opts, env));
}

/** A command that calls the admin API as the admin client in TESSERA_CLIENT_ID / TESSERA_CLIENT_SECRET. */
function adminCommand(parent: Command, name: string, description: string, env: NodeJS.ProcessEnv): Command {
  return parent
    .command(name)
    .description(description)
    .addOption(serverOption(env))
    .option("--json", "print JSON (proto field names) instead of text")
    .addHelpText("after", "\nAuthenticates as the admin client in TESSERA_CLIENT_ID / TESSERA_CLIENT_SECRET (see `tessera bootstrap`).");
}

/** The options of a client's settings, shared by create and update. */
function clientFields(c: Command): Command {
  return c
    .option("--scope <scopes>", 'allowed scopes, space-separated ("read write")')
    .option("--audience <url>", "allowed audience; repeat for several", collect)
    .option("--ttl <duration>", `token lifetime, ${DURATION_FORMS}`, wholeSeconds);
}

function addClients(program: Command, env: NodeJS.ProcessEnv): void {
  const clients = program
    .command("clients")
    .description("manage OAuth clients over gRPC (ClientAdmin), as the admin client in TESSERA_CLIENT_ID / TESSERA_CLIENT_SECRET");
  const impl = () => import("./clients.js");
  clientFields(adminCommand(clients, "create", "register a client; prints its secret once", env))
    .requiredOption("--name <name>", "a human-readable name, e.g. billing")
    .option("--client-id <id>", "choose the client id (default: generated, tcl_…)")
    .addOption(authMethodOption())
    .action(async (opts) => (await impl()).createClientCommand(opts, env));
  adminCommand(clients, "get", "show one client", env)
    .argument("<client-id>")
    .action(async (id: string, opts) => (await impl()).getClientCommand(id, opts, env));
  adminCommand(clients, "list", "list clients, a page at a time", env)
    .option("--page-size <count>", "clients per page (default: the server's, 50)", count)
    .option("--page-token <token>", "the page after the one that printed this token")
    .action(async (opts) => (await impl()).listClientsCommand(opts, env));
  clientFields(
    adminCommand(clients, "update", "change a client's name, scopes, audiences, token lifetime or status; only the fields given", env),
  )
    .argument("<client-id>")
    .option("--name <name>", "new name")
    .addOption(new Option("--disable", "disable the client: no new tokens, its tokens are cut off").conflicts("enable"))
    .option("--enable", "enable the client again")
    .addOption(authMethodOption())
    .option("--jwks-uri <url>", 'where a private_key_jwt client publishes its keys (https); "" removes it')
    .action(async (id: string, opts, cmd: Command) => {
      if (!["name", "scope", "audience", "ttl", "disable", "enable", "authMethod", "jwksUri"].some((k) => opts[k] !== undefined)) {
        throw new UsageError(
          `${cmd.name()} needs at least one of --name, --scope, --audience, --ttl, --disable, --enable, --auth-method, --jwks-uri.`,
        );
      }
      await (await impl()).updateClientCommand(id, opts, env);
    });
  adminCommand(clients, "delete", "delete a client and its secrets; its tokens are cut off (asks first on a terminal)", env)
    .argument("<client-id>")
    .option("-y, --yes", "do not ask for confirmation (required when no terminal is attached)")
    .action(async (id: string, opts) => (await impl()).deleteClientCommand(id, opts, env));
  adminCommand(clients, "rotate-secret", "issue a new secret; the old ones keep working for --grace", env)
    .argument("<client-id>")
    .option("--grace <duration>", `how long the old secrets keep working, ${DURATION_FORMS}; default 0: they stop at once`, wholeSeconds)
    .action(async (id: string, opts) => (await impl()).rotateSecretCommand(id, opts, env));
  adminCommand(clients, "revoke-tokens", "cut off every token the client holds now (the client keeps working)", env)
    .argument("<client-id>")
    .action(async (id: string, opts) => (await impl()).revokeTokensCommand(id, opts, env));
  addClientCredentialCommands(clients, (parent, name, description) => adminCommand(parent, name, description, env), env);
}

/** How a client authenticates, for create and update. */
function authMethodOption(): Option {
  return new Option(
    "--auth-method <method>",
    "client_secret (default), private_key_jwt (keys) or federated (platform tokens); leaving client_secret deletes the secrets",
  ).choices(["client_secret", "private_key_jwt", "federated"]);
}

function addKeys(program: Command, env: NodeJS.ProcessEnv): void {
  const keys = program
    .command("keys")
    .description("signing keys: list and rotate over gRPC (KeyAdmin), re-encrypt locally; make a client's key pair");
  adminCommand(keys, "list", "list the published signing keys", env).action(async (opts) =>
    (await import("./keys.js")).listKeysCommand(opts, env),
  );
  adminCommand(keys, "rotate", "make the next key current now", env)
    .option("--force", "rotate even if the next key was published for less than the JWKS cache window (a compromised key)")
    .action(async (opts) => (await import("./keys.js")).rotateKeysCommand(opts, env));
  keys
    .command("rewrap")
    .description(
      "re-encrypt the private keys under TESSERA_NEW_KEK(_FILE), reading them with TESSERA_KEK(_FILE); then restart the servers with the new KEK",
    )
    .option("--db <file-or-url>", DB_HELP)
    .action(async (opts) => (await import("./keys.js")).rewrapCommand(opts, env));
  keys
    .command("generate-client-key")
    .description(
      "make a key pair for a client that authenticates without a secret (private_key_jwt): the private JWK to --out, the public JWK to stdout",
    )
    .addOption(new Option("--alg <alg>", "signing algorithm").choices(CLIENT_ASSERTION_ALGS).default("ES256"))
    .requiredOption("--out <file>", "where to write the private JWK (created with mode 0600)")
    .option("--force", "replace --out if it exists")
    .addHelpText(
      "after",
      "\nThe JWK's kid is its RFC 7638 thumbprint. Register the public JWK with `tessera clients keys add`, and give the private one to the client: `tessera token --key FILE`, CLIENT_KEY_FILE, or the SDK's privateKeyFile.",
    )
    .action(async (opts) => (await import("./generate-client-key.js")).generateClientKeyCommand(opts));
}

function addAudit(program: Command, env: NodeJS.ProcessEnv): void {
  adminCommand(program, "audit", "the audit trail of administrative changes, newest first", env)
    .option("--target <id>", "only changes to this client or key")
    .option("--page-size <count>", "events per page", count)
    .option("--page-token <token>", "the page after the one that printed this token")
    .action(async (opts) => (await import("./audit.js")).auditCommand(opts, env));
}

function addBackup(program: Command, env: NodeJS.ProcessEnv): void {
  program
    .command("backup")
    .description("a consistent online copy of a SQLite database (SQLite backup API), checked after writing; for PostgreSQL use pg_dump")
    .argument("<file>", "where to write the copy")
    .option("--db <file-or-url>", DB_HELP)
    .option("--force", "replace <file> if it exists")
    .action(async (file: string, opts) => (await import("./backup.js")).backupCommand(file, opts, env));
}

/** `tessera migrate` and `tessera copy`: the database's schema, and moving it to another database. */
function addDatabaseCommands(program: Command, env: NodeJS.ProcessEnv): void {
  const migrate = program
    .command("migrate")
    .description(
      "the database schema: show it, or apply pending migrations (for a migration job of its own; tessera serve also applies them)",
    );
  migrate
    .command("status")
    .description("the schema version, this Tessera's, and the migrations applied and pending; changes nothing")
    .option("--db <file-or-url>", DB_HELP)
    .option("--json", "print JSON")
    .action(async (opts) => (await import("./migrate.js")).migrateStatusCommand(opts, env));
  migrate
    .command("up")
    .description("apply the pending migrations (several runs at once apply each one once)")
    .option("--db <file-or-url>", DB_HELP)
    .action(async (opts) => (await import("./migrate.js")).migrateUpCommand(opts, env));
  program
    .command("copy")
    .description("copy a whole database between SQLite files and PostgreSQL databases, then read it back and compare")
    .requiredOption("--from <file-or-url>", "the database to copy (SQLite file or postgres:// URL); servers may keep running on it")
    .requiredOption("--to <file-or-url>", "where to copy it (SQLite file or postgres:// URL); must be empty, unless --force")
    .option("--force", "replace everything the target holds")
    .action(async (opts) => (await import("./copy.js")).copyCommand(opts, env));
}

function addToken(program: Command, env: NodeJS.ProcessEnv): void {
  program
    .command("token")
    .description("get an access token as the client in CLIENT_ID and print it")
    .addOption(serverOption(env))
    .option("--scope <scopes>", "scopes to ask for, space-separated (default: all the client may have)")
    .option("--audience <url>", "audience to ask for; repeat for several", collect)
    .addOption(
      new Option(
        "--key <file>",
        "authenticate with this private key (a JWK or PEM file) instead of a secret: private_key_jwt (env CLIENT_KEY_FILE)",
      ).conflicts("assertionFile"),
    )
    .option("--key-id <kid>", "kid of the assertions --key signs (env CLIENT_KEY_ID; default: the JWK's kid, else its RFC 7638 thumbprint)")
    .option(
      "--assertion-file <file>",
      "authenticate with the platform token in this file: a Kubernetes service-account token, a SPIFFE JWT-SVID (env CLIENT_ASSERTION_FILE)",
    )
    .option(
      "--issuer <url>",
      "Tessera's issuer, the audience of --key's assertions (env TESSERA_ISSUER; default: from the server's metadata, when it names the server itself)",
    )
    .option("--json", "print the whole token response as JSON")
    .addHelpText(
      "after",
      "\nCredentials: CLIENT_ID and CLIENT_SECRET, or CLIENT_SECRET_FILE (a file holding the secret); without a secret, CLIENT_ID and --key or --assertion-file (or their variables). Flags win over the environment.",
    )
    .action(async (opts) => (await import("./token.js")).tokenCommand(opts, env));
}

/** `--server`, whose default follows the same port as `tessera serve` (see defaultServer). */
function serverOption(env: NodeJS.ProcessEnv): Option {
  return new Option("--server <url>", SERVER_HELP).default(defaultServer(env));
}

/** A setting's line in `tessera serve --help`: what it does, its variable(s) and its default. */
function settingHelp(s: Setting): string {
  const envs = s.envAlias === undefined ? s.env : `${s.env} or ${s.envAlias}`;
  return `${s.help} (env ${envs}; default ${s.defText ?? s.def})`;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function wholeSeconds(raw: string): number {
  const ms = parseDuration(raw);
  if (ms === undefined || ms % 1000 !== 0)
    throw new InvalidArgumentError("Expected a duration in whole seconds such as 90s, 10m, 1h or 30d.");
  return ms / 1000;
}

function count(raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 1_000_000) throw new InvalidArgumentError("Give a whole number from 1.");
  return Number(raw);
}
