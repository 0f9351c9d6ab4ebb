import { describe, expect, it } from 'vitest';
import { parseIpAddress } from './ip-address.js';

describe('parseIpAddress', () => {
  it.each([
    ['127.0.0.1', 'ipv4', '127.0.0.1'],
    [' 10.1.2.3 ', 'ipv4', '10.1.2.3'],
    ['10.1.2.3:8080', 'ipv4', '10.1.2.3'],
    ['::1', 'ipv6', '::1'],
    ['0000:0000:0000:0000:0000:0000:0000:0001', 'ipv6', '::1'],
    ['0000:0000:0000:0000:0000:ffff:7f00:0001', 'ipv4', '127.0.0.1'],
    ['::ffff:1.2.3.4', 'ipv4', '1.2.3.4'],
    ['::FFFF:0102:0304', 'ipv4', '1.2.3.4'],
    ['[2001:db8::1]', 'ipv6', '2001:db8::1'],
    ['[2001:DB8:0:0:0:0:0:1]:443', 'ipv6', '2001:db8::1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', 'ipv6', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', 'ipv6', '2001:db8:0:1:1:1:1:1'],
    ['fe80::1%eth0', 'ipv6', 'fe80::1'],
    ['::', 'ipv6', '::'],
    ['1::', 'ipv6', '1::'],
    ['64:ff9b::192.0.2.33', 'ipv6', '64:ff9b::c000:221'],
  ])('%s', (input, family, text) => {
    expect(parseIpAddress(input)).toEqual({ family, text });
  });

  it.each(['', 'localhost', '1.2.3', '256.1.1.1', '1:2', '::1::2', 'unknown', '[::1', '1.2.3.4:'])('rejects %j', (input) => {
    expect(parseIpAddress(input)).toBeUndefined();
  });
});
