import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeJwt } from "jose";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../../helpers/eventually.js";
import { postForm } from "../../helpers/http.js";
import { bootstrap, type Credentials, startTessera, type TesseraProcess, tempDir } from "../../helpers/tessera-process.js";
import { type AxeReport, scan, serious } from "./axe.js";
import { ALL_VARIANTS, ARTIFACTS, type Browser, cleanArtifacts, findChromium, launch, screenshots } from "./browser.js";

// The web console in a real Chromium against a real `tessera serve`: an administrator's day,
// checked the way they would check it (the page, and the token endpoint from outside). Each
// screen is photographed (test-artifacts/console/) and scanned with axe-core.

const chromium = findChromium();
const missing = "missing" in chromium ? chromium.missing : undefined;
if (missing) console.log(`SKIPPED the console browser tests (sign-in, clients, keys, audit, axe scans, screenshots): ${missing}`);

const STEP_MS = 60_000;

let dir: string;
let server: TesseraProcess;
let admin: Credentials;
/** A resource server's client, allowed to introspect tokens (made before the browser starts). */
let introspector: Credentials;
let browser: Browser;
let page: Page;
const axeReports: AxeReport[] = [];
/** Every request the pages made, and what the browser said about content security policy. */
const requests: string[] = [];
const cspReports: string[] = [];

/** The token endpoint, asked from outside the browser as a service would. */
const token = (clientId: string, clientSecret: string, scope?: string) =>
  postForm(`${server.url}/oauth/token`, {
    grant_type: "client_credentials",
    client_id: clientId,
    client_secret: clientSecret,
    ...(scope ? { scope } : {}),
  });

/** Creates a client through ClientAdmin's Connect JSON API, as any HTTP client can. */
async function createOverConnect(name: string, scopes: string[]): Promise<Credentials> {
  const bearer = (await token(admin.clientId, admin.clientSecret, "tessera:admin")).body.access_token as string;
  const res = await fetch(`${server.url}/tessera.v1.ClientAdmin/CreateClient`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${bearer}` },
    body: JSON.stringify({ name, scopes }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { client: { clientId: string }; clientSecret: string };
  return { clientId: body.client.clientId, clientSecret: body.clientSecret };
}

/** Creates a client through the console's form; returns its id and the secret shown once. */
async function createInConsole(name: string, scopes: string, ttl?: string): Promise<Credentials> {
  await nav("Clients").click();
  await page.getByRole("link", { name: "New client" }).click();
  await page.locator("#name").fill(name);
  await page.locator("#scopes").fill(scopes);
  if (ttl !== undefined) await page.locator("#token-ttl").fill(ttl);
  await page.getByRole("button", { name: "Create client" }).click();
  const clientSecret = await page.locator("#new-secret").inputValue();
  const clientId = (await page.getByRole("heading", { level: 1 }).innerText()).replace(/^Client (\S+) created$/, "$1");
  return { clientId, clientSecret };
}

/** Runs `steps` in a new tab, signed out (it shares no memory with the first), then closes it. */
async function inNewTab(steps: (first: Page) => Promise<void>): Promise<void> {
  const first = page;
  page = await freshPage();
  try {
    await steps(first);
  } finally {
    await page.close();
    page = first;
  }
}

/** The Screens navigation's link to a screen. */
const nav = (name: string) => page.getByRole("navigation", { name: "Screens" }).getByRole("link", { name });

/** Scans the screen in both colour schemes; keeps the reports for the summary. */
async function accessible(screen: string): Promise<void> {
  for (const scheme of ["light", "dark"] as const) {
    const report = await scan(page, screen, scheme);
    axeReports.push(report);
    expect(serious(report), `axe on ${screen} (${scheme})`).toEqual([]);
  }
}

/** A new tab: nothing from the other tabs' memory, so signed out. */
async function freshPage(): Promise<Page> {
  const p = await browser.context.newPage();
  p.on("request", (r) => requests.push(r.url()));
  p.on("console", (m) => {
    if (/content security policy/i.test(m.text())) cspReports.push(m.text());
  });
  p.on("pageerror", (e) => cspReports.push(`page error: ${e.message}`));
  await p.goto(`${server.url}/console/`);
  await p.getByRole("heading", { name: "Sign in to the Tessera console" }).waitFor();
  return p;
}

async function signIn(p: Page, id: string, secret: string): Promise<void> {
  await p.locator("#client-id").fill(id);
  await p.locator("#client-secret").fill(secret);
  await p.getByRole("button", { name: "Sign in" }).click();
}

/** Text of the status line or error next to a control, once it says something. */
async function textOf(selector: string): Promise<string> {
  const l = page.locator(selector);
  return eventually(`${selector} to say something`, async () => ((await l.count()) > 0 ? (await l.innerText()).trim() : ""));
}

describe.skipIf(missing !== undefined)("the web console in Chromium", () => {
  let clientId: string;
  let firstSecret: string;
  let secondSecret: string;

  beforeAll(async () => {
    cleanArtifacts();
    dir = tempDir("console");
    const db = join(dir, "tessera.db");
    admin = await bootstrap(db);
    server = await startTessera({ db });
    introspector = await createOverConnect("resource server", ["tessera:introspect"]);
    browser = await launch((chromium as { path: string }).path, server.url);
    page = await freshPage();
  }, STEP_MS);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (axeReports.length > 0) {
      writeFileSync(join(ARTIFACTS, "axe.json"), JSON.stringify(axeReports, null, 2));
      for (const r of axeReports) {
        const found = r.violations.map((v) => `${v.impact} ${v.id}`).join(", ") || "none";
        console.log(
          `axe ${r.screen} (${r.scheme}): ${r.passes} rules pass; violations: ${found}; undecided: ${r.incomplete.join(", ") || "none"}`,
        );
      }
    }
  });

  it(
    "signs in with the keyboard alone, keeping the token out of every browser store",
    async () => {
      await screenshots(page, "sign-in", ALL_VARIANTS);
      await accessible("sign-in");
      // Tab order from the page's main region: back to the skip link, then the sign-in choice,
      // client id, secret and the button.
      await page.locator("main").focus();
      const focused = () =>
        page.evaluate(() => {
          const el = (
            globalThis as unknown as {
              document: { activeElement: { id: string; textContent: string; getAttribute(n: string): string | null } };
            }
          ).document.activeElement;
          return el.id || el.getAttribute("value") || el.textContent.trim();
        });
      const order: string[] = [];
      await page.keyboard.press("Shift+Tab");
      order.push(await focused());
      for (let i = 0; i < 4; i++) {
        await page.keyboard.press("Tab");
        order.push(await focused());
      }
      expect(order).toEqual(["Skip to content", "secret", "client-id", "client-secret", "Sign in"]);
      // Mistakes are named next to the field they concern.
      await page.keyboard.press("Enter");
      expect(await textOf("#client-id-error")).toBe("Enter the client id.");
      await page.locator("#client-id").fill(admin.clientId);
      await page.locator("#client-secret").fill("tsec_wrong");
      await page.keyboard.press("Enter");
      expect(await textOf("#client-secret-error")).toMatch(
        /^The client id or secret is wrong, or the client is disabled\. The server said: /,
      );
      await page.getByRole("radio", { name: "An access token" }).check();
      await page.locator("#access-token").fill("not-a-token");
      await page.getByRole("button", { name: "Sign in" }).click();
      expect(await textOf("#access-token-error")).toBe("This is not an access token: a JWT has three parts separated by dots.");
      await page.getByRole("radio", { name: "Client id and secret" }).check();

      await page.locator("#client-id").fill("");
      await page.locator("#client-secret").fill("");
      await page.locator("#client-id").focus();
      await page.keyboard.type(admin.clientId);
      await page.keyboard.press("Tab");
      await page.keyboard.type(admin.clientSecret);
      await page.keyboard.press("Enter");
      await page.getByRole("heading", { name: "Clients" }).waitFor();
      await eventually("the client list to show the admin client", async () => {
        expect(await page.locator("table.list").innerText()).toContain(admin.clientId);
        return true;
      });

      const stores = await page.evaluate(() => {
        const g = globalThis as unknown as {
          localStorage: { length: number };
          sessionStorage: { length: number };
          document: { cookie: string };
        };
        return { local: g.localStorage.length, session: g.sessionStorage.length, cookie: g.document.cookie };
      });
      expect(stores).toEqual({ local: 0, session: 0, cookie: "" });
      expect(await browser.context.cookies()).toEqual([]);
      expect(page.url()).not.toContain(admin.clientSecret);
    },
    STEP_MS,
  );

  it(
    "creates a client, shows its secret once with a copy button, and the secret gets a token",
    async () => {
      await page.getByRole("link", { name: "New client" }).click();
      await page.getByRole("heading", { name: "New client" }).waitFor();
      // The API's refusal appears in words next to the field it names.
      await page.locator("#name").fill("billing");
      await page.locator("#scopes").fill('read "write"');
      await page.getByRole("button", { name: "Create client" }).click();
      expect(await textOf("#scopes-error")).toMatch(/^Refused: scopes contains .*write.* which is not an RFC 6749 scope token/);
      expect(await page.locator("#scopes").getAttribute("aria-invalid")).toBe("true");
      // A lifetime the console cannot read is refused before the server is asked.
      await page.locator("#scopes").fill("read write");
      await page.locator("#token-ttl").fill("soon");
      await page.getByRole("button", { name: "Create client" }).click();
      expect(await textOf("#token-ttl-error")).toContain("Write a whole number followed by s, m, h or d");
      await screenshots(page, "new-client-errors", [
        { size: "desktop", scheme: "light" },
        { size: "phone", scheme: "dark" },
      ]);
      await accessible("new client (with errors)");

      await page.locator("#token-ttl").fill("15m");
      await page.getByRole("button", { name: "Create client" }).click();
      await page.getByRole("heading", { name: "New client secret" }).waitFor();
      expect(await page.locator(".secret-once .warning").innerText()).toContain("It will not be shown again");
      firstSecret = await page.locator("#new-secret").inputValue();
      expect(firstSecret).toMatch(/^tsec_/);
      clientId = (await page.getByRole("heading", { level: 1 }).innerText()).replace(/^Client (\S+) created$/, "$1");
      expect(clientId).toMatch(/^tcl_/);
      await page.getByRole("button", { name: "Copy" }).click();
      expect(await textOf(".secret-once .status")).toBe("Copied to the clipboard.");
      const copied = await page.evaluate(() =>
        (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText(),
      );
      expect(copied).toBe(firstSecret);
      await screenshots(page, "secret-once", [
        { size: "desktop", scheme: "light" },
        { size: "phone", scheme: "light" },
      ]);
      await accessible("secret shown once");

      await page.getByRole("button", { name: "I have stored the secret" }).click();
      await page.getByRole("heading", { name: "billing" }).waitFor();
      // Shown once: the client's page has its metadata, never the secret.
      expect(await page.content()).not.toContain(firstSecret);

      const issued = await token(clientId, firstSecret);
      expect(issued.status).toBe(200);
      expect(issued.body.scope).toBe("read write");
      expect(issued.body.expires_in).toBe(900);
    },
    STEP_MS,
  );

  it(
    "disables the client, and the token endpoint refuses it; enabling lets it back in",
    async () => {
      await page.getByRole("button", { name: "Disable client" }).click();
      expect(await textOf("section[aria-labelledby=access-title] .status")).toContain("Disabled");
      expect(await page.locator(".title-row .badge").innerText()).toBe("Disabled");
      const refused = await token(clientId, firstSecret);
      expect(refused.status).toBe(401);
      expect(refused.body.error).toBe("invalid_client");

      await page.getByRole("button", { name: "Enable client" }).click();
      await eventually("the badge to say Enabled", async () => {
        expect(await page.locator(".title-row .badge").innerText()).toBe("Enabled");
        return true;
      });
      expect((await token(clientId, firstSecret)).status).toBe(200);
    },
    STEP_MS,
  );

  it(
    "rotates the secret with a grace period and shows when the old one stops working",
    async () => {
      // Out of range: the server's refusal is shown at the grace period field.
      await page.locator("#grace-period").fill("40d");
      await page.getByRole("button", { name: "Rotate secret" }).click();
      expect(await textOf("#grace-period-error")).toMatch(/^Refused: grace_period must be between 0s and 2592000s/);

      await page.locator("#grace-period").fill("1h");
      const before = Date.now();
      await page.getByRole("button", { name: "Rotate secret" }).click();
      await page.getByRole("heading", { name: "New client secret" }).waitFor();
      secondSecret = await page.locator("#new-secret").inputValue();
      expect(secondSecret).not.toBe(firstSecret);
      // Two secrets now: the new one without expiry, the old one expiring in an hour.
      const rows = page.locator("section[aria-labelledby=secrets-title] tbody tr");
      await eventually("two secrets in the list", async () => {
        expect(await rows.count()).toBe(2);
        return true;
      });
      expect(await rows.nth(0).locator("td[data-label='Stops working']").innerText()).toBe("does not expire");
      const expiry = await rows.nth(1).locator("td[data-label='Stops working'] time").getAttribute("datetime");
      const expiresAt = Date.parse(expiry!);
      expect(expiresAt).toBeGreaterThanOrEqual(before + 3600_000 - 2000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3600_000 + 2000);
      await screenshots(page, "secret-rotated", [
        { size: "desktop", scheme: "light" },
        { size: "phone", scheme: "dark" },
      ]);
      await page.getByRole("button", { name: "I have stored the secret" }).click();

      // Both secrets work during the grace period.
      expect((await token(clientId, firstSecret)).status).toBe(200);
      expect((await token(clientId, secondSecret)).status).toBe(200);
    },
    STEP_MS,
  );

  it(
    "cuts off every token the client holds",
    async () => {
      const held = (await token(clientId, secondSecret)).body.access_token as string;
      const introspect = () =>
        postForm(`${server.url}/oauth/introspect`, {
          token: held,
          client_id: introspector.clientId,
          client_secret: introspector.clientSecret,
        });
      expect((await introspect()).body.active).toBe(true);

      await page.getByRole("button", { name: "Cut off all tokens" }).click();
      const dialog = page.getByRole("dialog", { name: /Cut off the tokens of billing/ });
      await dialog.waitFor();
      await dialog.getByRole("button", { name: "Cut off tokens" }).click();
      expect(await textOf("section[aria-labelledby=access-title] .status")).toMatch(/^Cut off: tokens issued before .+ are refused\.$/);
      expect((await introspect()).body.active).toBe(false);
      // New tokens still work.
      expect((await token(clientId, secondSecret)).status).toBe(200);
    },
    STEP_MS,
  );

  it(
    "edits name, scopes, audiences and token lifetime, and shows a refused value next to its field",
    async () => {
      await page.locator("#edit-scopes").fill("read bad\\scope");
      await page.getByRole("button", { name: "Save changes" }).click();
      expect(await textOf("#edit-scopes-error")).toMatch(/^Refused: client\.scopes contains .* which is not an RFC 6749 scope token/);

      await page.locator("#edit-name").fill("billing-v2");
      await page.locator("#edit-scopes").fill("read");
      await page.locator("#edit-audiences").fill("https://billing.example\nhttps://ledger.example");
      await page.locator("#edit-ttl").fill("30m");
      await page.getByRole("button", { name: "Save changes" }).click();
      expect(await textOf("section[aria-labelledby=settings-title] .status")).toBe("Saved: name, scopes, audiences, token lifetime.");
      await page.getByRole("heading", { name: "billing-v2" }).waitFor();
      const issued = await token(clientId, secondSecret);
      expect(issued.body.scope).toBe("read");
      expect(issued.body.expires_in).toBe(1800);
      const forLedger = await postForm(`${server.url}/oauth/token`, {
        grant_type: "client_credentials",
        client_id: clientId,
        client_secret: secondSecret,
        audience: "https://ledger.example",
      });
      expect(decodeJwt(forLedger.body.access_token as string).aud).toBe("https://ledger.example");
      await screenshots(page, "client", ALL_VARIANTS);
      await accessible("client");
    },
    STEP_MS,
  );

  it(
    "lists clients with a filter on text and status",
    async () => {
      await nav("Clients").click();
      await page.getByRole("heading", { name: "Clients" }).waitFor();
      const names = () => page.locator("tbody td[data-label=Name]").allInnerTexts();
      await eventually("the three clients in the list", async () => {
        expect((await names()).sort()).toEqual(["admin", "billing-v2", "resource server"]);
        return true;
      });
      await page.locator("#filter-text").fill("billing");
      await eventually("the filter to leave billing-v2 alone", async () => {
        expect(await names()).toEqual(["billing-v2"]);
        return true;
      });
      await page.locator("#filter-text").fill("");
      await page.locator("#filter-status").selectOption("disabled");
      await eventually("the disabled filter to match no client", async () => {
        expect(await names()).toEqual([]);
        return true;
      });
      expect(await page.locator("main").innerText()).toContain("No client matches the filter.");
      await page.locator("#filter-status").selectOption("all");
      await eventually("all three clients again", async () => {
        expect((await names()).length).toBe(3);
        return true;
      });
      await screenshots(page, "clients", ALL_VARIANTS);
      await accessible("clients");
    },
    STEP_MS,
  );

  it(
    "shows each change in the audit trail, with actor, origin and the fields changed, filtered by client",
    async () => {
      await nav("Audit trail").click();
      await page.getByRole("heading", { name: "Audit trail" }).waitFor();
      await page.locator("#audit-target").fill(clientId);
      await page.getByRole("button", { name: "Filter" }).click();
      await eventually("the audit filter in the address", async () => {
        expect(page.url()).toContain(`#/audit?target=${clientId}`);
        return true;
      });
      const rows = page.locator("tbody tr");
      await eventually("the client's audit events", async () => {
        expect(await page.locator("tbody td[data-label=Action]").allInnerTexts()).toEqual([
          "client.update", // name, scopes, ttl
          "client.revoke_tokens",
          "client.rotate_secret",
          "client.update", // enabled
          "client.update", // disabled
          "client.create",
        ]);
        return true;
      });
      for (const cell of await page.locator("tbody td[data-label=Actor]").allInnerTexts()) expect(cell).toBe(admin.clientId);
      for (const cell of await page.locator("tbody td[data-label=Origin]").allInnerTexts()) expect(cell).toBe("127.0.0.1");
      for (const cell of await page.locator("tbody td[data-label=Target]").allInnerTexts()) expect(cell).toBe(clientId);
      expect(await rows.nth(4).locator("td[data-label=Changes]").innerText()).toContain("disabled: true");
      expect(await rows.nth(0).locator("td[data-label=Changes]").innerText()).toContain("name: billing-v2");
      expect(await rows.nth(2).locator("td[data-label=Changes]").innerText()).toContain("grace_period");
      await screenshots(page, "audit", ALL_VARIANTS);
      await accessible("audit trail");
    },
    STEP_MS,
  );

  it(
    "explains a refused early key rotation, and forces one behind a confirmation",
    async () => {
      await nav("Signing keys").click();
      await page.getByRole("heading", { name: "Signing keys" }).waitFor();
      const kidOf = (state: string) =>
        page
          .locator("tbody tr", { has: page.locator(`td[data-label=State] >> text="${state}"`) })
          .locator("td[data-label='Key id']")
          .innerText();
      await eventually("two keys in the list", async () => {
        expect(await page.locator("tbody tr").count()).toBe(2);
        return true;
      });
      const current = await kidOf("Current");
      const next = await kidOf("Next");
      expect(await page.locator("tbody td[data-label=Algorithm]").first().innerText()).toBe("ES256");

      await page.getByRole("button", { name: "Rotate now" }).click();
      expect(await textOf("#rotate-key-error")).toMatch(
        /^Refused: the next signing key has been published for less than one JWKS cache lifetime; rotate again in \d+s/,
      );
      const refusal = await page.locator("#rotate-key-error").innerText();
      const wait = Number(/rotate again in (\d+)s/.exec(refusal)![1]);
      const explained = await page.locator("#too-soon").innerText();
      expect(explained).toContain("verifiers cache the JWKS");
      expect(explained).toContain(
        `An ordinary rotation is possible in ${Math.floor(wait / 60)} min ${wait % 60 ? `${wait % 60} s` : ""}`.trim(),
      );
      await screenshots(page, "keys-too-soon", [{ size: "desktop", scheme: "light" }]);

      // The confirmation is a modal: Escape cancels it and gives focus back to its button.
      const force = page.getByRole("button", { name: "Force rotation…" });
      const dialog = page.getByRole("dialog", { name: "Force a key rotation?" });
      await force.click();
      await dialog.waitFor();
      await page.keyboard.press("Escape");
      await dialog.waitFor({ state: "detached" });
      await eventually("the focus back on the button that opened the dialog", async () => {
        expect(
          await force.evaluate((el) => el === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement),
        ).toBe(true);
        return true;
      });
      expect(await kidOf("Current")).toBe(current);
      await page.keyboard.press("Enter");
      await dialog.waitFor();
      await screenshots(
        page,
        "keys-force-dialog",
        [
          { size: "desktop", scheme: "dark" },
          { size: "phone", scheme: "light" },
        ],
        { fullPage: false },
      );
      await accessible("force rotation dialog");
      await dialog.getByRole("button", { name: "Force rotation" }).click();
      // The withdrawn current key signed the console's own token: the console says so and asks again.
      expect(await textOf("main .notice")).toBe(
        "The forced rotation withdrew the keys that signed every token so far, including the one you signed in with. Sign in again to continue with a token from the new key.",
      );
      await signIn(page, admin.clientId, admin.clientSecret);
      await nav("Signing keys").click();
      await page.getByRole("heading", { name: "Signing keys" }).waitFor();
      await eventually("two keys in the list", async () => {
        expect(await page.locator("tbody tr").count()).toBe(2);
        return true;
      });
      const fresh = await kidOf("Current");
      expect([current, next]).not.toContain(fresh);
      expect([current, next]).not.toContain(await kidOf("Next"));
      // The view's JWKS is the published one, without the withdrawn keys, and new tokens are signed by the new key.
      await eventually("the JWKS view to publish the next key", async () => {
        expect(await page.locator("pre.jwks").innerText()).toContain(await kidOf("Next"));
        return true;
      });
      const published = await page.locator("pre.jwks").innerText();
      expect(published).not.toContain(current);
      expect(published).not.toContain(next);
      const header = JSON.parse(
        Buffer.from(((await token(clientId, secondSecret)).body.access_token as string).split(".")[0]!, "base64url").toString(),
      );
      expect(header.kid).toBe(fresh);
      await screenshots(page, "keys", ALL_VARIANTS);
      await accessible("signing keys");

      await nav("Audit trail").click();
      await eventually("keys.rotate at the top of the audit trail", async () => {
        expect(await page.locator("tbody tr").first().locator("td[data-label=Action]").innerText()).toBe("keys.rotate");
        return true;
      });
      const changes = await page.locator("tbody tr").first().locator("td[data-label=Changes]").innerText();
      expect(changes).toContain("force: true");
      expect(changes).toContain(current);
      expect(changes).toContain(next);
    },
    STEP_MS,
  );

  it(
    "deletes a client only once its id is typed, and the token endpoint forgets it",
    async () => {
      await nav("Clients").click();
      await page.getByRole("link", { name: "billing-v2" }).click();
      await page.getByRole("heading", { name: "billing-v2" }).waitFor();
      const button = page.getByRole("button", { name: "Delete client" });
      expect(await button.isDisabled()).toBe(true);
      await page.locator("#delete-confirm").fill(clientId.slice(0, -1));
      expect(await button.isDisabled()).toBe(true);
      await page.locator("#delete-confirm").fill(clientId);
      await button.click();
      await page.getByRole("heading", { name: "Clients" }).waitFor();
      expect(await textOf("main .notice")).toBe(`Deleted the client billing-v2 (${clientId}).`);
      const refused = await token(clientId, secondSecret);
      expect(refused.status).toBe(401);
    },
    STEP_MS,
  );

  it(
    "refuses a client without tessera:admin, by id and secret and by pasted token",
    async () => {
      // A service client, made in the console.
      const { clientId: id, clientSecret: secret } = await createInConsole("reports", "read");
      await inNewTab(async () => {
        await signIn(page, id, secret);
        expect(await textOf("#sign-in-error")).toMatch(
          /^This client lacks tessera:admin, so it cannot use the console\. The server said: The scope .*tessera:admin.* is not allowed for this client$/,
        );
        await screenshots(page, "sign-in-refused", [
          { size: "desktop", scheme: "light" },
          { size: "phone", scheme: "dark" },
        ]);
        await accessible("sign-in refused");

        const serviceToken = (await token(id, secret)).body.access_token as string;
        await page.getByRole("radio", { name: "An access token" }).check();
        await page.locator("#access-token").fill(serviceToken);
        await page.getByRole("button", { name: "Sign in" }).click();
        expect(await textOf("#access-token-error")).toMatch(/^This client lacks tessera:admin, so it cannot use the console\./);

        // An admin's token, pasted, is accepted.
        const adminToken = (await token(admin.clientId, admin.clientSecret, "tessera:admin")).body.access_token as string;
        await page.locator("#access-token").fill(adminToken);
        await page.getByRole("button", { name: "Sign in" }).click();
        await page.getByRole("heading", { name: "Clients" }).waitFor();
        expect(await page.locator(".who").innerText()).toContain(admin.clientId);
        // Memory only: a reload forgets the token.
        await page.reload();
        await page.getByRole("heading", { name: "Sign in to the Tessera console" }).waitFor();
      });
    },
    STEP_MS,
  );

  it(
    "asks for credentials again when the token expires",
    async () => {
      const { clientId: id, clientSecret: secret } = await createInConsole("short-lived admin", "tessera:admin", "3s");
      await inNewTab(async () => {
        await signIn(page, id, secret);
        await page.getByRole("heading", { name: "Clients" }).waitFor();
        // The page goes back to sign-in by itself when the token's lifetime is over.
        await page.getByRole("heading", { name: "Sign in to the Tessera console" }).waitFor({ timeout: 15_000 });
        expect(await textOf("main .notice")).toMatch(/^Your session expired at .+\. Sign in again to continue\.$/);
        expect(await page.locator("#client-id").inputValue()).toBe(id);
        expect(await page.locator("#client-secret").inputValue()).toBe("");
        await screenshots(page, "session-expired", [{ size: "desktop", scheme: "light" }]);
      });
    },
    STEP_MS,
  );

  it(
    "signs out a session whose token the server stops accepting (its client's tokens cut off)",
    async () => {
      const second = await createOverConnect("second admin", ["tessera:admin"]);
      await inNewTab(async (before) => {
        await signIn(page, second.clientId, second.clientSecret);
        await page.getByRole("heading", { name: "Clients" }).waitFor();
        // Meanwhile, from the first tab, its tokens are cut off.
        await before.goto(`${server.url}/console/#/clients/${second.clientId}`);
        await before.getByRole("heading", { name: "second admin" }).waitFor();
        await before.getByRole("button", { name: "Cut off all tokens" }).click();
        await before.getByRole("dialog").getByRole("button", { name: "Cut off tokens" }).click();
        await before.getByText(/^Cut off: tokens issued before/).waitFor();
        // The next call from the second tab is refused, and it asks for credentials again.
        await page.getByRole("button", { name: "Reload" }).click();
        await page.getByRole("heading", { name: "Sign in to the Tessera console" }).waitFor();
        expect(await textOf("main .notice")).toContain("The server no longer accepts your access token");
      });
    },
    STEP_MS,
  );

  it(
    "pages through many clients and events, reading every page of ListClients so the filter sees them all",
    async () => {
      // More clients than one ListClients page (200) and one screen page (20).
      for (let i = 1; i <= 205; i++) await createOverConnect(`svc-${String(i).padStart(3, "0")}`, ["read"]);
      await nav("Clients").click();
      await page.getByRole("button", { name: "Reload" }).click();
      const count = page.locator("main p.count");
      // admin, resource server, reports, short-lived admin, second admin, and the 205.
      await eventually("page 1 of 11", async () => {
        expect(await count.innerText()).toBe("210 clients, page 1 of 11");
        return true;
      });
      expect(await page.locator("tbody tr").count()).toBe(20);
      await page.getByRole("button", { name: "Next page" }).click();
      await eventually("page 2 of 11", async () => {
        expect(await count.innerText()).toBe("210 clients, page 2 of 11");
        return true;
      });
      await page.getByRole("button", { name: "Previous page" }).click();
      await eventually("page 1 of 11 again", async () => {
        expect(await count.innerText()).toBe("210 clients, page 1 of 11");
        return true;
      });
      // Ordered by (random) id, so these are spread over both ListClients pages.
      await page.locator("#filter-text").fill("svc-2");
      await eventually("the filter to match 6 clients", async () => {
        expect(await count.innerText()).toBe("6 of 210 clients match");
        return true;
      });
      expect((await page.locator("tbody td[data-label=Name]").allInnerTexts()).sort()).toEqual([
        "svc-200",
        "svc-201",
        "svc-202",
        "svc-203",
        "svc-204",
        "svc-205",
      ]);
      await page.locator("#filter-text").fill("");

      await nav("Audit trail").click();
      const first = page.locator("tbody tr").first().locator("td[data-label=Target]");
      await eventually("page 1 of the audit trail", async () => {
        expect(await page.locator("main p.count").innerText()).toBe("Page 1");
        return true;
      });
      const newest = await first.innerText();
      expect(await page.locator("tbody tr").count()).toBe(25);
      await page.getByRole("button", { name: "Older events" }).click();
      await eventually("page 2 of the audit trail", async () => {
        expect(await page.locator("main p.count").innerText()).toBe("Page 2");
        return true;
      });
      expect(await first.innerText()).not.toBe(newest);
      await page.getByRole("button", { name: "Newer events" }).click();
      await eventually("page 1 of the audit trail again", async () => {
        expect(await page.locator("main p.count").innerText()).toBe("Page 1");
        return true;
      });
      expect(await first.innerText()).toBe(newest);
    },
    STEP_MS,
  );

  it(
    "says so in words when the server goes away",
    async () => {
      await nav("Clients").click();
      await page.getByRole("heading", { name: "Clients" }).waitFor();
      // The notice of the deletion, long ago, is gone.
      expect(await page.locator("main .notice").count()).toBe(0);
      await server.stop();
      await page.getByRole("button", { name: "Reload" }).click();
      expect(await textOf("#clients-error")).toMatch(
        /^The server cannot be reached or answered strangely \(.+\)\. Check that Tessera is running, then try again\.$/,
      );
      await screenshots(page, "server-gone", [{ size: "desktop", scheme: "light" }]);
    },
    STEP_MS,
  );

  it("loaded nothing from another origin and broke no content security policy", () => {
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((u) => !u.startsWith(`${server.url}/`))).toEqual([]);
    expect(cspReports).toEqual([]);
  });
});
