/**
 * The one way to key a map by object. Names never contain `/`, so a key never stands for two objects.
 * Messages and status text name objects their own way; these are for map and set keys only.
 */

/** `namespace/name`, or `name` for a cluster-scoped object: the ResourceStore's key within a kind. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** `Kind/namespace/name` or `Kind/name`: a key among objects of several kinds. */
export function kindKey(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${objectKey(namespace, name)}`;
}
