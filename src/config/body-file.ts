// A response body read from a file: --body-file, and a route's body-file.
import { usageError } from "../lib/errors.ts";

/** The file's bytes; `what` names it in the message ("--body-file", or a
 * route's "--route '/x body-file=...': body-file"). */
export async function readBodyFile(path: string, what: string): Promise<Uint8Array> {
  try {
    return await Bun.file(path).bytes();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "unreadable";
    throw usageError(`${what} '${path}' cannot be read (${code}): give a readable file`);
  }
}
