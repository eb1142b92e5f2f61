/** MCP protocol revisions the gateway speaks downstream (streamable HTTP, session era). */
export const SUPPORTED_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'] as const;
const SUPPORTED: ReadonlySet<string> = new Set(SUPPORTED_VERSIONS);

export const GATEWAY_NAME = 'mcplane';
export const GATEWAY_VERSION = '0.1.0';

export function isSupportedVersion(version: string): boolean {
  return SUPPORTED.has(version);
}

/** What the gateway answers a client's initialize with: its version when supported, else our latest. */
export function negotiateVersion(requested: string): string {
  return isSupportedVersion(requested) ? requested : SUPPORTED_VERSIONS[0];
}

/** 2025-06-18 removed JSON-RPC batching. */
export function allowsBatches(version: string | undefined): boolean {
  return version === '2025-03-26';
}
