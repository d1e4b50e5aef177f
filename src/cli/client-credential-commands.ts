import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { DURATION_FORMS, parseDuration } from "../duration.js";

/** Makes an admin command under `parent` (with --server and --json). */
export type AdminCommandFactory = (parent: Command, name: string, description: string) => Command;

/**
 * `tessera clients keys …`, `tessera clients federation …` and `tessera clients test-assertion`:
 * the ways a client authenticates without a secret.
 */
export function addClientCredentialCommands(clients: Command, adminCommand: AdminCommandFactory, env: NodeJS.ProcessEnv): void {
  const impl = () => import("./client-credentials.js");
  const keys = clients.command("keys").description("the public keys a private_key_jwt client signs its assertions with (RFC 7523)");
  adminCommand(keys, "add", "register a public JWK (or each key of a JWKS) read from FILE, or stdin with -")
    .argument("<client-id>")
    .argument("<file>", "a public JWK as `tessera keys generate-client-key` prints it, or - for stdin")
    .action(async (id: string, file: string, opts) => (await impl()).addKeyCommand(id, file, opts, env));
  adminCommand(keys, "list", "list a client's registered keys")
    .argument("<client-id>")
    .action(async (id: string, opts) => (await impl()).listKeysCommand(id, opts, env));
  adminCommand(keys, "remove", "remove a key: assertions signed with it are refused from then on")
    .argument("<client-id>")
    .argument("<kid>", 'the key id; one that begins with "-" goes after "--" (remove ID -- -kid)')
    .action(async (id: string, kid: string, opts) => (await impl()).removeKeyCommand(id, kid, opts, env));

  const federation = clients
    .command("federation")
    .description("trust rules under which a workload's platform token (Kubernetes, SPIFFE, GitHub Actions) authenticates a client");
  adminCommand(
    federation,
    "add",
    "add a trust rule: tokens of ISSUER for SUBJECT, for Tessera's issuer as audience, authenticate the client",
  )
    .argument("<client-id>")
    .requiredOption("--issuer <url>", "the token's iss, an https URL compared exactly")
    .requiredOption("--subject <sub>", "the token's sub, compared exactly (e.g. system:serviceaccount:NS:NAME)")
    .option("--name <name>", "a label for people")
    .option("--jwks-uri <url>", "the issuer's keys (a JWKS or a SPIFFE bundle endpoint); default: its OpenID discovery document")
    .option("--jwks-file <file>", "the issuer's keys as a JWKS file, for an issuer Tessera cannot reach")
    .option("--audience <aud>", "the audience the token must carry alone (default: Tessera's issuer)")
    .option(
      "--condition <claim=value>",
      "a claim the token must carry with this value; repeat a claim to accept one of several values",
      collect,
    )
    .option("--max-age <duration>", `how old a token may be, ${DURATION_FORMS}; default 1h`, wholeSeconds)
    .option("--require-jti", "accept each token once (it must carry a jti)")
    .action(async (id: string, opts) => (await impl()).addFederationCommand(id, opts, env));
  adminCommand(federation, "list", "list a client's trust rules")
    .argument("<client-id>")
    .action(async (id: string, opts) => (await impl()).listFederationCommand(id, opts, env));
  adminCommand(federation, "remove", "remove a trust rule: its tokens are refused from then on")
    .argument("<client-id>")
    .argument("<credential-id>")
    .action(async (id: string, credentialId: string, opts) => (await impl()).removeFederationCommand(id, credentialId, opts, env));

  adminCommand(
    clients,
    "test-assertion",
    "run every check of a token request on a JWT (read from FILE or stdin) and say which fails; issues nothing, uses up no jti",
  )
    .argument("<client-id>")
    .argument("[file]", "a file holding the JWT; default: stdin")
    .action(async (id: string, file: string | undefined, opts) => (await impl()).testAssertionCommand(id, file, opts, env));
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function wholeSeconds(raw: string): number {
  const ms = parseDuration(raw);
  if (ms === undefined || ms % 1000 !== 0) throw new InvalidArgumentError("Expected a duration in whole seconds such as 90s, 10m or 1h.");
  return ms / 1000;
}
