import { describe, expect, it } from 'vitest';
import { OrgLayout } from '../layout/org-layout.js';
import { DeliveryTracker } from './delivery-tracker.js';

describe('DeliveryTracker', () => {
  const layout = new OrgLayout({ users: 20, membersPerOrg: 10, orgsPerUser: 2, prefix: 'p' });

  it('counts unique deliveries, duplicates, foreign events and losses', () => {
    const users = [0, 1];
    const tracker = new DeliveryTracker(layout, users);
    const [a0, a1] = layout.orgsOf(0);
    const foreignOrg = [0, 1, 2, 3].find((o) => o !== a0 && o !== a1)!;
    tracker.record(0, a0!, 1);
    tracker.record(0, a0!, 2);
    tracker.record(0, a0!, 2); // duplicate
    tracker.record(0, a1!, 1);
    expect(tracker.record(0, foreignOrg, 1)).toBe(-1);
    const finalSeqs = new Array<number>(layout.organizationCount).fill(3);
    const totals = tracker.totals(finalSeqs, (conn) => conn === 0);
    expect(totals).toEqual({ expected: 6, unique: 3, duplicates: 1, foreign: 1, lost: 3 });
  });

  it('expects nothing from connections that were not counted', () => {
    const tracker = new DeliveryTracker(layout, [5]);
    expect(tracker.totals(new Array<number>(layout.organizationCount).fill(10), () => false).expected).toBe(0);
  });
});
