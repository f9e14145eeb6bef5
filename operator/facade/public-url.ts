// The one place that builds URLs and shell text handed back to users: from the configured public URL, never from the
// request's Host header (which any caller sets), and quoted so a pasted command runs exactly the values it shows.
import type { FacadeConfig } from "./config.js";

/** The facade's public base URL (SPOTOPT_PUBLIC_URL, else the listen address), without a trailing slash. */
export function publicBaseUrl(config: Pick<FacadeConfig, "publicUrl">): string {
  const base = config.publicUrl;
  // startFacade fills the listen address in; an app built without it must not guess from the request.
  if (!base) throw new Error("the facade's public URL is not known (set SPOTOPT_PUBLIC_URL)");
  return base;
}

/** An absolute URL of a facade path (`/audit/export?...`) for users and agents. */
export function publicUrl(config: Pick<FacadeConfig, "publicUrl">, pathAndQuery: string): string {
  return publicBaseUrl(config) + (pathAndQuery.startsWith("/") ? pathAndQuery : `/${pathAndQuery}`);
}

const SHELL_SAFE = /^[A-Za-z0-9@%+=:,./_-]+$/;

/** One POSIX shell word: as is when it has only safe characters, else single-quoted (`'` becomes `'\''`). */
export function shellQuote(value: string): string {
  if (SHELL_SAFE.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A `helm --set key=value` value as helm reads it literally: an unescaped comma would start the next key. */
export function helmSetValue(value: string): string {
  return value.replace(/[\\,]/g, (c) => `\\${c}`);
}
