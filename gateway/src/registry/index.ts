export { ConnectionRegistry, DuplicateConnectionError } from './connection-registry.js';
