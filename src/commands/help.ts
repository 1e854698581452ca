// `--help`: the flag table as text.
import { OPTIONS } from "../config/flags.ts";

export function usage(version: string): string {
  const rows = OPTIONS.map((o) => {
    const arg = o.kind === "bool" ? "" : ` ${o.arg ?? (o.kind === "duration" ? "DURATION" : o.kind === "choice" ? o.choices!.join("|") : "N")}`;
    const def = o.shown ?? o.def;
    const extra = [def !== undefined ? `default ${def}` : "", o.unit ? `bare number: ${o.unit}` : "", o.env ? `env ${o.env}` : ""].filter(Boolean).join("; ");
    return `  --${o.flag}${arg}\n      ${o.help}${extra ? ` (${extra})` : ""}`;
  });
  return [
    `ringside ${version}: canned-response HTTP server on an io_uring SQPOLL ring`,
    "",
    "usage: bun run serve [options]",
    "",
    "Durations take ms, s, m or h (250ms, 5s, 1m, 1h).",
    "Flags override environment variables.",
    "",
    ...rows,
  ].join("\n");
}
