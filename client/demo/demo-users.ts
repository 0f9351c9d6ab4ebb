/** The demo's users: pick one on the page. Tokens are minted by the demo server, never by the gateway. */
export interface DemoUser {
  readonly id: string;
  readonly name: string;
  readonly organizations: readonly string[];
}

export const DEMO_USERS: readonly DemoUser[] = [
  { id: 'alice', name: 'Alice', organizations: ['acme'] },
  { id: 'bob', name: 'Bob', organizations: ['globex'] },
  { id: 'carol', name: 'Carol', organizations: ['acme', 'globex'] },
];
