/**
 * What replicas send each other about deleted sessions: the revoked session ids with their issue
 * times (seconds), and the "not issued before" floor. A pull's answer also carries the sender's
 * clock, which the puller hands back as `since` next time to get only what is new.
 */
import { z } from 'zod';

export const PEER_PATH = '/peer/revocations';
/** Entries in one push: a backlog goes in several. */
export const MAX_PUSH_ENTRIES = 10_000;
/** Largest push body a replica reads (10,000 entries take about 300 KB). */
export const MAX_PUSH_BYTES = 1024 * 1024;

const entry = z.tuple([z.string().regex(/^[A-Za-z0-9_-]{16}$/), z.number().int().min(0)]);

export const pushSchema = z.object({
  floor: z.number().int().min(0),
  revoked: z.array(entry).max(MAX_PUSH_ENTRIES),
});
export type PushMessage = z.infer<typeof pushSchema>;

export const pullSchema = z.object({
  floor: z.number().int().min(0),
  revoked: z.array(entry),
  /** The sender's clock when it answered (ms). */
  now: z.number().int().min(0),
});
export type PullMessage = z.infer<typeof pullSchema>;
