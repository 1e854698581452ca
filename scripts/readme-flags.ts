// Prints the README's flag table from the one OPTIONS table, or with --write
// puts it between the flags:start/end markers of README.md.
import { join } from "node:path";
import { OPTIONS } from "../src/config/flags.ts";

export function flagTable(): string {
  const rows = OPTIONS.map((o) => {
    const arg = o.kind === "bool" ? "" : o.kind === "choice" ? ` ${o.choices!.join("\\|")}` : o.kind === "duration" ? " DURATION" : ` ${o.arg ?? "N"}`;
    const shown = o.shown ?? o.def;
    const def = shown !== undefined ? `\`${shown}\`${o.unit ? ` (bare: ${o.unit})` : ""}` : "";
    return `| \`--${o.flag}${arg}\` | ${o.env ? `\`${o.env}\`` : ""} | ${def} | ${o.help.replace(/\|/g, "\\|")} |`;
  });
  return ["| flag | env | default | what it does |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

export const README = join(import.meta.dir, "..", "README.md");

export function withTable(readme: string): string {
  return readme.replace(/(<!-- flags:start -->\n)[\s\S]*?(<!-- flags:end -->)/, `$1${flagTable()}\n$2`);
}

if (import.meta.main) {
  if (process.argv.includes("--write")) await Bun.write(README, withTable(await Bun.file(README).text()));
  else console.log(flagTable());
}
