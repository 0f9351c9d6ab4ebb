/** Just enough Dockerfile and .dockerignore parsing for static checks. */

export interface Instruction {
  /** Upper-case keyword, e.g. COPY. */
  readonly keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  readonly args: string;
  /** Index of the build stage (the FROM it follows); -1 before the first FROM. */
  readonly stage: number;
}

export interface Stage {
  readonly index: number;
  readonly image: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

export interface Dockerfile {
  /** ARG defaults declared before the first FROM. */
  readonly globalArgs: Record<string, string>;
  readonly stages: Stage[];
}

export function parseDockerfile(text: string): Dockerfile {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line)) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const joined = (pending + line).trim();
    pending = '';
    if (joined !== '') logical.push(joined);
  }
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of logical) {
    const match = /^(\S+)\s*(.*)$/.exec(line);
    const keyword = (match?.[1] ?? '').toUpperCase();
    const args = (match?.[2] ?? '').replace(/\s+/g, ' ').trim();
    if (keyword === 'FROM') {
      const [image = '', as, name] = args.split(' ');
      const expanded = image.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => globalArgs[a ?? b ?? ''] ?? '');
      stages.push({ index: stages.length, image: expanded, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) {
      if (keyword === 'ARG') {
        const [key = '', value = ''] = args.split('=');
        globalArgs[key] = value;
      }
      continue;
    }
    stage.instructions.push({ keyword, args, stage: stage.index });
  }
  return { globalArgs, stages };
}

export interface CopyInstruction {
  readonly from: string | undefined;
  readonly sources: string[];
  readonly destination: string;
}

export function parseCopy(instruction: Instruction): CopyInstruction {
  const words = instruction.args.startsWith('[') ? (JSON.parse(instruction.args) as string[]) : instruction.args.split(' ');
  let from: string | undefined;
  const rest: string[] = [];
  for (const word of words) {
    if (word.startsWith('--from=')) from = word.slice('--from='.length);
    else if (!word.startsWith('--')) rest.push(word);
  }
  const destination = rest.pop() ?? '';
  return { from, sources: rest, destination };
}

/** An exec-form instruction's argument vector, or undefined for shell form. */
export function execForm(instruction: Instruction): string[] | undefined {
  if (!instruction.args.startsWith('[')) return undefined;
  const parsed: unknown = JSON.parse(instruction.args);
  return Array.isArray(parsed) && parsed.every((p) => typeof p === 'string') ? parsed : undefined;
}

/** .dockerignore semantics: the last matching pattern wins; `!` re-includes; a directory match covers its contents. */
export function dockerIgnore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const pattern = (negate ? line.slice(1) : line).replace(/^\/+/, '').replace(/\/+$/, '');
      const regex = pattern
        .split(/(\*\*\/?|\*|\?)/)
        .map((part) => {
          if (part === '**/' ) return '(?:.*/)?';
          if (part === '**') return '.*';
          if (part === '*') return '[^/]*';
          if (part === '?') return '[^/]';
          return part.replace(/[.+^${}()|[\]\\]/g, '\\$&');
        })
        .join('');
      return { negate, matches: new RegExp(`^${regex}(?:/.*)?$`) };
    });
  return (path: string) => {
    let excluded = false;
    for (const rule of rules) if (rule.matches.test(path)) excluded = !rule.negate;
    return excluded;
  };
}
