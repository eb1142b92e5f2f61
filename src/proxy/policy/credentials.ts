/** Reading a credential from where a policy says it is (header with prefix, cookie, query). */
import type { CredentialLocation } from '../../shared/table.js';
import type { HttpRequest } from '../mcp/wire/incoming.js';

/** Longer than any token we accept: the verifier refuses it as malformed. */
const MAX_CREDENTIAL = 16 * 1024 + 1;

function cookieValue(header: string | null, name: string): string | undefined {
  if (header === null) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The credential, or undefined when the request carries none at that location. */
export function readCredential(
  request: HttpRequest,
  query: URLSearchParams,
  location: CredentialLocation,
): string | undefined {
  let value: string | undefined;
  if ('header' in location) {
    const header = request.headers.get(location.header);
    if (header === null) return undefined;
    const { prefix } = location;
    if (prefix !== '') {
      if (
        header.length < prefix.length ||
        header.slice(0, prefix.length).toLowerCase() !== prefix.toLowerCase()
      )
        return undefined;
      value = header.slice(prefix.length).trim();
    } else {
      value = header.trim();
    }
  } else if ('cookie' in location) {
    value = cookieValue(request.headers.get('cookie'), location.cookie);
  } else {
    value = query.get(location.query) ?? undefined;
  }
  if (value === undefined || value === '') return undefined;
  return value.length > MAX_CREDENTIAL ? value.slice(0, MAX_CREDENTIAL) : value;
}
