// A response's bytes, prebuilt once in every variant the ring may send
// (HTTP/1.0 or 1.1, close or keep-alive, GET or HEAD): the ring only points
// a send at them. For replies the ring puts together when it sends them (a
// status or a body size drawn per request), the same header lines without
// the status line and Content-length (the tails), and the statuses table.
import { REASONS } from "../config/reasons.ts";
import { sendsLength, type ResponseSpec } from "../config/response.ts";

/** The variants, named as enum response_kind of native/ringside.h. */
export const RESPONSE_KINDS = ["close10", "keep10", "close11", "keep11", "headClose10", "headKeep10", "headClose11", "headKeep11"] as const;
export type ResponseKind = (typeof RESPONSE_KINDS)[number];

export function buildResponses(spec: ResponseSpec): Record<ResponseKind, Uint8Array> {
  const extra = spec.headers.map((h) => `${h}\r\n`).join("");
  const length = sendsLength(spec.status) ? `Content-length: ${spec.body.length}\r\n` : "";
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

/** The header lines after the status line, without Content-length and the
 * empty line: what native/send.c puts between a drawn status and its length. */
export function buildTails(spec: ResponseSpec): Record<ResponseKind, Uint8Array> {
  const extra = spec.headers.map((h) => `${h}\r\n`).join("");
  const enc = new TextEncoder();
  const tail = (connection: string): Uint8Array => enc.encode(`Content-type: ${spec.contentType}\r\n${extra}${connection}`);
  const tails = { close10: tail(""), keep10: tail("Connection: keep-alive\r\n"), close11: tail("Connection: close\r\n"), keep11: tail("") };
  return { ...tails, headClose10: tails.close10, headKeep10: tails.keep10, headClose11: tails.close11, headKeep11: tails.keep11 };
}

/** Every status a reply may carry, in the statuses table's order: the
 * library counts outcomes by line of it (rs_route_outcomes). */
export const STATUS_CODES: readonly number[] = Object.keys(REASONS).map(Number);

/** Every status a reply may carry, one "NNN Reason\r\n" line each. */
export function statusesTable(): Uint8Array {
  return new TextEncoder().encode(STATUS_CODES.map((code) => `${code} ${REASONS[code]}\r\n`).join(""));
}

/** The bytes generated bodies are cut from, as native/outcomes.c fills its
 * buffer: the same line over and over (for the fallback, which serves the same). */
export function generatedBytes(length: number): Uint8Array {
  const line = new TextEncoder().encode("ringside generated body 0123456789abcdefghijklmnopqrstuvwxyz\n");
  const out = new Uint8Array(length);
  for (let off = 0; off < length; off += line.length) out.set(line.subarray(0, Math.min(line.length, length - off)), off);
  return out;
}
