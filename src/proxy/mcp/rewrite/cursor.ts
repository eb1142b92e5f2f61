/**
 * Gateway pagination cursors for merged lists. One merged page asks every still-unfinished target
 * for its next page; the cursor carries the (target, upstream cursor) pairs still to fetch, so every
 * page of every target stays reachable. Client-visible but not secret: upstream cursors are opaque.
 */
import { z } from 'zod';

const CursorSchema = z.object({ p: z.array(z.tuple([z.string().min(1), z.string()])).min(1) });

export type PendingPages = ReadonlyArray<readonly [target: string, cursor: string]>;

export function encodeCursor(pending: PendingPages): string | undefined {
  if (pending.length === 0) return undefined;
  return Buffer.from(JSON.stringify({ p: pending }), 'utf8').toString('base64url');
}

/** Undefined when the cursor is not one this gateway issued. */
export function decodeCursor(cursor: string): PendingPages | undefined {
  try {
    const parsed = CursorSchema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return parsed.success ? parsed.data.p : undefined;
  } catch {
    return undefined;
  }
}
