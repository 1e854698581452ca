// Many idle TCP clients held open by this process, opened a batch at a time:
// test/native/idle-connections.test.ts checks that a server holds and answers them,
// bench/footprint.ts measures what they cost it in memory.
import { connect, type Socket } from "node:net";

export interface IdleClient {
  sock: Socket;
  /** Everything received so far (latin1). */
  text: string;
  /** The server ended the connection. */
  ended: boolean;
}

function openOne(port: number, request: string | undefined): Promise<IdleClient> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: "127.0.0.1", port });
    const c: IdleClient = { sock, text: "", ended: false };
    sock.setEncoding("latin1");
    sock.on("data", (d: string) => (c.text += d));
    sock.on("end", () => (c.ended = true));
    sock.once("error", reject);
    sock.once("connect", () => {
      if (request) sock.write(request);
      resolve(c);
    });
  });
}

/** Opens n connections, `batch` at a time, each sending `request` if given.
 * Before each batch, `pace(opened so far)` may wait (for the server to accept what
 * is already open: beyond its listen backlog the kernel drops SYNs, and the
 * client only retries after 1 s, 3 s, 7 s...). */
export async function openIdle(port: number, n: number, opts: { request?: string; batch: number; pace?: (opened: IdleClient[]) => Promise<unknown> }): Promise<IdleClient[]> {
  const clients: IdleClient[] = [];
  for (let i = 0; i < n; i += opts.batch) {
    if (i > 0 && opts.pace) await opts.pace(clients);
    clients.push(...(await Promise.all(Array.from({ length: Math.min(opts.batch, n - i) }, () => openOne(port, opts.request)))));
  }
  return clients;
}
