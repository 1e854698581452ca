// The default response and each route's, as the flags describe them, and the
// checks their parts pass: header lines, the media type, which statuses
// carry no body. Content-length is always computed and headers the server
// owns cannot be set (serve/responses.ts makes the bytes).
import { usageError } from "../lib/errors.ts";

/** What a client gets; the Bun.serve fallback serves this too. */
export interface ResponseSpec {
  status: number;
  reason: string;
  contentType: string;
  /** Extra header lines, validated: "Name: value". */
  headers: string[];
  /** Empty for 204, 205 and 304. */
  body: Uint8Array;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const OWNED = new Set(["content-length", "connection", "transfer-encoding", "content-type", "keep-alive"]);

/** An extra header line checked. `what` names its source in the message
 * ("--header", "RINGSIDE_HEADERS line 2", or a route's "--route '/x
 * header=...': header"); `typeFix`, what sets a Content-type there instead. */
export function validateHeader(line: string, what: string, typeFix = "--content-type"): string {
  const colon = line.indexOf(":");
  const name = colon > 0 ? line.slice(0, colon) : "";
  const value = line.slice(colon + 1).trim();
  if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) {
    throw usageError(`${what} '${line}' is not 'Name: value' (a token name, no control characters)`);
  }
  if (OWNED.has(name.toLowerCase())) {
    const fix = name.toLowerCase() === "content-type" ? `use ${typeFix}` : "the server sets it";
    throw usageError(`${what} ${name} cannot be set: ${fix}`);
  }
  return `${name}: ${value}`;
}

/** 204, 205 and 304 carry no content (RFC 9110 15.3.5, 15.3.6, 15.4.5). */
export const bodyless = (status: number): boolean => status === 204 || status === 205 || status === 304;

/** Whether the head says Content-length: not for 204 (RFC 9110 8.6) or 304
 * (its length would be the unsent representation's); 205 says 0, as nginx
 * does, so that a keep-alive client knows where the next response starts. */
export const sendsLength = (status: number): boolean => status !== 204 && status !== 304;

export function validateContentType(type: string, what = "--content-type"): string {
  if (!FIELD_VALUE.test(type) || !type.includes("/")) throw usageError(`${what} '${type}' is not a media type like text/plain`);
  return type;
}

/** Two extra headers of the same name would make the response ambiguous. */
export function checkDistinctHeaders(headers: string[], what: string): void {
  const seen = new Set<string>();
  for (const h of headers) {
    const name = h.slice(0, h.indexOf(":")).toLowerCase();
    if (seen.has(name)) throw usageError(`${what}: header ${h.slice(0, h.indexOf(":"))} is given twice (--header applies to every response): give it once`);
    seen.add(name);
  }
}
