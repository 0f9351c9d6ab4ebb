import { readFileSync } from 'node:fs';

/** CPU ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux x86-64 and arm64). */
export const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcSample {
  /** user + system CPU of all the process's threads, in microseconds (10 ms resolution). */
  readonly cpuUs: number;
  readonly rssBytes: number;
}

/**
 * Reads CPU time (utime + stime, fields 14 and 15 of /proc/<pid>/stat, counted after the
 * parenthesised command name, which may itself hold spaces) and VmRSS of /proc/<pid>/status.
 * Undefined when the process is gone.
 */
export function readProcSample(pid: number): ProcSample | undefined {
  let stat: string;
  let status: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    status = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  return parseProcSample(stat, status);
}

export function parseProcSample(stat: string, status: string): ProcSample {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14 → index 11, stime field 15 → index 12.
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rss = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  return { cpuUs: (ticks * 1_000_000) / CLOCK_TICKS_PER_SECOND, rssBytes: rss === null ? 0 : Number(rss[1]) * 1024 };
}

/** Pids whose /proc/<pid>/comm is one of `names` (e.g. the broker's beam.smp, redis-server). */
export function pidsByCommand(names: readonly string[], readDir: () => string[], readComm: (pid: string) => string | undefined): number[] {
  const out: number[] = [];
  for (const entry of readDir()) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = readComm(entry);
    if (comm !== undefined && names.includes(comm.trim())) out.push(Number(entry));
  }
  return out;
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ESRCH';
}
