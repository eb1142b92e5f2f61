export { KeyRing } from './key-ring.js';
export { SUPPORTED_VERSIONS } from './protocol-version.js';
export { type McpRoute, McpService, type McpServiceOptions } from './service.js';
