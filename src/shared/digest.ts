/** SHA-256 as hex: pure, so translate() may use it (API keys are kept only as digests). */
import { createHash } from 'node:crypto';

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** One upstream credential as a map key part: a digest, so the secret itself is never a key ('' for none). */
export function credentialKey(
  credential: { readonly header: string; readonly value: string } | undefined,
): string {
  return credential ? sha256Hex(`${credential.header}\n${credential.value}`) : '';
}
