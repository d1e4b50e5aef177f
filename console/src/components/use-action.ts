import { useCallback, useState } from "preact/hooks";
import { describeError, type Problem } from "../errors.js";

/** A button's work in progress: whether it runs, and what went wrong last time. */
export interface Action<A extends unknown[]> {
  busy: boolean;
  problem: Problem | undefined;
  /** Runs the work; a failure becomes `problem` (in words) instead of a thrown error. */
  run: (...args: A) => Promise<void>;
}

/** Wraps an async operation so its failure is shown next to the control that started it. */
export function useAction<A extends unknown[]>(work: (...args: A) => Promise<void>): Action<A> {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | undefined>(undefined);
  const run = useCallback(
    async (...args: A) => {
      setBusy(true);
      setProblem(undefined);
      try {
        await work(...args);
      } catch (err) {
        setProblem(describeError(err));
      } finally {
        setBusy(false);
      }
    },
    [work],
  );
  return { busy, problem, run };
}
