import { isIPv4, isIPv6 } from 'node:net';

export interface IpAddress {
  readonly family: 'ipv4' | 'ipv6';
  /** Canonical text: dotted IPv4 (also for IPv4-mapped IPv6), RFC 5952 compressed lowercase IPv6. */
  readonly text: string;
}

/**
 * Parses an address as sockets, proxies and uWS print it: `1.2.3.4`, `::1`, the full form
 * `0000:0000:0000:0000:0000:0000:0000:0001`, `::ffff:1.2.3.4`, `[::1]`, `[::1]:443`, `1.2.3.4:80`,
 * `fe80::1%eth0`. Returns undefined for anything else. Two spellings of one address give one text,
 * so the result can key a rate limiter.
 */
export function parseIpAddress(input: string): IpAddress | undefined {
  let s = input.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(s);
  if (bracketed !== null) s = bracketed[1]!;
  else if (/^[\d.]+:\d{1,5}$/.test(s)) s = s.slice(0, s.indexOf(':'));
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (isIPv4(s)) return { family: 'ipv4', text: s };
  if (!isIPv6(s)) return undefined;
  const hextets = expandIpv6(s);
  if (hextets === undefined) return undefined;
  if (isIpv4Mapped(hextets)) return { family: 'ipv4', text: mappedIpv4(hextets) };
  return { family: 'ipv6', text: compressIpv6(hextets) };
}

/** The 8 hextets of an IPv6 address already accepted by `isIPv6`. */
export function expandIpv6(address: string): number[] | undefined {
  let text = address.toLowerCase();
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const octets = tail.split('.').map(Number);
    const [a = 0, b = 0, c = 0, d = 0] = octets;
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string | undefined): number[] => (part === undefined || part === '' ? [] : part.split(':').map((h) => Number.parseInt(h, 16)));
  const head = parse(halves[0]);
  const rest = parse(halves[1]);
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const hextets = [...head, ...new Array<number>(halves.length === 1 ? 0 : missing).fill(0), ...rest];
  return hextets.every((h) => Number.isInteger(h) && h >= 0 && h <= 0xffff) ? hextets : undefined;
}

export function isIpv4Mapped(hextets: readonly number[]): boolean {
  return hextets.slice(0, 5).every((h) => h === 0) && hextets[5] === 0xffff;
}

function mappedIpv4(hextets: readonly number[]): string {
  const hi = hextets[6] ?? 0;
  const lo = hextets[7] ?? 0;
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/** RFC 5952: lowercase, no leading zeros, the longest run (>= 2) of zero hextets as `::`. */
function compressIpv6(hextets: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (hextets[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && hextets[j] === 0) j += 1;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = hextets.map((h) => h.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
