// A response body read from a file: --body-file, and a route's body-file.
// A regular file only, and read with a limit: a FIFO would hold the start
// until something writes to it, /dev/zero would fill the memory, and both
// would do it without a word.
import type { Stats } from "node:fs";
import { usageError } from "../lib/errors.ts";

/** The largest body file: its bytes are copied into every prebuilt variant. */
const MAX_BODY_FILE_BYTES = 64 * 1024 * 1024;

/** What a stat says the path is, for the message ("a FIFO"). */
function kindOf(s: Stats): string {
  if (s.isDirectory()) return "a directory";
  if (s.isFIFO()) return "a FIFO";
  if (s.isCharacterDevice()) return "a character device";
  if (s.isBlockDevice()) return "a block device";
  if (s.isSocket()) return "a socket";
  return "not a file";
}

const cannotRead = (what: string, path: string, e: unknown): Error =>
  usageError(`${what} '${path}' cannot be read (${(e as NodeJS.ErrnoException).code ?? "unreadable"}): give a readable file`);

const tooBig = (what: string, path: string, bytes: number): Error =>
  usageError(`${what} '${path}' is over the ${MAX_BODY_FILE_BYTES / 1024 / 1024} MiB limit (${bytes} bytes): give a smaller file`);

/** The file's bytes; `what` names it in the message ("--body-file", or a
 * route's "--route '/x body-file=...': body-file"). */
export async function readBodyFile(path: string, what: string): Promise<Uint8Array> {
  const file = Bun.file(path);
  let stat: Stats;
  try {
    stat = await file.stat();
  } catch (e) {
    throw cannotRead(what, path, e);
  }
  if (!stat.isFile()) throw usageError(`${what} '${path}' is not a regular file (${kindOf(stat)}): give a file`);
  if (stat.size > MAX_BODY_FILE_BYTES) throw tooBig(what, path, stat.size);
  let bytes: Uint8Array;
  try {
    // One byte past the limit: a file that grew since the stat is caught too.
    bytes = await file.slice(0, MAX_BODY_FILE_BYTES + 1).bytes();
  } catch (e) {
    throw cannotRead(what, path, e);
  }
  if (bytes.length > MAX_BODY_FILE_BYTES) throw tooBig(what, path, bytes.length);
  return bytes;
}
