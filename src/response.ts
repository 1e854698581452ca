// The canned response: its specification (what the flags asked for) and its
// bytes, prebuilt once in every variant the ring may send (HTTP/1.0 or 1.1,
// close or keep-alive, GET or HEAD). Content-length is always computed;
// headers the server owns cannot be overridden.
import { usageError } from "./errors.ts";

export const DEFAULT_BODY = "Have a nice day!\n";

/** What a client gets, as the flags describe it; the Bun.serve fallback serves this too. */
export interface ResponseSpec {
  status: number;
  reason: string;
  contentType: string;
  /** Extra header lines, validated: "Name: value". */
  headers: string[];
  /** Empty for 204 and 304. */
  body: Uint8Array;
}

/** The variants, named as enum response_kind of native/ringside.h. */
export const RESPONSE_KINDS = ["close10", "keep10", "close11", "keep11", "headClose10", "headKeep10", "headClose11", "headKeep11"] as const;
export type ResponseKind = (typeof RESPONSE_KINDS)[number];

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const OWNED = new Set(["content-length", "connection", "transfer-encoding", "content-type", "keep-alive"]);

/** An extra header line checked; `what` names its source in the message
 * ("--header", or a route's "--route '/x header=...': header"). */
export function validateHeader(line: string, what = "--header"): string {
  const colon = line.indexOf(":");
  const name = colon > 0 ? line.slice(0, colon) : "";
  const value = line.slice(colon + 1).trim();
  if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) {
    throw usageError(`${what} '${line}' is not 'Name: value' (a token name, no control characters)`);
  }
  if (OWNED.has(name.toLowerCase())) {
    const fix = name.toLowerCase() === "content-type" ? `use ${what === "--header" ? "--content-type" : "type="}` : "the server sets it";
    throw usageError(`${what} ${name} cannot be set: ${fix}`);
  }
  return `${name}: ${value}`;
}

/** 204 and 304 carry no body and no Content-length (RFC 9110 8.6). */
export const bodyless = (status: number): boolean => status === 204 || status === 304;

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

export function buildResponses(spec: ResponseSpec): Record<ResponseKind, Uint8Array> {
  const extra = spec.headers.map((h) => `${h}\r\n`).join("");
  const length = bodyless(spec.status) ? "" : `Content-length: ${spec.body.length}\r\n`;
  const enc = new TextEncoder();
  const head = (version: string, connection: string): Uint8Array =>
    enc.encode(`HTTP/${version} ${spec.status} ${spec.reason}\r\nContent-type: ${spec.contentType}\r\n${length}${extra}${connection}\r\n`);
  const full = (h: Uint8Array): Uint8Array => {
    const out = new Uint8Array(h.length + spec.body.length);
    out.set(h);
    out.set(spec.body, h.length);
    return out;
  };
  const heads = {
    close10: head("1.0", ""),
    keep10: head("1.0", "Connection: keep-alive\r\n"),
    close11: head("1.1", "Connection: close\r\n"),
    keep11: head("1.1", ""),
  };
  return {
    close10: full(heads.close10),
    keep10: full(heads.keep10),
    close11: full(heads.close11),
    keep11: full(heads.keep11),
    headClose10: heads.close10,
    headKeep10: heads.keep10,
    headClose11: heads.close11,
    headKeep11: heads.keep11,
  };
}
