// The layering of src/, checked by `npm run lint:deps` (dependency-cruiser) in CI.
// Dependencies point inward: transports and storage adapters use the core's interfaces
// (src/core/ports), the core uses nothing outside itself, and only the composition root
// (src/compose) and the command line (src/cli) put the parts together. Type-only imports
// count: an interface is a dependency too.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "core-is-pure",
      comment:
        "The core knows nothing of HTTP, gRPC, SQL, logging or the generated protobuf code: it imports only itself, " +
        "Node's standard library and jose. What it needs from outside is an interface in src/core/ports.",
      severity: "error",
      from: { path: "^src/core/" },
      to: { pathNot: ["^src/core/", "^node_modules/jose/"], dependencyTypesNot: ["core"] },
    },
    {
      name: "adapters-implement-ports",
      comment: "A storage adapter implements the core's storage port: from src/ it imports only that port and other storage code.",
      severity: "error",
      from: { path: "^src/storage/" },
      to: { path: ["^src/", "^gen/"], pathNot: ["^src/storage/", "^src/core/ports/"] },
    },
    {
      name: "adapters-only-in-composition",
      comment:
        "Only the composition root (src/compose) and the command line (src/cli) pick a storage adapter; " +
        "everything else works against the port.",
      severity: "error",
      from: { path: "^src/", pathNot: ["^src/compose/", "^src/cli/", "^src/storage/"] },
      to: { path: "^src/storage/" },
    },
    {
      name: "key-fetching-only-in-composition",
      comment: "Only the composition root (and the command line) picks how remote keys are fetched; the core asks through its port.",
      severity: "error",
      from: { path: "^src/", pathNot: ["^src/compose/", "^src/cli/", "^src/remote-keys/"] },
      to: { path: "^src/remote-keys/" },
    },
    {
      name: "keys-implement-core-ports",
      comment: "The signing keys implement the core's signer and key ports: from src/ they import only the core and themselves.",
      severity: "error",
      from: { path: "^src/keys/" },
      to: { path: ["^src/", "^gen/"], pathNot: ["^src/keys/", "^src/core/"] },
    },
    {
      name: "remote-keys-implement-core-ports",
      comment:
        "Fetching the keys clients and workload issuers publish implements the core's key-set port: " +
        "from src/ it imports only the core's ports and itself.",
      severity: "error",
      from: { path: "^src/remote-keys/" },
      to: { path: ["^src/", "^gen/"], pathNot: ["^src/remote-keys/", "^src/core/ports/"] },
    },
    {
      name: "no-sibling-services",
      comment: "gRPC services do not import each other: what two services share lives in src/transport/grpc/, outside services/.",
      severity: "error",
      from: { path: "^src/transport/grpc/services/" },
      to: { path: "^src/transport/grpc/services/" },
    },
    {
      name: "no-sibling-doors",
      comment:
        "Each door (a folder of src/transport other than listener/: http/, grpc/, the next one) shares the core " +
        "and src/transport/*.ts, never another door's code.",
      severity: "error",
      from: { path: "^src/transport/(?!listener/)([^/]+)/" },
      to: { path: "^src/transport/(?!listener/)[^/]+/", pathNot: "^src/transport/$1/" },
    },
    {
      name: "transports-not-outward",
      comment: "Transports are wired by the composition root; they never import it, the command line or the configuration.",
      severity: "error",
      from: { path: "^src/transport/" },
      to: { path: ["^src/compose/", "^src/cli/", "^src/config\\.ts$"] },
    },
    {
      name: "observability-not-transport",
      comment: "Logs, metrics and probes know the core's events, not the doors they came through, nor the wiring.",
      severity: "error",
      from: { path: "^src/observability/" },
      to: { path: ["^src/transport/", "^src/compose/", "^src/cli/", "^gen/"] },
    },
    {
      name: "client-sdk-standalone",
      comment:
        "src/client and src/verify ship as a library (tessera-oauth/client, tessera-oauth/verify): " +
        "they import nothing from the server side, only each other and the generated API.",
      severity: "error",
      from: { path: "^src/(client|verify)/" },
      to: { path: "^src/", pathNot: "^src/(client|verify)/" },
    },
    {
      name: "console-is-a-browser-app",
      comment:
        "The web console (console/) runs in the browser and speaks to the server only through its API: " +
        "it imports the generated API code (gen/), never the server's own modules, nor Node's.",
      severity: "error",
      from: { path: "^console/" },
      to: { path: ["^src/", "^bin/", "^scripts/"], pathNot: "^console/" },
    },
    {
      name: "console-no-node",
      comment: "Node's standard library does not exist in a browser.",
      severity: "error",
      from: { path: "^console/src/" },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "no-circular",
      comment: "No module depends on itself through others: each layer can be read from the inside out.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    // npm packages stay in the graph (the core may use jose and nothing else) but are not followed.
    exclude: { path: "^(dist|test|bench|examples|scripts)/" },
    // Interfaces and types are dependencies too (import type, export type).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    enhancedResolveOptions: { extensions: [".ts", ".tsx", ".js"], conditionNames: ["import", "require", "node", "default", "types"] },
  },
};
