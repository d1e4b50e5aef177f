import { createInterface } from "node:readline/promises";
import { UsageError } from "./usage.js";

/**
 * Refuses a destructive command that would have to ask, when there is nobody to ask: no
 * terminal on stdin (a script, a pipe). Called before anything is sent to the server.
 */
export function requireTerminal(command: string, input: NodeJS.ReadStream = process.stdin): void {
  if (input.isTTY !== true) throw new UsageError(`${command} asks for confirmation and no terminal is attached: pass --yes to confirm.`);
}

/** Asks a person on the terminal; true only for "y" or "yes". Ctrl-C or Ctrl-D answers no. */
export async function confirm(
  question: string,
  input: NodeJS.ReadStream = process.stdin,
  output: NodeJS.WriteStream = process.stderr,
): Promise<boolean> {
  const rl = createInterface({ input, output });
  // readline only pauses on Ctrl-C unless someone listens: make it an answer.
  const closed = new Promise<string>((resolve) => rl.once("close", () => resolve("")));
  rl.on("SIGINT", () => rl.close());
  try {
    const answer = await Promise.race([rl.question(`${question} [y/N] `).catch(() => ""), closed]);
    return /^\s*y(es)?\s*$/i.test(answer);
  } finally {
    rl.close();
  }
}
