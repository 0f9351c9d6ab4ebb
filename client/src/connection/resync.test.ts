import { describe, expect, it } from 'vitest';
import { resyncNotices } from './resync.js';

describe('resyncNotices', () => {
  it('asks for nothing on the first connection', () => {
    expect(resyncNotices({ previous: undefined, organizations: ['acme'], recovered: undefined })).toEqual([]);
  });

  it('reports organizations the history could not recover', () => {
    expect(resyncNotices({ previous: new Set(['acme', 'globex']), organizations: ['acme', 'globex'], recovered: { acme: true, globex: false } }))
      .toEqual([{ organizationId: 'globex', reason: 'history_truncated' }]);
  });

  it('reports organizations followed before whose resumption was not confirmed', () => {
    expect(resyncNotices({ previous: new Set(['acme', 'globex']), organizations: ['acme', 'globex', 'initech'], recovered: { acme: true } }))
      .toEqual([{ organizationId: 'globex', reason: 'not_resumable' }]);
    // A gateway without resume support sends no map at all.
    expect(resyncNotices({ previous: new Set(['acme']), organizations: ['acme'], recovered: undefined }))
      .toEqual([{ organizationId: 'acme', reason: 'not_resumable' }]);
  });

  it('ignores organizations no longer granted', () => {
    expect(resyncNotices({ previous: new Set(['acme', 'gone']), organizations: ['acme'], recovered: { acme: true, gone: false } })).toEqual([]);
  });
});
