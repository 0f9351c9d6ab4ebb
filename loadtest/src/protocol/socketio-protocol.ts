import { maskedText } from '../ws/frame-codec.js';
import { scanLoadEvent, type ScannedEvent } from './payload-scan.js';
import { TextKind, type ConnectTarget, type WireProtocol } from './wire-protocol.js';

const PONG = maskedText('3');
const C0 = 0x30; // '0'
const C2 = 0x32; // '2'
const C4 = 0x34; // '4'

/**
 * Socket.IO v5 over Engine.IO v4, WebSocket transport only, spoken directly: the server opens with
 * `0{sid,…}`, the client connects to the main namespace with `40{"token":…}` (the `auth` payload),
 * the server answers `40{sid}` or `44{message}`; events are `42["name",payload]`; the server pings
 * with `2` and expects `3`.
 */
export function socketIoProtocol(): WireProtocol {
  return {
    name: 'socketio',
    upgradePath: () => '/socket.io/?EIO=4&transport=websocket',
    authorization: () => undefined,
    classify(buf: Buffer, start: number, end: number, out: ScannedEvent): TextKind {
      const length = end - start;
      const c0 = buf[start];
      if (c0 === C4) {
        const c1 = buf[start + 1];
        if (c1 === C2) return scanLoadEvent(buf, start, end, out) ? TextKind.Event : TextKind.Other;
        if (c1 === C0) return TextKind.Established;
        if (c1 === C4) return TextKind.Refused;
        return TextKind.Other;
      }
      if (c0 === C0) return TextKind.Reply; // Engine.IO open: send the Socket.IO connect packet
      if (c0 === C2 && length === 1) return TextKind.Reply; // Engine.IO ping
      return TextKind.Other;
    },
    reply(buf: Buffer, start: number, _end: number, target: ConnectTarget): Buffer | undefined {
      if (buf[start] === C0) return maskedText(`40${JSON.stringify({ token: target.token })}`);
      if (buf[start] === C2) return PONG;
      return undefined;
    },
    heartbeat: undefined,
  };
}
