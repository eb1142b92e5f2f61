/**
 * The one shape the three MCP backend kinds are normalised into before targets are built.
 * `field` is the spec path of the entry, so every problem a person reads names the line to fix.
 */
import type { LabelSelector, ObjectMeta } from '../../../shared/resources.js';
import type { ReasonName } from '../../../shared/status.js';
import type { FailureMode, McpBackend, PrefixMode, SessionRouting } from '../../../shared/table.js';

export type McpProtocolField = 'StreamableHTTP' | 'SSE' | 'Undefined';

export type TargetSpec =
  | {
      readonly type: 'static';
      readonly field: string;
      readonly name: string;
      readonly host: string;
      readonly port: number;
      readonly path?: string;
      readonly protocol?: McpProtocolField;
    }
  | {
      /** agentgateway `static.backendRef`: a Service in the backend's namespace. */
      readonly type: 'serviceRef';
      readonly field: string;
      readonly name: string;
      readonly service: string;
      readonly namespace?: string;
      readonly port: number;
      readonly path?: string;
      readonly protocol?: McpProtocolField;
    }
  | {
      readonly type: 'selector';
      readonly field: string;
      /** Field names as the user wrote them, e.g. `serviceSelector` / `namespaceSelector`. */
      readonly servicesField: string;
      readonly namespacesField: string;
      readonly services?: LabelSelector;
      readonly namespaces?: LabelSelector;
    };

export interface BackendSpec {
  readonly group: string;
  readonly kind: 'Backend' | 'AgentgatewayBackend';
  readonly metadata: ObjectMeta;
  readonly prefixMode: PrefixMode;
  readonly failureMode: FailureMode;
  readonly sessionRouting: SessionRouting;
  readonly targets: readonly TargetSpec[];
  /** A shape problem found while normalising (the backend is then not accepted). */
  readonly problem?: string;
}

export function backendId(group: string, kind: string, namespace: string, name: string): string {
  return `${group}/${kind}/${namespace}/${name}`;
}

/** The outcome of resolving a backendRef to an MCP backend. */
export type BackendResolution =
  | {
      readonly ok: true;
      readonly backend: McpBackend;
      /** Set when the backend exists but is not accepted: routes answer 500 with this. */
      readonly failure?: string;
    }
  | { readonly ok: false; readonly reason: ReasonName; readonly message: string };
