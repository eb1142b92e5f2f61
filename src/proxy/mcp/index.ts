export { type McpRoute, McpService, type McpServiceOptions } from './service.js';
export { KeyRing } from './session/key-ring.js';
export { type RevocationChange, Revocations, type RevokedEntry } from './session/revocations.js';
export { SUPPORTED_VERSIONS } from './wire/protocol-version.js';
