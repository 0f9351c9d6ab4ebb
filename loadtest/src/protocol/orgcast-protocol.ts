import { maskedText } from '../ws/frame-codec.js';
import { scanLoadEvent, startsWith, type ScannedEvent } from './payload-scan.js';
import { TextKind, type ConnectTarget, type WireProtocol } from './wire-protocol.js';

const ESTABLISHED = Buffer.from('{"event_type":"connection.established"');
const PING = maskedText('{"event_type":"ping"}');

export interface OrgcastProtocolOptions {
  /** Send the token as `?access_token=` (the browser way) instead of the Authorization header. */
  readonly tokenInQuery?: boolean;
  /** Path of the WebSocket endpoint; default /api/ws. */
  readonly path?: string;
}

/** orgcast's protocol (docs/protocol.md); also spoken by the bare uWS ceiling server. */
export function orgcastProtocol(options: OrgcastProtocolOptions = {}): WireProtocol {
  const path = options.path ?? '/api/ws';
  return {
    name: 'orgcast',
    upgradePath(target: ConnectTarget): string {
      const query: string[] = [];
      if (options.tokenInQuery === true) query.push(`access_token=${encodeURIComponent(target.token)}`);
      if (target.resume.length > 0) {
        query.push(`resume=${target.resume.map(([org, id]) => `${encodeURIComponent(org)}:${encodeURIComponent(id)}`).join(',')}`);
      }
      return query.length === 0 ? path : `${path}?${query.join('&')}`;
    },
    authorization: (target) => (options.tokenInQuery === true ? undefined : `Bearer ${target.token}`),
    classify(buf: Buffer, start: number, end: number, out: ScannedEvent): TextKind {
      if (scanLoadEvent(buf, start, end, out)) return TextKind.Event;
      if (startsWith(buf, start, end, ESTABLISHED)) return TextKind.Established;
      return TextKind.Other;
    },
    reply: () => undefined,
    heartbeat: PING,
  };
}
