// --preset: a role in one flag. Each sets defaults for other options (an
// explicit flag or env var still wins) and adds routes (a route of the same
// path given by the user replaces the preset's).
import type { FlagName, FlagValues } from "./flags.ts";

export interface Preset {
  /** Option defaults, by flag, as a user would type them. */
  readonly defaults: Readonly<Partial<Record<FlagName, string>>>;
  /** In --route syntax. */
  readonly routes: readonly string[];
}

export const PRESETS: Readonly<Record<FlagValues["preset"], Preset>> = {
  none: { defaults: {}, routes: [] },
  // The ingress default-backend contract (ingress-nginx's defaultbackend
  // image, byte for byte): 404 on every path, 200 "ok" on /healthz.
  "default-backend": {
    defaults: { status: "404", "content-type": "text/plain", body: "default backend - 404" },
    routes: ["/healthz=200 body=ok"],
  },
};
