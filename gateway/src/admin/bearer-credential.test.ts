import { describe, expect, it } from 'vitest';
import { createBearerCheck } from './bearer-credential.js';

describe('bearer credential check', () => {
  const check = createBearerCheck('s3cret-s3cret-s3cret-s3cret-s3cret-0');
  it('accepts exactly the configured token as a bearer credential', () => {
    expect(check('Bearer s3cret-s3cret-s3cret-s3cret-s3cret-0')).toBe(true);
    expect(check('bearer s3cret-s3cret-s3cret-s3cret-s3cret-0')).toBe(true);
  });
  it('refuses anything else', () => {
    for (const bad of ['', 'Bearer', 'Bearer ', 'Bearer s3cret', 's3cret-s3cret-s3cret-s3cret-s3cret-0', 'Basic s3cret-s3cret-s3cret-s3cret-s3cret-0', 'Bearer s3cret-s3cret-s3cret-s3cret-s3cret-00', 'Bearer a b']) {
      expect(check(bad), bad).toBe(false);
    }
  });
});
