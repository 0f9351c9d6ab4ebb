/** Series names in Prometheus text exposition. */

const SUFFIXES: Record<string, readonly string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
  counter: [''],
  gauge: [''],
  untyped: [''],
};

/** Series a registry declares (`# TYPE` lines), whether or not a sample exists yet. */
export function declaredSeries(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const match = /^# TYPE (\S+) (\S+)/.exec(line);
    if (match === null) continue;
    const [, family = '', type = 'untyped'] = match;
    for (const suffix of SUFFIXES[type] ?? ['']) names.add(`${family}${suffix}`);
  }
  return names;
}

/** Series that carry at least one sample. */
export function emittedSeries(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    if (line.length === 0 || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (match?.[1] !== undefined) names.add(match[1]);
  }
  return names;
}
