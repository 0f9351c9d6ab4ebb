/** One dependency's say in readiness. `check` must resolve within its own timeout. */
export interface ReadinessCheck {
  readonly name: string;
  check(): boolean | Promise<boolean>;
}

export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: Record<string, boolean>;
}

/** Runs every check in parallel, each bounded by `timeoutMs` (a slow check counts as failing). */
export async function evaluateReadiness(checks: readonly ReadinessCheck[], timeoutMs: number): Promise<ReadinessReport> {
  const results = await Promise.all(checks.map((c) => withTimeout(c, timeoutMs)));
  const report: Record<string, boolean> = {};
  checks.forEach((c, i) => {
    report[c.name] = results[i] === true;
  });
  return { ready: results.every((r) => r), checks: report };
}

async function withTimeout(check: ReadinessCheck, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([Promise.resolve().then(() => check.check()), timeout]);
  } catch {
    // A throwing check is a failing check; readiness never throws.
    return false;
  } finally {
    clearTimeout(timer);
  }
}
