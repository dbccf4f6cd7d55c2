/** An error in how kpb was called (missing flag, bad value): exit code 2, no stack trace. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Exit codes: 0 ok, 1 failure (kernel, tool, verify mismatch), 2 bad usage or bad input. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;
