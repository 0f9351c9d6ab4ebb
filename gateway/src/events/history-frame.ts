import type { HistoryEntry } from '../history/history-store.js';
import { taskFrameJson } from '../protocol/task-frame.js';
import type { RoutedFrame } from './routed-frame.js';

/** The frame of a history entry, exactly as the sequencer built it when the entry was appended. */
export function frameOfEntry(organizationId: string, entry: HistoryEntry): RoutedFrame {
  return {
    organizationId,
    id: entry.id,
    prev: entry.prev,
    frame: taskFrameJson(entry.eventType, entry.id, entry.prev, organizationId, entry.dataJson, entry.timestampMs),
    publishedAtMs: entry.timestampMs,
  };
}
