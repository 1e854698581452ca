// The one error type ringside raises for anything a user can get wrong or a
// start can fail on: a code (which the CLI maps to an exit code) and a
// one-line message that names the input and the fix.
import { nodeOs } from "./node.ts";

export type ErrorCode =
  | "usage"
  | "build"
  | "load"
  | "abi"
  | "addr_in_use"
  | "addr_denied"
  | "addr_unavailable"
  | "io_uring_blocked"
  | "io_uring_missing"
  | "ring_flag_rejected"
  | "start";

export class RingsideError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The errno name behind it (EADDRINUSE ...), if any. */
    readonly errno?: string,
    /** For a failed native start: the step that failed (bind, io_uring_setup ...). */
    readonly step?: string,
  ) {
    super(message);
    this.name = "RingsideError";
  }
}

export const usageError = (message: string): RingsideError => new RingsideError("usage", message);

let errnoNames: Map<number, string> | undefined;
/** "EADDRINUSE" for -98 (or 98); the names are read on the first failure that needs one. */
export function errnoName(errno: number): string {
  errnoNames ??= new Map(Object.entries(nodeOs().constants.errno).map(([name, n]) => [n, name]));
  return errnoNames.get(Math.abs(errno)) ?? `errno ${Math.abs(errno)}`;
}

/** The port-in-use message, the same for the ring, the fallback and the admin listener. */
export function addrInUse(what: string, port: number, host: string, flag: string): RingsideError {
  return new RingsideError("addr_in_use", `${what} ${port} is in use on ${host}: stop the other server or pass ${flag} (0 picks a free one)`, "EADDRINUSE");
}
