/** SHA-256 as hex: pure, so translate() may use it (API keys are kept only as digests). */
import { createHash } from 'node:crypto';

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
