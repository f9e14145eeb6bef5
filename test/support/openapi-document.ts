// The facade's OpenAPI document as a running facade serves it, and the committed copy (docs/openapi.json) it must equal.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { startTestFacade } from "./facade.js";

export const OPENAPI_COPY = fileURLToPath(new URL("../../docs/openapi.json", import.meta.url));

/** The exact bytes of GET /openapi.json from a facade started with the default configuration. */
export async function servedOpenApi(): Promise<string> {
  const t = await startTestFacade();
  try {
    const res = await t.call("GET", "/openapi.json");
    if (res.status !== 200) throw new Error(`GET /openapi.json answered ${res.status}`);
    return res.text;
  } finally {
    await t.stop();
  }
}

/** The committed copy is pretty-printed for review; compacted it is what the facade serves, byte for byte. */
export function committedOpenApi(): string {
  return JSON.stringify(JSON.parse(readFileSync(OPENAPI_COPY, "utf8")));
}

export function prettyOpenApi(served: string): string {
  return `${JSON.stringify(JSON.parse(served), null, 2)}\n`;
}
