import { describe, expect, it } from 'vitest';
import { AuthError } from './auth-error.js';
import { principalFromClaims } from './principal-claims.js';

const base = { sub: 'alice', exp: 2_000_000_000 };

function refusedClaim(claims: Record<string, unknown>, orgClaim = 'org_ids'): string {
  try {
    principalFromClaims(claims, orgClaim);
  } catch (error) {
    expect(error).toBeInstanceOf(AuthError);
    return (error as AuthError).reason;
  }
  throw new Error('claims were accepted');
}

describe('principalFromClaims', () => {
  it('maps sub, iat, exp, organizations and scopes', () => {
    expect(principalFromClaims({ ...base, iat: 1_900_000_000, org_ids: ['acme', 'globex', 'acme'], scope: ' events:publish  read ' }, 'org_ids')).toEqual({
      userId: 'alice',
      organizations: ['acme', 'globex'],
      issuedAtMs: 1_900_000_000_000,
      expiresAtMs: 2_000_000_000_000,
      scopes: ['events:publish', 'read'],
    });
  });

  it('allows no organizations, no scope and no iat', () => {
    expect(principalFromClaims(base, 'org_ids')).toEqual({ userId: 'alice', organizations: [], issuedAtMs: undefined, expiresAtMs: 2_000_000_000_000, scopes: [] });
    expect(principalFromClaims({ ...base, org_ids: [] }, 'org_ids').organizations).toEqual([]);
  });

  it('accepts a single string in the organization claim and a scope array', () => {
    const principal = principalFromClaims({ ...base, org_ids: 'acme', scope: ['a', 'b', 'a'] }, 'org_ids');
    expect(principal.organizations).toEqual(['acme']);
    expect(principal.scopes).toEqual(['a', 'b']);
  });

  it('falls back to org_id when the configured claim is absent, and to org_ids when it is org_id', () => {
    expect(principalFromClaims({ ...base, org_id: 'acme' }, 'org_ids').organizations).toEqual(['acme']);
    expect(principalFromClaims({ ...base, org_id: 'acme' }, 'https://example.com/orgs').organizations).toEqual(['acme']);
    expect(principalFromClaims({ ...base, org_ids: ['acme', 'globex'] }, 'org_id').organizations).toEqual(['acme', 'globex']);
  });

  it('prefers the configured claim over the fallback', () => {
    expect(principalFromClaims({ ...base, org_ids: ['acme'], org_id: 'globex' }, 'org_ids').organizations).toEqual(['acme']);
    expect(principalFromClaims({ ...base, groups: ['g1'], org_id: 'globex' }, 'groups').organizations).toEqual(['g1']);
  });

  it('refuses a missing, empty or non-string sub', () => {
    expect(refusedClaim({ exp: base.exp })).toBe('claims');
    expect(refusedClaim({ ...base, sub: '' })).toBe('claims');
    expect(refusedClaim({ ...base, sub: 42 })).toBe('claims');
  });

  it.each([
    ['a number', { org_ids: 42 }],
    ['null', { org_ids: null }],
    ['an empty string', { org_ids: '' }],
    ['an array with an empty string', { org_ids: ['acme', ''] }],
    ['an array with a number', { org_ids: ['acme', 7] }],
    ['an object', { org_ids: { acme: true } }],
    ['a wrong fallback', { org_id: 7 }],
    ['a wrong scope', { scope: 5 }],
  ])('refuses organizations or scope that are %s', (_label, claims) => {
    expect(refusedClaim({ ...base, ...claims })).toBe('claims');
  });

  it('does not read inherited properties as claims', () => {
    expect(principalFromClaims(base, 'toString').organizations).toEqual([]);
  });
});
