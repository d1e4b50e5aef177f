import { useEffect, useState } from "preact/hooks";
import type { Client } from "../../../gen/tessera/v1/client_admin_pb.js";
import type { Api } from "../api.js";
import { ErrorText } from "../components/field.js";
import { useAction } from "../components/use-action.js";
import { formatDuration } from "../durations.js";
import { formatTime, isoTime } from "../format.js";
import { href } from "../route.js";
import { ClientAccess } from "./client-access.js";
import { ClientDelete } from "./client-delete.js";
import { ClientSecrets } from "./client-secrets.js";
import { ClientSettings } from "./client-settings.js";

/** One client: its facts, settings, access, secrets and deletion. */
export function ClientDetail(p: { api: Api; clientId: string; onDeleted: (c: Client) => void }) {
  const [client, setClient] = useState<Client | undefined>(undefined);
  const load = useAction(async () => {
    setClient((await p.api.clients.getClient({ clientId: p.clientId })).client);
  });
  useEffect(() => {
    setClient(undefined);
    void load.run();
  }, [p.clientId]);

  const crumbs = (
    <p class="crumbs">
      <a href={href({ screen: "clients" })}>Clients</a>
    </p>
  );
  if (!client) {
    return (
      <main id="main" tabIndex={-1}>
        {crumbs}
        <h1>Client {p.clientId}</h1>
        {load.busy ? <p role="status">Loading…</p> : null}
        <ErrorText id="client-error" message={load.problem?.message} />
      </main>
    );
  }
  const c = client;
  return (
    <main id="main" tabIndex={-1}>
      {crumbs}
      <div class="title-row">
        <h1>{c.name}</h1>
        <span class={c.disabled ? "badge off" : "badge on"}>{c.disabled ? "Disabled" : "Enabled"}</span>
      </div>
      <dl class="facts">
        <dt>Client id</dt>
        <dd class="mono">{c.clientId}</dd>
        <dt>Created</dt>
        <dd>
          <time datetime={isoTime(c.createTime)}>{formatTime(c.createTime)}</time>
        </dd>
        <dt>Last changed</dt>
        <dd>
          <time datetime={isoTime(c.updateTime)}>{formatTime(c.updateTime)}</time>
        </dd>
        <dt>Token lifetime</dt>
        <dd>{formatDuration(Number(c.tokenTtl?.seconds ?? 0n))}</dd>
        <dt>Audit trail</dt>
        <dd>
          <a href={href({ screen: "audit", target: c.clientId })}>Changes to this client</a>
        </dd>
      </dl>
      <ClientSettings key={`settings-${c.clientId}`} api={p.api} client={c} onSaved={setClient} />
      <ClientAccess api={p.api} client={c} onChanged={setClient} />
      <ClientSecrets api={p.api} client={c} onChanged={setClient} />
      <ClientDelete api={p.api} client={c} onDeleted={() => p.onDeleted(c)} />
    </main>
  );
}
