/**
 * Checks a manifest against the Kubernetes API types that @kubernetes/client-node generates from the
 * OpenAPI spec: every field must exist (as kubectl's strict field validation requires) and have the
 * right JSON type. Required fields are checked by the tests that care.
 */
import * as k8s from '@kubernetes/client-node';

interface Attribute {
  baseName: string;
  type: string;
  format: string;
}

const MODELS: Record<string, string> = {
  'v1/ServiceAccount': 'V1ServiceAccount',
  'v1/Secret': 'V1Secret',
  'v1/Service': 'V1Service',
  'v1/ConfigMap': 'V1ConfigMap',
  'apps/v1/Deployment': 'V1Deployment',
  'rbac.authorization.k8s.io/v1/ClusterRole': 'V1ClusterRole',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': 'V1ClusterRoleBinding',
  'rbac.authorization.k8s.io/v1/Role': 'V1Role',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'V1RoleBinding',
  'policy/v1/PodDisruptionBudget': 'V1PodDisruptionBudget',
  'autoscaling/v2/HorizontalPodAutoscaler': 'V2HorizontalPodAutoscaler',
  'apiextensions.k8s.io/v1/CustomResourceDefinition': 'V1CustomResourceDefinition',
};

export function hasModel(apiVersion: string, kind: string): boolean {
  return `${apiVersion}/${kind}` in MODELS;
}

/** Every problem found, as `path: message`; empty when the object fits its API type. */
export function checkShape(obj: { apiVersion: string; kind: string }): string[] {
  const model = MODELS[`${obj.apiVersion}/${obj.kind}`];
  if (!model) return [`no API type known for ${obj.apiVersion} ${obj.kind}`];
  const errors: string[] = [];
  const { source: _source, ...rest } = obj as Record<string, unknown>;
  walk(rest, model, obj.kind, errors);
  return errors;
}

function attributes(model: string): Attribute[] | undefined {
  const cls = (k8s as unknown as Record<string, { attributeTypeMap?: Attribute[] }>)[model];
  return cls?.attributeTypeMap;
}

function walk(value: unknown, type: string, path: string, errors: string[]): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) errors.push(`${path}: expected a list`);
    else {
      for (const [i, item] of value.entries()) walk(item, array[1]!, `${path}[${i}]`, errors);
    }
    return;
  }
  if (map) {
    if (!isObject(value)) errors.push(`${path}: expected a map`);
    else for (const [k, v] of Object.entries(value)) walk(v, map[1]!, `${path}.${k}`, errors);
    return;
  }
  switch (type) {
    case 'string':
    case 'Date':
      if (typeof value !== 'string') errors.push(`${path}: expected a string, got ${JSON.stringify(value)}`);
      return;
    case 'number':
      if (typeof value !== 'number') errors.push(`${path}: expected a number, got ${JSON.stringify(value)}`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean')
        errors.push(`${path}: expected a boolean, got ${JSON.stringify(value)}`);
      return;
    case 'IntOrString':
      if (!Number.isInteger(value) && typeof value !== 'string')
        errors.push(`${path}: expected int or string`);
      return;
    case 'any':
    case 'object':
      return;
  }
  const attrs = attributes(type);
  if (!attrs) {
    errors.push(`${path}: unknown API type ${type}`);
    return;
  }
  if (!isObject(value)) {
    errors.push(`${path}: expected an object (${type})`);
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    const attr = attrs.find((a) => a.baseName === key);
    if (!attr) errors.push(`${path}.${key}: unknown field in ${type}`);
    else if (attr.format.startsWith('int') && typeof v === 'number' && !Number.isInteger(v)) {
      errors.push(`${path}.${key}: expected an integer`);
    } else walk(v, attr.type, `${path}.${key}`, errors);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
