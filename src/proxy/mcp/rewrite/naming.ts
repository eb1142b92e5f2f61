/**
 * How multiplexed names look (docs/design.md section 4): tools and prompts `<target>_<name>`, resource
 * URIs and templates `<target>+<uri>`. Target names never contain `_` or `+` (Kubernetes names),
 * so the first delimiter always ends the target name and upstream names may contain either.
 */
import type { PrefixMode } from '../../../shared/table.js';

export const NAME_DELIMITER = '_';
export const URI_DELIMITER = '+';

export function shouldPrefix(mode: PrefixMode, targetCount: number): boolean {
  return mode === 'Always' || (mode === 'Conditional' && targetCount > 1);
}

/** One target, not forced to prefix: names, results and capabilities pass through untouched. */
export function isTransparent(mode: PrefixMode, targetCount: number): boolean {
  return targetCount === 1 && mode !== 'Always';
}

export function prefixName(target: string, name: string): string {
  return target + NAME_DELIMITER + name;
}

export function prefixUri(target: string, uri: string): string {
  return target + URI_DELIMITER + uri;
}

export interface Split {
  readonly target: string;
  readonly name: string;
}

function split(value: string, delimiter: string): Split | undefined {
  const at = value.indexOf(delimiter);
  if (at <= 0 || at === value.length - 1) return undefined;
  return { target: value.slice(0, at), name: value.slice(at + 1) };
}

export const splitName = (name: string) => split(name, NAME_DELIMITER);
export const splitUri = (uri: string) => split(uri, URI_DELIMITER);
