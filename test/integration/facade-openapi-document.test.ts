// The facade's API contract: GET /openapi.json is byte for byte the committed docs/openapi.json (npm run gen:openapi).
import { describe, expect, it } from "vitest";
import { committedOpenApi, servedOpenApi } from "../support/openapi-document.js";

describe("OpenAPI document", () => {
  it("is what docs/openapi.json records (run npm run gen:openapi after a deliberate API change)", async () => {
    const served = await servedOpenApi();
    // Compared as text, not as parsed objects: key order and every description count.
    expect(JSON.parse(served)).toEqual(JSON.parse(committedOpenApi()));
    expect(served === committedOpenApi(), "GET /openapi.json differs from docs/openapi.json in key order").toBe(true);
  }, 60_000);
});
