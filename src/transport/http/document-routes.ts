import type { JSONWebKeySet } from "jose";
import { authorizationServerMetadata } from "./metadata.js";
import { sendJson } from "./respond.js";
import type { Route, RouteTable } from "./route-table.js";

/** What the public documents need. */
export interface DocumentRoutesDeps {
  issuer: string;
  /** The published keys. */
  jwks: () => JSONWebKeySet;
  /** Algorithms of the published signing keys, for the metadata document. */
  signingAlgs: () => string[];
  /** How long verifiers may cache the JWKS, seconds. */
  jwksMaxAgeSeconds: number;
}

/** The .well-known documents: the JWKS and the RFC 8414 authorization server metadata. */
export function documentRoutes(deps: DocumentRoutesDeps): RouteTable {
  return {
    // The next key is published at least one max-age before it signs (keys/key-lifecycle.ts).
    "/.well-known/jwks.json": { methods: ["GET", "HEAD"], handle: publicJson(deps.jwks, deps.jwksMaxAgeSeconds) },
    "/.well-known/oauth-authorization-server": {
      methods: ["GET", "HEAD"],
      handle: publicJson(() => authorizationServerMetadata(deps.issuer, deps.signingAlgs()), 300),
    },
  };
}

function publicJson(body: () => unknown, maxAge: number): Route {
  return (_req, res) => sendJson(res, 200, body(), { "cache-control": `public, max-age=${maxAge}` });
}
