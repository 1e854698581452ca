// A file's modification time without node:fs (which costs milliseconds to
// load): what the build-if-stale checks compare, for native/ and for the bundle.

/** A file's mtime in ms, 0 when it does not exist (Bun.file's lastModified is then a huge sentinel). */
export function mtime(path: string): number {
  const t = Bun.file(path).lastModified;
  return t >= 2 ** 52 - 1 ? 0 : t;
}

/** The newest mtime of `extra` and the files under `dir` that `pattern` matches (a Bun.Glob). */
export function newest(dir: string, pattern: string, extra: readonly string[] = []): number {
  let t = 0;
  for (const path of extra) t = Math.max(t, mtime(path));
  for (const name of new Bun.Glob(pattern).scanSync({ cwd: dir })) t = Math.max(t, mtime(`${dir}/${name}`));
  return t;
}
