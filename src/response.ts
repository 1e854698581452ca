// The canned response, prebuilt once in every variant the ring may send
// (HTTP/1.0 or 1.1, close or keep-alive, GET or HEAD). Content-length is
// always computed; headers the server owns cannot be overridden.
import { RingsideError, type ResponseKind } from "./native.ts";

export interface ResponseSpec {
  status: number;
  reason: string;
  contentType: string;
  headers: string[];
  body: Uint8Array;
  bodyExplicit: boolean;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const OWNED = new Set(["content-length", "connection", "transfer-encoding", "content-type", "keep-alive"]);

const usageError = (message: string): RingsideError => new RingsideError("usage", message);

export function validateHeader(line: string): string {
  const colon = line.indexOf(":");
  const name = colon > 0 ? line.slice(0, colon) : "";
  const value = line.slice(colon + 1).trim();
  if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) {
    throw usageError(`--header '${line}' is not 'Name: value' (a token name, no control characters)`);
  }
  if (OWNED.has(name.toLowerCase())) {
    const fix = name.toLowerCase() === "content-type" ? "use --content-type" : "the server sets it";
    throw usageError(`--header ${name} cannot be set: ${fix}`);
  }
  return `${name}: ${value}\r\n`;
}

/** 204 and 304 carry no body and no Content-length (RFC 9110 8.6). */
const bodyless = (status: number): boolean => status === 204 || status === 304;

export function buildResponses(spec: ResponseSpec): Record<ResponseKind, Uint8Array> {
  if (!FIELD_VALUE.test(spec.contentType) || !spec.contentType.includes("/")) {
    throw usageError(`--content-type '${spec.contentType}' is not a media type like text/plain`);
  }
  if (bodyless(spec.status) && spec.bodyExplicit && spec.body.length) {
    throw usageError(`--status ${spec.status} responses carry no body: drop --body/--body-file`);
  }
  const body = bodyless(spec.status) ? new Uint8Array(0) : spec.body;
  const extra = spec.headers.map(validateHeader).join("");
  const length = bodyless(spec.status) ? "" : `Content-length: ${body.length}\r\n`;
  const enc = new TextEncoder();
  const head = (version: string, connection: string): Uint8Array =>
    enc.encode(
      `HTTP/${version} ${spec.status} ${spec.reason}\r\nContent-type: ${spec.contentType}\r\n${length}${extra}${connection}\r\n`,
    );
  const full = (h: Uint8Array): Uint8Array => {
    const out = new Uint8Array(h.length + body.length);
    out.set(h);
    out.set(body, h.length);
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
