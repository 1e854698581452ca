// Host and port as users write them: IPv6 addresses in brackets.

/** "[::1]" for an IPv6 address, the host itself otherwise. */
export const bracketed = (host: string): string => (host.includes(":") ? `[${host}]` : host);

export const hostPort = (host: string, port: number): string => `${bracketed(host)}:${port}`;

export const urlOf = (host: string, port: number, path = ""): string => `http://${hostPort(host, port)}${path}`;

/** Where a local client reaches a server bound to a wildcard address. */
export const loopbackFor = (host: string): string => (host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host);
