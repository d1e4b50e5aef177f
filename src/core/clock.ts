/** Milliseconds since the Unix epoch; injected so tests can move time. */
export type Clock = () => number;

/** The real wall clock. */
export const systemClock: Clock = () => Date.now();
