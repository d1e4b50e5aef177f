// private_key_jwt load: a client registered with a public key (no secret) in a benchmark
// database, and form bodies that each carry a fresh assertion (RFC 7523), since Tessera accepts
// every jti once. Bodies are signed before a round starts, never while it is timed.
import { generateKeyPairSync, randomUUID, sign } from "node:crypto";
import { writeFileSync } from "node:fs";
import { ClientAdminCore } from "../../dist/src/core/client-admin.js";
import { ClientCredentialAdmin } from "../../dist/src/core/client-credential-admin.js";
import { SqliteStorage } from "../../dist/src/storage/sqlite/sqlite-storage.js";
import { AUDIENCE, SCOPES } from "./setup.mjs";

/** @import { KeyObject } from "node:crypto" */

const ASSERTION_TYPE = "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";

/** @typedef {{ clientId: string, kid: string, privateKey: KeyObject }} KeyClient */

/**
 * Registers a private_key_jwt client with a new ES256 public key in `db` (the server may run).
 * @param {string} db
 * @returns {Promise<KeyClient>}
 */
export async function addKeyClient(db) {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const storage = SqliteStorage.open(db);
  try {
    const admin = new ClientAdminCore(storage, Date.now);
    const { client } = await admin.create({
      clientId: "",
      name: "bench keys",
      scopes: SCOPES,
      audiences: [AUDIENCE],
      tokenTtlSeconds: 3600,
      authMethod: "private_key_jwt",
    });
    // The issuer given here is only the default audience of federated credentials: unused.
    const stored = await new ClientCredentialAdmin(storage, Date.now, "http://localhost").addKey(client.clientId, {
      ...publicKey.export({ format: "jwk" }),
      alg: "ES256",
    });
    const kid = stored.keys[0]?.kid;
    if (kid === undefined) throw new Error("the key was not stored");
    return { clientId: client.clientId, kid, privateKey };
  } finally {
    await storage.close();
  }
}

/**
 * Form bodies for `client`, each with its own assertion for `issuer` (aud), valid 5 minutes.
 */
export class AssertionBodies {
  /**
   * @param {KeyClient} client
   * @param {string} issuer
   * @param {string} form the rest of the form, e.g. grant_type=client_credentials&scope=read+write
   * @param {string} file where write() puts bodies for wrk, one a line
   */
  constructor(client, issuer, form, file) {
    this.client = client;
    this.issuer = issuer;
    this.form = form;
    this.file = file;
    this.header = Buffer.from(JSON.stringify({ alg: "ES256", kid: client.kid, typ: "client-authentication+jwt" })).toString("base64url");
  }

  /** A body with a new assertion. */
  next() {
    const now = Math.floor(Date.now() / 1000);
    const { clientId } = this.client;
    const claims = Buffer.from(
      JSON.stringify({ iss: clientId, sub: clientId, aud: this.issuer, iat: now, exp: now + 300, jti: randomUUID() }),
    ).toString("base64url");
    const input = `${this.header}.${claims}`;
    const signature = sign("sha256", Buffer.from(input), { key: this.client.privateKey, dsaEncoding: "ieee-p1363" }).toString("base64url");
    return `${this.form}&${ASSERTION_TYPE}&client_assertion=${input}.${signature}`;
  }

  /**
   * Writes `count` new bodies to the file (replacing those of the last round).
   * @param {number} count
   */
  write(count) {
    const lines = [];
    for (let i = 0; i < count; i++) lines.push(this.next());
    writeFileSync(this.file, `${lines.join("\n")}\n`);
  }
}

/**
 * A wrk script that POSTs the bodies of `bodiesFile` in turn, without an Authorization header.
 * Past the last one it starts over: those assertions were used, so the answers are 401 and the
 * round fails loudly rather than measure refusals.
 * @param {string} file
 * @param {{ path: string, bodiesFile: string }} request
 */
export function writeWrkBodiesScript(file, { path, bodiesFile }) {
  const lua = (/** @type {string} */ s) => JSON.stringify(s);
  const lines = [
    `local path = ${lua(path)}`,
    `local bodies = {}`,
    `local n, i = 0, 0`,
    `init = function(args)`,
    `  for line in io.lines(${lua(bodiesFile)}) do n = n + 1; bodies[n] = line end`,
    `end`,
    `request = function()`,
    `  i = i % n + 1`,
    `  return wrk.format("POST", path, { ["Content-Type"] = "application/x-www-form-urlencoded" }, bodies[i])`,
    `end`,
  ];
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}
