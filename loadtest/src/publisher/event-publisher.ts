/** What to publish: round-robin over `orgs`, numbered 1, 2, 3… per organization. Serialisable (IPC). */
export interface PublishPlan {
  /** Global organization indexes to publish to, in round-robin order. */
  readonly orgs: readonly number[];
  /** Size of the final sequence array (the layout's organization count). */
  readonly orgCount: number;
  /** Organization ids are `${orgPrefix}-${index}`. */
  readonly orgPrefix: string;
  /** Events per second; 0 = as fast as possible. */
  readonly ratePerSecond: number;
  readonly durationMs: number;
  readonly maxEvents: number;
  /** Length of the `pad` string in `data`, to give events a realistic size. */
  readonly padBytes: number;
}

export interface PublishOutcome {
  readonly sent: number;
  readonly elapsedMs: number;
  /** Last sequence published per organization index (0 = none). */
  readonly finalSeqs: number[];
}

/** Puts load events where the server under test picks them up (RabbitMQ, or the ceiling's own loop). */
export interface EventPublisher {
  publish(plan: PublishPlan, signal?: AbortSignal): Promise<PublishOutcome>;
  close(): Promise<void>;
}
