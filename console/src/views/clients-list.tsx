import { useEffect, useMemo, useState } from "preact/hooks";
import type { Client } from "../../../gen/tessera/v1/client_admin_pb.js";
import type { Api } from "../api.js";
import { ErrorText } from "../components/field.js";
import { useAction } from "../components/use-action.js";
import { formatTime, isoTime } from "../format.js";
import { href } from "../route.js";

/** Clients per request to ListClients, and at most this many requests (10,000 clients). */
const FETCH_PAGE = 200;
const MAX_FETCHES = 50;
/** Rows per page on screen. */
const ROWS = 20;

/** What the list shows: a text filter, a status filter and the page. */
export interface ListView {
  text: string;
  status: "all" | "enabled" | "disabled";
  page: number;
}

/** The most recent use of any of the client's secrets, if any. */
function lastUse(c: Client) {
  let best: Client["secrets"][number]["lastUsedTime"];
  for (const s of c.secrets) {
    if (s.lastUsedTime && (!best || s.lastUsedTime.seconds > best.seconds)) best = s.lastUsedTime;
  }
  return best;
}

function matches(c: Client, view: ListView): boolean {
  if (view.status === "enabled" && c.disabled) return false;
  if (view.status === "disabled" && !c.disabled) return false;
  const q = view.text.trim().toLowerCase();
  if (q === "") return true;
  return c.name.toLowerCase().includes(q) || c.clientId.toLowerCase().includes(q) || c.scopes.some((s) => s.toLowerCase().includes(q));
}

/**
 * Every client, read from ListClients page by page (following next_page_token) so that the
 * filter searches all of them, then shown a page of rows at a time.
 */
export function ClientsList(p: { api: Api; view: ListView; onView: (v: ListView) => void; notice: string | undefined }) {
  const [clients, setClients] = useState<Client[] | undefined>(undefined);
  const [truncated, setTruncated] = useState(false);
  const load = useAction(async () => {
    const all: Client[] = [];
    let pageToken = "";
    for (let i = 0; i < MAX_FETCHES; i++) {
      const page = await p.api.clients.listClients({ pageSize: FETCH_PAGE, pageToken });
      all.push(...page.clients);
      pageToken = page.nextPageToken;
      if (pageToken === "") break;
    }
    setTruncated(pageToken !== "");
    setClients(all);
  });
  useEffect(() => void load.run(), []);

  const shown = useMemo(() => (clients ?? []).filter((c) => matches(c, p.view)), [clients, p.view]);
  const pages = Math.max(1, Math.ceil(shown.length / ROWS));
  const page = Math.min(p.view.page, pages - 1);
  const rows = shown.slice(page * ROWS, page * ROWS + ROWS);
  const set = (change: Partial<ListView>) => p.onView({ ...p.view, page: 0, ...change });

  return (
    <main id="main" tabIndex={-1}>
      <div class="title-row">
        <h1>Clients</h1>
        <a class="button primary" href={href({ screen: "new-client" })}>
          New client
        </a>
      </div>
      {p.notice ? (
        <p class="notice" role="status">
          {p.notice}
        </p>
      ) : null}
      {/* biome-ignore lint/a11y/useSemanticElements: role=search on a form is the ARIA pattern; <search> is not yet read by every screen reader */}
      <form class="filters" role="search" aria-label="Filter clients" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="filter-text">Filter by name, id or scope</label>
          <input
            id="filter-text"
            type="search"
            value={p.view.text}
            onInput={(e) => set({ text: e.currentTarget.value })}
            autoComplete="off"
          />
        </div>
        <div class="field">
          <label for="filter-status">Status</label>
          <select id="filter-status" value={p.view.status} onChange={(e) => set({ status: e.currentTarget.value as ListView["status"] })}>
            <option value="all">All</option>
            <option value="enabled">Enabled</option>
            <option value="disabled">Disabled</option>
          </select>
        </div>
        <button type="button" onClick={() => void load.run()} disabled={load.busy}>
          Reload
        </button>
      </form>
      <ErrorText id="clients-error" message={load.problem?.message} />
      {truncated ? (
        <p class="notice">
          Only the first {FETCH_PAGE * MAX_FETCHES} clients (by id) were read; the filter searches those. Use the CLI for the rest.
        </p>
      ) : null}
      {clients === undefined ? (
        load.busy ? (
          <p role="status">Loading clients…</p>
        ) : null
      ) : (
        <>
          <p role="status" class="count">
            {shown.length === clients.length
              ? `${clients.length} ${clients.length === 1 ? "client" : "clients"}`
              : `${shown.length} of ${clients.length} clients match`}
            {pages > 1 ? `, page ${page + 1} of ${pages}` : ""}
          </p>
          <table class="list">
            <caption class="visually-hidden">Clients, ordered by client id</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Client id</th>
                <th scope="col">Scopes</th>
                <th scope="col">Status</th>
                <th scope="col">Last secret use</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((c) => (
                <tr key={c.clientId}>
                  <td data-label="Name">
                    <a href={href({ screen: "client", clientId: c.clientId })}>{c.name}</a>
                  </td>
                  <td data-label="Client id" class="mono">
                    {c.clientId}
                  </td>
                  <td data-label="Scopes">{c.scopes.length ? c.scopes.join(" ") : <span class="muted">none</span>}</td>
                  <td data-label="Status">
                    <span class={c.disabled ? "badge off" : "badge on"}>{c.disabled ? "Disabled" : "Enabled"}</span>
                  </td>
                  <td data-label="Last secret use">
                    <time datetime={isoTime(lastUse(c))}>{formatTime(lastUse(c))}</time>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {rows.length === 0 ? <p>No client matches the filter.</p> : null}
          {pages > 1 ? (
            <nav class="pager" aria-label="Pages of clients">
              <button type="button" disabled={page === 0} onClick={() => p.onView({ ...p.view, page: page - 1 })}>
                Previous page
              </button>
              <button type="button" disabled={page >= pages - 1} onClick={() => p.onView({ ...p.view, page: page + 1 })}>
                Next page
              </button>
            </nav>
          ) : null}
        </>
      )}
    </main>
  );
}
