import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../stores/store-unavailable-error.js';
import { storeErrorOf } from './store-error.js';

function reply(message: string): Error {
  const error = new Error(message);
  error.name = 'ReplyError';
  return error;
}

describe('storeErrorOf', () => {
  it.each([
    ['a command timeout', new Error('Command timed out')],
    ['a closed connection', new Error('Connection is closed.')],
    ['exhausted retries', Object.assign(new Error('Reached the max retries per request limit (which is 1).'), { name: 'MaxRetriesPerRequestError' })],
    ['out of memory', reply("OOM command not allowed when used memory > 'maxmemory'.")],
    ['a replica', reply("READONLY You can't write against a read only replica.")],
    ['loading', reply('LOADING Redis is loading the dataset in memory')],
    ['a busy script', reply('BUSY Redis is busy running a script.')],
  ])('reports %s as the store being unavailable, with the cause', (_name, error) => {
    const mapped = storeErrorOf(error);
    expect(mapped).toBeInstanceOf(StoreUnavailableError);
    expect((mapped as StoreUnavailableError).cause).toBe(error);
  });

  it.each([
    ['a script error', reply('ERR user_script:3: attempt to compare nil with number')],
    ['a wrong type', reply('WRONGTYPE Operation against a key holding the wrong kind of value')],
  ])('leaves %s as it is (a bug, not an outage)', (_name, error) => {
    expect(storeErrorOf(error)).toBe(error);
  });

  it('leaves what is not an Error as it is', () => {
    expect(storeErrorOf('text')).toBe('text');
  });
});
