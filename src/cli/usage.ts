/** Thrown for a wrong command line; main prints the message and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
