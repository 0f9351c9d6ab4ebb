/**
 * An event's `data` as the JSON text sent to clients; undefined when it cannot be serialised (it
 * parsed, but nests deeper than JSON.stringify's recursion allows). Such an event is refused where
 * it enters (dead-lettered from the broker, 400 at the development endpoint), never retried.
 */
export function serialisedData(data: unknown): string | undefined {
  try {
    return JSON.stringify(data ?? null);
  } catch (error) {
    if (error instanceof RangeError) return undefined;
    throw error;
  }
}
