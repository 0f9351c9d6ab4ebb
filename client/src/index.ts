export { createClient, type ClientEvents, type OrgcastClient } from './client.js';
export type { ClientOptions } from './client-options.js';
export type { ClientStatus, ClientStatusType, Transport } from './status.js';
export type { ResyncNotice } from './connection/resync.js';
export type { OrganizationAccessFrame, OrganizationEvent, TaskEvent, TaskEventType } from './protocol/frames.js';
export type { FetchLike, ResponseLike, WebSocketFactory, WebSocketLike } from './transport/websocket-like.js';
export { CloseCode, closeAdvice, type CloseAdvice } from './protocol/close-codes.js';
export { decodeResume, encodeResume } from './resume/resume-param.js';
export { compareEventIds } from './resume/event-id.js';
export {
  ClientOptionsError,
  ConnectError,
  ConnectionClosedError,
  HeartbeatTimeoutError,
  OrgcastClientError,
  PollError,
  ProtocolError,
  ServerError,
  TokenError,
} from './errors.js';
