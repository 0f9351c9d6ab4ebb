import { describe, expect, it } from 'vitest';
import { OrgLayout, OrgLayoutError } from './org-layout.js';

function membersByOrg(layout: OrgLayout): Map<number, number[]> {
  const byOrg = new Map<number, number[]>();
  for (let u = 0; u < layout.users; u++) {
    for (const org of layout.orgsOf(u)) byOrg.set(org, [...(byOrg.get(org) ?? []), u]);
  }
  return byOrg;
}

describe('OrgLayout', () => {
  it('puts every user in one organization per layer with the configured size', () => {
    const layout = new OrgLayout({ users: 1_050, membersPerOrg: 100, orgsPerUser: 3, prefix: 'lt-x' });
    expect(layout.orgsPerLayer).toBe(11);
    expect(layout.organizationCount).toBe(33);
    const byOrg = membersByOrg(layout);
    expect(byOrg.size).toBe(33);
    for (const [org, members] of byOrg) {
      expect(members.length).toBe(layout.membersOf(org));
      expect(new Set(members).size).toBe(members.length);
    }
    for (let u = 0; u < layout.users; u++) {
      const orgs = layout.orgsOf(u);
      expect(orgs.map((o) => layout.layerOf(o))).toEqual([0, 1, 2]);
    }
  });

  it('mixes users across layers', () => {
    const layout = new OrgLayout({ users: 100, membersPerOrg: 10, orgsPerUser: 2, prefix: 'p' });
    const byOrg = membersByOrg(layout);
    expect(byOrg.get(0)).not.toEqual(byOrg.get(layout.orgsPerLayer)!.map((u) => u));
    expect(layout.orgName(3)).toBe('p-3');
    expect(layout.userName(7)).toBe('p-u7');
  });

  it('rejects impossible layouts up front', () => {
    expect(() => new OrgLayout({ users: 10, membersPerOrg: 11, orgsPerUser: 1, prefix: 'p' })).toThrow(OrgLayoutError);
    expect(() => new OrgLayout({ users: 0, membersPerOrg: 1, orgsPerUser: 1, prefix: 'p' })).toThrow(OrgLayoutError);
    expect(() => new OrgLayout({ users: 10, membersPerOrg: 1, orgsPerUser: 1, prefix: 'no spaces' })).toThrow(OrgLayoutError);
  });
});
