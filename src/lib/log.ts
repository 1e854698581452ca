// One line per event, as text or as a JSON object (--log-format json).
export type LogFormat = "text" | "json";

// console.log and console.error write synchronously, like process.stdout and
// process.stderr, but without Node's stream machinery, which costs ~10 ms to
// set up: a third of what `--version` or `--check` would take. "%s" keeps a
// "%" in the text from being read as a format.
export const out = (text: string): void => console.log("%s", text.replace(/\n$/, ""));
export const err = (text: string): void => console.error("%s", text.replace(/\n$/, ""));
export type Fields = Record<string, string | number | boolean>;

export class Log {
  constructor(
    private readonly format: LogFormat,
    private readonly quiet: boolean,
  ) {}

  /** Startup, stats and summary lines: silenced by --quiet. */
  info(event: string, message: string, fields: Fields = {}): void {
    if (!this.quiet) out(this.line("info", event, message, fields));
  }

  /** Warnings and errors always print, on stderr. */
  error(event: string, message: string, fields: Fields = {}): void {
    err(this.line("error", event, message, fields));
  }

  warn(event: string, message: string, fields: Fields = {}): void {
    err(this.line("warn", event, message, fields));
  }

  private line(level: string, event: string, message: string, fields: Fields): string {
    if (this.format === "json") {
      return JSON.stringify({ time: new Date().toISOString(), level, event, message, ...fields }) + "\n";
    }
    // A message may quote user input: control characters must not split the line.
    message = message.replace(/[\x00-\x1f\x7f]/g, (c) => JSON.stringify(c).slice(1, -1));
    // A value with spaces is quoted, so that every field stays one key=value.
    const kv = Object.entries(fields).map(([k, v]) => ` ${k}=${typeof v === "string" && /[\s"=]/.test(v) ? JSON.stringify(v) : v}`).join("");
    const prefix = level === "info" ? "ringside" : `ringside: ${level}`;
    return `${prefix}: ${message}${kv}\n`;
  }
}
