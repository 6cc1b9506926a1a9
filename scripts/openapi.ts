/** `npm run openapi`: writes docs/openapi.json from the function table and the use-cases' schemas (see scripts/openapi/document.ts). */
import { writeFile } from "node:fs/promises";
import { buildOpenApiDocument, serializeOpenApiDocument } from "./openapi/document.js";

const target = new URL("../docs/openapi.json", import.meta.url);
await writeFile(target, serializeOpenApiDocument(buildOpenApiDocument()));
console.log(`wrote ${target.pathname}`);
