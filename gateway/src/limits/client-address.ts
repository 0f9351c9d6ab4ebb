import { BlockList, isIP } from 'node:net';
import { expandIpv6, isIpv4Mapped, parseIpAddress, type IpAddress } from './ip-address.js';

export class TrustedProxyError extends Error {
  override readonly name = 'TrustedProxyError';
  constructor(readonly entry: string, reason: string, options?: { cause?: unknown }) {
    super(`invalid trusted proxy ${JSON.stringify(entry)}: ${reason}`, options);
  }
}

export type ClientAddressResolver = (remoteAddress: string, xForwardedFor: string | undefined) => string;

/**
 * Resolves the client address the connection rate limit keys on. `X-Forwarded-For` counts only
 * when the socket's peer is a trusted proxy: the list is walked from the right (the hop the nearest
 * proxy saw), skipping trusted hops; the first untrusted hop is the client, or the leftmost entry when
 * every hop is trusted. A hop that is not an IP address ends the walk at the last address known good
 * (so a malformed header cannot mint fresh rate-limit keys). Results are canonical text: IPv4-mapped
 * IPv6 becomes dotted IPv4 and IPv6 is compressed, so uWS's full-form `0000:...:0001` equals `::1`.
 *
 * `trustedProxies` entries are IPv4/IPv6 addresses or CIDR blocks; a bad entry throws TrustedProxyError.
 */
export function createClientAddressResolver(trustedProxies: readonly string[]): ClientAddressResolver {
  const trusted = new BlockList();
  for (const entry of trustedProxies) addTrusted(trusted, entry);
  const isTrusted = (ip: IpAddress): boolean => trusted.check(ip.text, ip.family);

  if (trustedProxies.length === 0) return (remoteAddress) => parseIpAddress(remoteAddress)?.text ?? remoteAddress;

  return (remoteAddress, xForwardedFor) => {
    const remote = parseIpAddress(remoteAddress);
    if (remote === undefined) return remoteAddress;
    if (xForwardedFor === undefined || !isTrusted(remote)) return remote.text;
    const hops = xForwardedFor.split(',');
    let nearest = remote.text;
    for (let i = hops.length - 1; i >= 0; i -= 1) {
      const text = hops[i]!.trim();
      if (text === '') continue;
      const hop = parseIpAddress(text);
      if (hop === undefined) return nearest;
      if (!isTrusted(hop)) return hop.text;
      nearest = hop.text;
    }
    return nearest;
  };
}

function addTrusted(list: BlockList, entry: string): void {
  const text = entry.trim();
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const family = isIP(address);
  if (family === 0) throw new TrustedProxyError(entry, 'not an IPv4 or IPv6 address or CIDR block');
  const maxPrefix = family === 4 ? 32 : 128;
  let prefix = maxPrefix;
  if (slash >= 0) {
    const prefixText = text.slice(slash + 1);
    prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
    if (!(prefix <= maxPrefix)) throw new TrustedProxyError(entry, `prefix length must be 0-${maxPrefix}`);
  }
  const hextets = family === 6 ? expandIpv6(address) : undefined;
  try {
    if (hextets !== undefined && isIpv4Mapped(hextets) && prefix >= 96) {
      // Addresses are checked in canonical form, where IPv4-mapped IPv6 is plain IPv4.
      const mapped = parseIpAddress(address);
      list.addSubnet(mapped?.text ?? address, prefix - 96, 'ipv4');
    } else {
      list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
    }
  } catch (error) {
    throw new TrustedProxyError(entry, 'rejected by the address parser', { cause: error });
  }
}
