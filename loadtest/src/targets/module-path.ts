import { fileURLToPath } from 'node:url';

/**
 * How to run a sibling module in a child process: its `.ts` source through tsx when this file
 * runs from source (tsx, vitest), else the compiled `.js` next to it.
 */
export function siblingModule(fromUrl: string, relativeWithoutExtension: string): { path: string; execArgv: string[] } {
  const fromSource = fromUrl.endsWith('.ts');
  const path = fileURLToPath(new URL(`${relativeWithoutExtension}${fromSource ? '.ts' : '.js'}`, fromUrl));
  return { path, execArgv: fromSource ? ['--import', 'tsx'] : [] };
}
