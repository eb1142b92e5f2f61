/**
 * How deeply a client's JSON nests, checked on the raw text before anything parses it. JSON.parse
 * copes with any depth, but re-serialising a message (a batch item, a multiplexed call's params)
 * recurses once per level and overflows the stack near a few thousand: a 31 KB body answered 500.
 * One pass over the characters, stopping at the first level past the bound.
 */

/** Deeper than any MCP message needs (tool arguments included), far below where recursion fails. */
export const MAX_JSON_DEPTH = 128;

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/** Whether `text` opens more than `max` objects and arrays inside one another (strings skipped). */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > max) return true;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) depth--;
  }
  return false;
}
