import { useState } from "preact/hooks";
import type { Client } from "../../../gen/tessera/v1/client_admin_pb.js";
import type { Api } from "../api.js";
import { ErrorText, Field } from "../components/field.js";
import { useAction } from "../components/use-action.js";
import { DURATION_HINT, formatDuration, parseDuration } from "../durations.js";
import { generalProblem, ProblemError, problemFor } from "../errors.js";
import { splitList } from "../format.js";

const FIELDS = ["name", "scopes", "audiences", "token_ttl"] as const;

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Edits name, scopes, audiences and token lifetime; saves only what changed (the update mask). */
export function ClientSettings(p: { api: Api; client: Client; onSaved: (c: Client) => void }) {
  const c = p.client;
  const [name, setName] = useState(c.name);
  const [scopes, setScopes] = useState(c.scopes.join(" "));
  const [audiences, setAudiences] = useState(c.audiences.join("\n"));
  const [ttl, setTtl] = useState(formatDuration(Number(c.tokenTtl?.seconds ?? 0n)));
  const [saved, setSaved] = useState("");

  const save = useAction(async () => {
    setSaved("");
    const seconds = parseDuration(ttl);
    if (seconds === undefined) throw new ProblemError(DURATION_HINT, "token_ttl");
    const next = { name: name.trim(), scopes: splitList(scopes), audiences: splitList(audiences), seconds };
    const paths: string[] = [];
    if (next.name !== c.name) paths.push("name");
    if (!sameList(next.scopes, c.scopes)) paths.push("scopes");
    if (!sameList(next.audiences, c.audiences)) paths.push("audiences");
    if (BigInt(seconds) !== (c.tokenTtl?.seconds ?? 0n)) paths.push("token_ttl");
    if (paths.length === 0) {
      setSaved("Nothing changed, so nothing was saved.");
      return;
    }
    const r = await p.api.clients.updateClient({
      client: {
        clientId: c.clientId,
        name: next.name,
        scopes: next.scopes,
        audiences: next.audiences,
        tokenTtl: { seconds: BigInt(seconds), nanos: 0 },
      },
      updateMask: { paths },
    });
    p.onSaved(r.client!);
    setSaved(`Saved: ${paths.join(", ").replace("token_ttl", "token lifetime")}.`);
  });
  const problem = save.problem;

  return (
    <section aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <form
        class="form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void save.run();
        }}
      >
        <Field id="edit-name" label="Name" value={name} onInput={setName} required error={problemFor(problem, "name")} spellcheck />
        <Field
          id="edit-scopes"
          label="Scopes"
          value={scopes}
          onInput={setScopes}
          error={problemFor(problem, "scopes")}
          hint="Separated by spaces."
        />
        <Field
          id="edit-audiences"
          label="Audiences"
          multiline
          value={audiences}
          onInput={setAudiences}
          error={problemFor(problem, "audiences")}
          hint="Separated by spaces or new lines."
        />
        <Field
          id="edit-ttl"
          label="Token lifetime"
          value={ttl}
          onInput={setTtl}
          error={problemFor(problem, "token_ttl")}
          hint="From 1s to 24h, e.g. 900s, 15m or 1h."
        />
        <ErrorText id="settings-error" message={generalProblem(problem, FIELDS)} />
        <div class="row">
          <button type="submit" class="primary" disabled={save.busy}>
            {save.busy ? "Saving…" : "Save changes"}
          </button>
          <p class="status" role="status">
            {saved}
          </p>
        </div>
      </form>
    </section>
  );
}
