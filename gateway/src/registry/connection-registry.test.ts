import { describe, expect, it } from 'vitest';
import { ConnectionRegistry, DuplicateConnectionError } from './connection-registry.js';

interface Conn {
  readonly id: string;
}
const conn = (id: string): Conn => ({ id });

function setup() {
  const registry = new ConnectionRegistry<Conn>();
  const a1 = conn('a1');
  const a2 = conn('a2');
  const b1 = conn('b1');
  registry.add(a1, 'alice', ['org-1', 'org-2']);
  registry.add(a2, 'alice', ['org-1']);
  registry.add(b1, 'bob', ['org-2', 'org-3']);
  return { registry, a1, a2, b1 };
}

describe('ConnectionRegistry', () => {
  it('indexes connections by user and by organization', () => {
    const { registry, a1, a2, b1 } = setup();
    expect(registry.size).toBe(3);
    expect(registry.userCount).toBe(2);
    expect(registry.organizationCount).toBe(3);
    expect(registry.connectionsOfUser('alice')).toEqual([a1, a2]);
    expect(registry.countForUser('alice')).toBe(2);
    expect(registry.countForUser('nobody')).toBe(0);
    expect(registry.connectionsOfUser('nobody')).toEqual([]);
    expect(registry.connectionsOfOrganization('org-2')).toEqual([a1, b1]);
    expect(registry.countForOrganization('org-1')).toBe(2);
    expect(registry.organizationsOf(a1)).toEqual(['org-1', 'org-2']);
    expect(registry.userOf(b1)).toBe('bob');
    expect(registry.receives(b1, 'org-3')).toBe(true);
    expect(registry.receives(b1, 'org-1')).toBe(false);
    expect([...registry.all()]).toEqual([a1, a2, b1]);
    expect([...registry.organizations()].sort()).toEqual(['org-1', 'org-2', 'org-3']);
  });

  it('removes a connection from every index and drops empty entries', () => {
    const { registry, a1, a2, b1 } = setup();
    expect(registry.remove(b1)).toBe(true);
    expect(registry.remove(b1)).toBe(false);
    expect(registry.userCount).toBe(1);
    expect(registry.organizationCount).toBe(2);
    expect(registry.connectionsOfOrganization('org-3')).toEqual([]);
    expect(registry.has(b1)).toBe(false);
    expect(registry.userOf(b1)).toBeUndefined();
    expect(registry.organizationsOf(b1)).toEqual([]);
    registry.remove(a1);
    registry.remove(a2);
    expect(registry.size).toBe(0);
    expect(registry.userCount).toBe(0);
    expect(registry.organizationCount).toBe(0);
  });

  it('grants and revokes organizations on one connection, reporting whether anything changed', () => {
    const { registry, a1, a2 } = setup();
    expect(registry.revoke(a1, 'org-1')).toBe(true);
    expect(registry.revoke(a1, 'org-1')).toBe(false);
    expect(registry.connectionsOfOrganization('org-1')).toEqual([a2]);
    expect(registry.grant(a1, 'org-9')).toBe(true);
    expect(registry.grant(a1, 'org-9')).toBe(false);
    expect(registry.connectionsOfOrganization('org-9')).toEqual([a1]);
    expect(registry.organizationsOf(a1)).toEqual(['org-2', 'org-9']);
    expect(registry.revoke(a2, 'org-1')).toBe(true);
    expect(registry.countForOrganization('org-1')).toBe(0);
    expect([...registry.organizations()]).not.toContain('org-1');
  });

  it('ignores grants and revocations for unknown connections', () => {
    const { registry } = setup();
    const stranger = conn('x');
    expect(registry.grant(stranger, 'org-1')).toBe(false);
    expect(registry.revoke(stranger, 'org-1')).toBe(false);
    expect(registry.countForOrganization('org-1')).toBe(2);
    expect(registry.has(stranger)).toBe(false);
  });

  it('applies a change to every connection of a user while the snapshot is walked', () => {
    const { registry, a1, a2, b1 } = setup();
    const changed = registry.connectionsOfUser('alice').filter((c) => registry.revoke(c, 'org-1'));
    expect(changed).toEqual([a1, a2]);
    expect(registry.connectionsOfOrganization('org-1')).toEqual([]);
    expect(registry.connectionsOfOrganization('org-2')).toEqual([a1, b1]);
  });

  it('lets a user\'s connections be closed while walking them', () => {
    const { registry } = setup();
    for (const c of registry.connectionsOfUser('alice')) registry.remove(c);
    expect(registry.countForUser('alice')).toBe(0);
    expect(registry.size).toBe(1);
  });

  it('lets every connection be removed while iterating all() (draining)', () => {
    const { registry } = setup();
    const seen: string[] = [];
    for (const c of registry.all()) {
      seen.push(c.id);
      registry.remove(c);
    }
    expect(seen).toEqual(['a1', 'a2', 'b1']);
    expect(registry.size).toBe(0);
  });

  it('snapshots do not change when the registry does', () => {
    const { registry, a1, a2 } = setup();
    const snapshot = registry.connectionsOfUser('alice');
    registry.remove(a1);
    expect(snapshot).toEqual([a1, a2]);
  });

  it('refuses to register the same connection twice', () => {
    const { registry, a1 } = setup();
    expect(() => registry.add(a1, 'alice', [])).toThrow(DuplicateConnectionError);
    expect(registry.size).toBe(3);
  });

  it('deduplicates organizations and copes with none', () => {
    const registry = new ConnectionRegistry<Conn>();
    const c = conn('c');
    registry.add(c, 'carol', ['o', 'o', 'p']);
    expect(registry.organizationsOf(c)).toEqual(['o', 'p']);
    expect(registry.countForOrganization('o')).toBe(1);
    const d = conn('d');
    registry.add(d, 'dave', []);
    expect(registry.organizationsOf(d)).toEqual([]);
    expect(registry.countForUser('dave')).toBe(1);
  });
});
