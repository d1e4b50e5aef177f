import type { JsonValue } from "@bufbuild/protobuf";
import { useEffect, useState } from "preact/hooks";
import type { AuditEvent } from "../../../gen/tessera/v1/client_admin_pb.js";
import type { Api } from "../api.js";
import { ErrorText } from "../components/field.js";
import { useAction } from "../components/use-action.js";
import { formatTime, isoTime } from "../format.js";
import { go, href } from "../route.js";

/** Events per page (ListAuditEvents page_size). */
const PAGE_SIZE = 25;

function show(v: JsonValue): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** The fields an event changed, as "field: value" lines. */
function Changes(p: { changes: AuditEvent["changes"] }) {
  const entries = Object.entries(p.changes ?? {});
  if (entries.length === 0) return <span class="muted">none</span>;
  return (
    <ul class="changes">
      {entries.map(([k, v]) => (
        <li key={k}>
          <span class="mono">{k}</span>: {show(v)}
        </li>
      ))}
    </ul>
  );
}

/**
 * The audit trail, newest first, a page at a time (ListAuditEvents page tokens), optionally
 * only the events about one client or key.
 */
export function Audit(p: { api: Api; target: string }) {
  const [typed, setTyped] = useState(p.target);
  const [events, setEvents] = useState<AuditEvent[] | undefined>(undefined);
  // Tokens of the pages seen so far: [0] is "" (the newest page); the last one is shown.
  const [tokens, setTokens] = useState<string[]>([""]);
  const [next, setNext] = useState("");

  const load = useAction(async (pageTokens: string[]) => {
    const page = await p.api.clients.listAuditEvents({
      pageSize: PAGE_SIZE,
      pageToken: pageTokens[pageTokens.length - 1]!,
      target: p.target,
    });
    setEvents(page.events);
    setNext(page.nextPageToken);
    setTokens(pageTokens);
  });
  useEffect(() => {
    setTyped(p.target);
    void load.run([""]);
  }, [p.target]);

  return (
    <main id="main" tabIndex={-1}>
      <h1>Audit trail</h1>
      {/* biome-ignore lint/a11y/useSemanticElements: role=search on a form is the ARIA pattern; <search> is not yet read by every screen reader */}
      <form
        class="filters"
        role="search"
        aria-label="Filter the audit trail"
        onSubmit={(e) => {
          e.preventDefault();
          go({ screen: "audit", target: typed.trim() });
        }}
      >
        <div class="field">
          <label for="audit-target">Client id or key id</label>
          <input
            id="audit-target"
            type="search"
            value={typed}
            onInput={(e) => setTyped(e.currentTarget.value)}
            autoComplete="off"
            spellcheck={false}
          />
        </div>
        <button type="submit">Filter</button>
        {p.target ? (
          <a class="button" href={href({ screen: "audit", target: "" })}>
            Show all
          </a>
        ) : null}
      </form>
      <ErrorText id="audit-error" message={load.problem?.message} />
      {events ? (
        <>
          <p role="status" class="count">
            {events.length === 0 ? "No events" : `Page ${tokens.length}`}
            {p.target ? ` about ${p.target}` : ""}
          </p>
          <table class="list">
            <caption class="visually-hidden">Audit events, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Actor</th>
                <th scope="col">Origin</th>
                <th scope="col">Changes</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr key={String(e.eventId)}>
                  <td data-label="Time">
                    <time datetime={isoTime(e.time)}>{formatTime(e.time)}</time>
                  </td>
                  <td data-label="Action" class="mono nowrap">
                    {e.action}
                  </td>
                  <td data-label="Target" class="mono">
                    {e.action.startsWith("client.") && e.action !== "client.delete" ? (
                      <a href={href({ screen: "client", clientId: e.target })}>{e.target}</a>
                    ) : (
                      e.target
                    )}
                  </td>
                  <td data-label="Actor" class="mono">
                    {e.actor}
                  </td>
                  <td data-label="Origin" class="mono">
                    {e.origin}
                  </td>
                  <td data-label="Changes">
                    <Changes changes={e.changes} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav class="pager" aria-label="Pages of the audit trail">
            <button type="button" disabled={tokens.length <= 1 || load.busy} onClick={() => void load.run(tokens.slice(0, -1))}>
              Newer events
            </button>
            <button type="button" disabled={next === "" || load.busy} onClick={() => void load.run([...tokens, next])}>
              Older events
            </button>
          </nav>
        </>
      ) : load.busy ? (
        <p role="status">Loading the audit trail…</p>
      ) : null}
    </main>
  );
}
