// node:os and node:fs on demand. Bundled (dist/ringside.js, the image's
// ringside.js), a module-level import of either runs for every command: about
// 9 ms of CPU per start, measured on a 2-vCPU VM. Only rare paths need them: an
// errno's name, a --cpu list checked against the machine, a budget read without
// /proc, --doctor. require: synchronous, for the paths that are.
type Os = typeof import("node:os");
type Fs = typeof import("node:fs");

let os: Os | undefined;
let fs: Fs | undefined;

export const nodeOs = (): Os => (os ??= require("node:os") as Os);
export const nodeFs = (): Fs => (fs ??= require("node:fs") as Fs);
