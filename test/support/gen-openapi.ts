// npm run gen:openapi: writes the OpenAPI document a facade serves to docs/openapi.json (a test fails when it is stale).
import { writeFileSync } from "node:fs";
import { OPENAPI_COPY, prettyOpenApi, servedOpenApi } from "./openapi-document.js";

writeFileSync(OPENAPI_COPY, prettyOpenApi(await servedOpenApi()));
console.log(`wrote ${OPENAPI_COPY}`);
