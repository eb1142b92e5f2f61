/**
 * A validator for CRD structural schemas (openAPIV3Schema), enough to check examples against the CRDs we
 * ship: type, nullable, properties, required, additionalProperties, enum, items, minItems/maxItems,
 * minLength/maxLength, pattern, minimum/maximum, x-kubernetes-int-or-string and
 * x-kubernetes-preserve-unknown-fields. Unknown fields are errors, as under kubectl's default strict
 * field validation. CEL rules (x-kubernetes-validations) are not evaluated.
 */
export interface JSONSchemaProps {
  type?: string;
  nullable?: boolean;
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps | boolean;
  required?: string[];
  enum?: unknown[];
  items?: JSONSchemaProps;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

/** Problems as `path: message`; empty when the value is valid. */
export function validateStructural(value: unknown, schema: JSONSchemaProps, path = ''): string[] {
  const errors: string[] = [];
  check(value, schema, path || '<root>', errors, path === '');
  return errors;
}

function check(value: unknown, schema: JSONSchemaProps, path: string, errors: string[], root = false): void {
  if (value === null) {
    if (!schema.nullable) errors.push(`${path}: must not be null`);
    return;
  }
  if (schema['x-kubernetes-int-or-string']) {
    if (!Number.isInteger(value) && typeof value !== 'string') errors.push(`${path}: expected int or string`);
    return;
  }
  if (schema.type && !hasType(value, schema.type)) {
    errors.push(`${path}: expected ${schema.type}, got ${JSON.stringify(value)}`);
    return;
  }
  if (schema.enum && !schema.enum.includes(value)) {
    errors.push(
      `${path}: ${JSON.stringify(value)} is not one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`,
    );
  }
  if (typeof value === 'string') checkString(value, schema, path, errors);
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum)
      errors.push(`${path}: must be >= ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum)
      errors.push(`${path}: must be <= ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      errors.push(`${path}: needs at least ${schema.minItems} item(s)`);
    }
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      errors.push(`${path}: allows at most ${schema.maxItems} item(s)`);
    }
    const items = schema.items;
    if (items) for (const [i, item] of value.entries()) check(item, items, `${path}[${i}]`, errors);
  } else if (typeof value === 'object') {
    checkObject(value as Record<string, unknown>, schema, path, errors, root);
  }
}

function checkString(value: string, schema: JSONSchemaProps, path: string, errors: string[]): void {
  if (schema.minLength !== undefined && value.length < schema.minLength) {
    errors.push(`${path}: must be at least ${schema.minLength} character(s)`);
  }
  if (schema.maxLength !== undefined && value.length > schema.maxLength) {
    errors.push(`${path}: must be at most ${schema.maxLength} characters`);
  }
  if (schema.pattern && !new RegExp(schema.pattern).test(value)) {
    errors.push(`${path}: does not match ${schema.pattern}`);
  }
}

function checkObject(
  value: Record<string, unknown>,
  schema: JSONSchemaProps,
  path: string,
  errors: string[],
  root: boolean,
): void {
  const prefix = path === '<root>' ? '' : `${path}.`;
  for (const name of schema.required ?? []) {
    if (!(name in value)) errors.push(`${prefix}${name}: required`);
  }
  for (const [key, v] of Object.entries(value)) {
    // The API server validates metadata itself, whatever the CRD says.
    if (root && (key === 'metadata' || key === 'apiVersion' || key === 'kind')) continue;
    const sub = schema.properties?.[key];
    if (sub) check(v, sub, `${prefix}${key}`, errors);
    else if (typeof schema.additionalProperties === 'object')
      check(v, schema.additionalProperties, `${prefix}${key}`, errors);
    else if (!schema['x-kubernetes-preserve-unknown-fields'] && schema.additionalProperties !== true) {
      errors.push(`${prefix}${key}: unknown field`);
    }
  }
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'object':
      return typeof value === 'object' && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    default:
      return typeof value === type;
  }
}
