import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Page } from "playwright-core";

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** One accessibility rule broken on a screen, with where. */
export interface Violation {
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

/** What axe-core found on one screen in one colour scheme. */
export interface AxeReport {
  screen: string;
  scheme: "light" | "dark";
  passes: number;
  /** Rules axe could not decide on by itself (to be checked by a person), by id. */
  incomplete: string[];
  /** Violations of every impact (minor and moderate included, for the record). */
  violations: Violation[];
}

/**
 * Runs axe-core (WCAG 2.x A and AA rules and best practices) on what the page shows. The script
 * goes in through the DevTools protocol (page.evaluate), which the page's CSP does not govern,
 * so the console is scanned with its real policy in force.
 */
export async function scan(page: Page, screen: string, scheme: "light" | "dark"): Promise<AxeReport> {
  await page.emulateMedia({ colorScheme: scheme });
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<AxeResult> } }).axe;
    const doc = (globalThis as unknown as { document: unknown }).document;
    const r = await axe.run(doc, { resultTypes: ["violations"] });
    return {
      passes: r.passes.length,
      incomplete: r.incomplete.map((i) => `${i.id} (${i.nodes.length})`),
      violations: r.violations.map((v) => ({
        id: v.id,
        impact: v.impact ?? "unknown",
        help: v.help,
        targets: v.nodes.map((n) => n.target.join(" ")),
      })),
    };
  });
  await page.emulateMedia({ colorScheme: "light" });
  return { screen, scheme, ...result };
}

interface AxeResult {
  passes: unknown[];
  incomplete: { id: string; nodes: unknown[] }[];
  violations: { id: string; impact?: string | null; help: string; nodes: { target: string[] }[] }[];
}

/** The violations that block the console's promise: impact serious or critical. */
export function serious(report: AxeReport): Violation[] {
  return report.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}
