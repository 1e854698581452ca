// A small system file's text (/proc, /sys) read at start. Through the module
// loader (an import with type "text"), which reads on the calling thread: the
// first Bun.file().text() of a process starts Bun's I/O thread pool, which
// nothing else on the start path needs (a start to serving took ~4 ms less CPU
// this way, median of 31 on a 2-vCPU VM).
// The loader keeps what it read: a path gives the same text for the life of the
// process, which suits what ringside reads this way (its own cgroup, its CPU
// mask, the kernel's release), once, at start.

/** The file's text, or undefined when it cannot be read. */
export async function readText(path: string): Promise<string | undefined> {
  try {
    const text: unknown = (await import(path, { with: { type: "text" } })).default;
    return typeof text === "string" ? text : undefined;
  } catch {
    return undefined;
  }
}
