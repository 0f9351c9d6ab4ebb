import { readFileSync } from 'node:fs';
import { hotFunctions, type CpuProfile } from './profile-summary.js';

/** `tsx loadtest/src/profile/profile-cli.ts <file.cpuprofile>... [--top N]` */
const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args[topAt + 1]) : 20;
const files = args.filter((a, i) => a !== '--top' && i !== topAt + 1);
for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  process.stdout.write(`${file}\n`);
  for (const f of hotFunctions(profile, top)) process.stdout.write(`  ${f.percent.toFixed(1).padStart(5)}%  ${f.selfMs.toFixed(0).padStart(7)} ms  ${f.name}\n`);
}
