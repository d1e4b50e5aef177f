import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";

/** Where screenshots of the console are written (ignored by git). */
export const ARTIFACTS = fileURLToPath(new URL("../../../test-artifacts/console/", import.meta.url));

/**
 * Debian's Chromium (apt-get install chromium), or undefined with the reason it is missing.
 * Tests never download a browser.
 */
export function findChromium(): { path: string } | { missing: string } {
  const which = spawnSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" });
  const path = which.status === 0 ? which.stdout.trim() : "/usr/bin/chromium";
  if (!existsSync(path)) return { missing: "chromium not found on PATH (apt-get install chromium)" };
  return { path };
}

// Headless, and nothing that talks to the outside: this machine's network is closed, and a test
// must not depend on Google's services (updates, sync, safe browsing, QUIC probes).
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A running Chromium with a fresh profile that is removed on close. */
export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Starts Chromium with a new, empty user-data-dir. One at a time: the machine has two cores. */
export async function launch(executablePath: string, origin: string): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "tessera-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: FLAGS,
    viewport: DESKTOP,
    colorScheme: "light",
    timeout: 60_000,
  });
  // The copy button writes to the clipboard; the test reads it back.
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A desktop window and a small phone's (360 CSS pixels wide). */
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 360, height: 740 };

/**
 * Writes screenshots of what the page shows, at the sizes and schemes asked for: the whole page,
 * or only the window (`fullPage: false`, for a modal dialog whose backdrop covers the window).
 */
export async function screenshots(
  page: Page,
  name: string,
  variants: ReadonlyArray<{ size: "desktop" | "phone"; scheme: "light" | "dark" }>,
  { fullPage = true } = {},
): Promise<string[]> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const written: string[] = [];
  for (const v of variants) {
    await page.setViewportSize(v.size === "desktop" ? DESKTOP : PHONE);
    await page.emulateMedia({ colorScheme: v.scheme });
    const file = join(ARTIFACTS, `${name}-${v.size}-${v.scheme}.png`);
    const overflowing = await overflows(page);
    if (overflowing.length > 0) throw new Error(`${name} (${v.size}, ${v.scheme}): content wider than its box: ${overflowing.join("; ")}`);
    await page.screenshot({ path: file, fullPage, animations: "disabled", caret: "hide" });
    written.push(file);
  }
  await page.setViewportSize(DESKTOP);
  await page.emulateMedia({ colorScheme: "light" });
  return written;
}

/**
 * Elements whose content spills out of their box sideways (text running out of a card, a page
 * wider than the window): what would force a reader to scroll sideways or lose text. Form
 * controls and boxes that scroll by design are left out.
 */
export async function overflows(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    interface El {
      tagName: string;
      id: string;
      className: string;
      scrollWidth: number;
      clientWidth: number;
      textContent: string | null;
    }
    const g = globalThis as unknown as {
      document: { documentElement: El; querySelectorAll(s: string): Iterable<El> };
      getComputedStyle(e: El): { overflowX: string; display: string };
    };
    const found: string[] = [];
    for (const el of [g.document.documentElement, ...g.document.querySelectorAll("body *")]) {
      if (/^(INPUT|TEXTAREA|SELECT|OPTION|svg|path)$/i.test(el.tagName)) continue;
      const style = g.getComputedStyle(el);
      if (style.display === "none" || style.overflowX === "auto" || style.overflowX === "scroll" || style.overflowX === "hidden") continue;
      if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
        found.push(
          `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}${el.className ? `.${String(el.className).replace(/ /g, ".")}` : ""} by ${el.scrollWidth - el.clientWidth} px ("${(el.textContent ?? "").trim().slice(0, 40)}")`,
        );
      }
    }
    return found;
  });
}

/** Every variant: desktop and phone, light and dark. */
export const ALL_VARIANTS = [
  { size: "desktop", scheme: "light" },
  { size: "desktop", scheme: "dark" },
  { size: "phone", scheme: "light" },
  { size: "phone", scheme: "dark" },
] as const;

/** Removes the screenshots of an earlier run. */
export function cleanArtifacts(): void {
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
}
