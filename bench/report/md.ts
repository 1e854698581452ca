// Markdown building blocks shared by the report's sections.
import type { Target } from "../phases/phase.ts";

export function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

export function verdict(t: Target): string {
  return t.met === null ? "n/a" : t.met ? "**met**" : "**missed**";
}

export const plural = (n: number, word: string): string => `${n} ${word}${n > 1 ? "s" : ""}`;

/** A phase's targets as a list under its section (the Targets table has them all). */
export function targetLines(targets: Target[]): string[] {
  return targets.map((t) => `- ${verdict(t)} ${t.name}: ${t.got} (want ${t.want})`);
}
