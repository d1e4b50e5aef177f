import { useState } from "preact/hooks";
import type { Api } from "../api.js";
import { ErrorText, Field } from "../components/field.js";
import { SecretOnce } from "../components/secret-once.js";
import { useAction } from "../components/use-action.js";
import { DURATION_HINT, parseDuration } from "../durations.js";
import { generalProblem, ProblemError, problemFor } from "../errors.js";
import { splitList } from "../format.js";
import { go, href } from "../route.js";

const FIELDS = ["name", "client_id", "scopes", "audiences", "token_ttl"] as const;

/** The form that creates a client, then shows its secret once. */
export function ClientCreate(p: { api: Api }) {
  const [name, setName] = useState("");
  const [clientId, setClientId] = useState("");
  const [scopes, setScopes] = useState("");
  const [audiences, setAudiences] = useState("");
  const [ttl, setTtl] = useState("1h");
  const [created, setCreated] = useState<{ clientId: string; secret: string } | undefined>(undefined);

  const create = useAction(async () => {
    const seconds = parseDuration(ttl);
    if (seconds === undefined) throw new ProblemError(DURATION_HINT, "token_ttl");
    const r = await p.api.clients.createClient({
      name: name.trim(),
      clientId: clientId.trim(),
      scopes: splitList(scopes),
      audiences: splitList(audiences),
      tokenTtl: { seconds: BigInt(seconds), nanos: 0 },
    });
    setCreated({ clientId: r.client!.clientId, secret: r.clientSecret });
  });

  if (created) {
    return (
      <main id="main" tabIndex={-1}>
        <h1>
          Client <span class="mono">{created.clientId}</span> created
        </h1>
        <SecretOnce
          clientId={created.clientId}
          secret={created.secret}
          onDone={() => go({ screen: "client", clientId: created.clientId })}
        />
      </main>
    );
  }
  const problem = create.problem;
  return (
    <main id="main" tabIndex={-1}>
      <p class="crumbs">
        <a href={href({ screen: "clients" })}>Clients</a>
      </p>
      <h1>New client</h1>
      <form
        class="form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void create.run();
        }}
      >
        <Field
          id="name"
          label="Name"
          value={name}
          onInput={setName}
          required
          error={problemFor(problem, "name")}
          hint="Who uses it, e.g. billing. 1 to 200 characters."
          spellcheck
        />
        <Field
          id="new-client-id"
          label="Client id"
          value={clientId}
          onInput={setClientId}
          error={problemFor(problem, "client_id")}
          hint="Leave empty to let Tessera generate one. Letters, digits and . _ ~ - only."
        />
        <Field
          id="scopes"
          label="Scopes"
          value={scopes}
          onInput={setScopes}
          error={problemFor(problem, "scopes")}
          hint="Separated by spaces, e.g. read write. Admin clients need tessera:admin."
        />
        <Field
          id="audiences"
          label="Audiences"
          multiline
          value={audiences}
          onInput={setAudiences}
          error={problemFor(problem, "audiences")}
          hint="Resource servers it may get tokens for, separated by spaces or new lines. Empty: its tokens name this issuer."
        />
        <Field
          id="token-ttl"
          label="Token lifetime"
          value={ttl}
          onInput={setTtl}
          error={problemFor(problem, "token_ttl")}
          hint="From 1s to 24h, e.g. 900s, 15m or 1h."
        />
        <ErrorText id="create-error" message={generalProblem(problem, FIELDS)} />
        <button type="submit" class="primary" disabled={create.busy}>
          {create.busy ? "Creating…" : "Create client"}
        </button>
      </form>
    </main>
  );
}
