import { describe, expect, it } from 'vitest';
import { createClientAddressResolver, TrustedProxyError } from './client-address.js';

describe('createClientAddressResolver', () => {
  it('ignores X-Forwarded-For when no proxy is trusted', () => {
    const resolve = createClientAddressResolver([]);
    expect(resolve('203.0.113.9', '1.1.1.1')).toBe('203.0.113.9');
    expect(resolve('0000:0000:0000:0000:0000:0000:0000:0001', undefined)).toBe('::1');
  });

  it('ignores X-Forwarded-For from an untrusted peer', () => {
    const resolve = createClientAddressResolver(['10.0.0.0/8']);
    expect(resolve('203.0.113.9', '1.1.1.1')).toBe('203.0.113.9');
  });

  it('takes the first untrusted hop from the right', () => {
    const resolve = createClientAddressResolver(['10.0.0.0/8', '192.168.1.1']);
    expect(resolve('10.1.2.3', '6.6.6.6, 198.51.100.4, 192.168.1.1')).toBe('198.51.100.4');
    expect(resolve('10.1.2.3', '198.51.100.4')).toBe('198.51.100.4');
  });

  it('returns the leftmost hop when every hop is trusted', () => {
    const resolve = createClientAddressResolver(['10.0.0.0/8']);
    expect(resolve('10.0.0.1', '10.0.0.3,10.0.0.2')).toBe('10.0.0.3');
    expect(resolve('10.0.0.1', '')).toBe('10.0.0.1');
    expect(resolve('10.0.0.1', undefined)).toBe('10.0.0.1');
  });

  it('stops at a malformed hop and keeps the last known address', () => {
    const resolve = createClientAddressResolver(['10.0.0.0/8']);
    expect(resolve('10.0.0.1', 'garbage, 10.0.0.2')).toBe('10.0.0.2');
    expect(resolve('10.0.0.1', '198.51.100.4, not-an-ip')).toBe('10.0.0.1');
  });

  it('understands IPv6 peers and hops in any spelling', () => {
    const resolve = createClientAddressResolver(['::1/128', 'fd00::/8']);
    expect(resolve('0000:0000:0000:0000:0000:0000:0000:0001', '2001:DB8::7, fd12::1')).toBe('2001:db8::7');
    expect(resolve('::1', '[2001:db8::7]:5555')).toBe('2001:db8::7');
    expect(resolve('fd00:0:0:0:0:0:0:9', '::ffff:198.51.100.4')).toBe('198.51.100.4');
  });

  it('matches IPv4-mapped peers against IPv4 rules and mapped rules against IPv4 peers', () => {
    const resolve = createClientAddressResolver(['127.0.0.1', '::ffff:10.0.0.0/104']);
    expect(resolve('0000:0000:0000:0000:0000:ffff:7f00:0001', '198.51.100.4')).toBe('198.51.100.4');
    expect(resolve('::ffff:127.0.0.1', '198.51.100.5')).toBe('198.51.100.5');
    expect(resolve('10.9.9.9', '198.51.100.6')).toBe('198.51.100.6');
    expect(resolve('11.0.0.1', '198.51.100.6')).toBe('11.0.0.1');
  });

  it('trusts everyone with 0.0.0.0/0 and ::/0 and then returns the leftmost hop', () => {
    const resolve = createClientAddressResolver(['0.0.0.0/0', '::/0']);
    expect(resolve('203.0.113.1', '2001:db8::1, 198.51.100.4')).toBe('2001:db8::1');
  });

  it('returns an unparseable remote address unchanged', () => {
    expect(createClientAddressResolver(['10.0.0.0/8'])('weird', '1.1.1.1')).toBe('weird');
  });

  it.each(['10.0.0.0/33', '::1/129', 'example.com', '10.0.0.0/', '10.0.0.0/-1', '10.0.0/8', '1.2.3.4/8x', ''])('rejects the trusted proxy entry %j', (entry) => {
    expect(() => createClientAddressResolver(['127.0.0.1', entry])).toThrow(TrustedProxyError);
    expect(() => createClientAddressResolver([entry])).toThrow(JSON.stringify(entry));
  });
});
