/**
 * Consumer lag from offsets alone: what the broker holds (each partition's end and start) and
 * what a group has committed. Pure, so the arithmetic is tested without a broker.
 */

/** One partition of a topic as `admin.fetchTopicOffsets` answers it (int64 as decimal strings). */
export interface PartitionWatermarks {
  partition: number;
  /** The offset the next record will get (log end offset). */
  high: string;
  /** The first offset still retained. */
  low: string;
}

/** A group's committed offsets on one topic, as `admin.fetchOffsets` answers them. */
export interface GroupTopicCommits {
  groupId: string;
  topic: string;
  /** `offset` is the next record the group will read, or `-1` where it never committed. */
  partitions: ReadonlyArray<{ partition: number; offset: string }>;
}

/** Records a group has yet to process on one partition. */
export interface PartitionLag {
  group: string;
  topic: string;
  partition: number;
  lag: number;
}

/**
 * The lag of each group on each partition of the topics it consumes: end offset minus committed
 * offset. A group that committed nothing on a topic does not consume it and is left out. On a
 * partition where a consuming group has not committed yet, everything retained counts (end minus
 * start): Koban's consumers start from the earliest record (`fromBeginning`), so that is what
 * they will read. Never negative (a commit read just before the end offset moved on cannot
 * make it so, but a truncated partition could).
 */
export function consumerLag(
  watermarks: ReadonlyMap<string, readonly PartitionWatermarks[]>,
  commits: readonly GroupTopicCommits[],
): PartitionLag[] {
  const lags: PartitionLag[] = [];
  for (const { groupId, topic, partitions } of commits) {
    const ends = watermarks.get(topic);
    if (ends === undefined) continue;
    // BigInt: offsets are int64, and the difference of two large ones must be exact.
    const committed = new Map(partitions.map((p) => [p.partition, BigInt(p.offset)]));
    if (![...committed.values()].some((offset) => offset >= 0n)) continue;
    for (const { partition, high, low } of ends) {
      const offset = committed.get(partition) ?? -1n;
      const behind = BigInt(high) - (offset >= 0n ? offset : BigInt(low));
      lags.push({ group: groupId, topic, partition, lag: behind > 0n ? Number(behind) : 0 });
    }
  }
  return lags.sort(
    (a, b) => a.group.localeCompare(b.group) || a.topic.localeCompare(b.topic) || a.partition - b.partition,
  );
}
