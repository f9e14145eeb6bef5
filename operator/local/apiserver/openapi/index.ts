// HTTP handler for /openapi/v2 and /openapi/v3 (index + per group-version documents), cached per registry change.
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ResourceRegistry } from "../registry.js";
import { groupVersionPaths, openApiV2, openApiV3GroupVersion } from "./documents.js";

export { groupVersionPaths, openApiV2, openApiV3GroupVersion } from "./documents.js";

interface Cached {
  body: string;
  etag: string;
}

function cached(doc: unknown): Cached {
  const body = JSON.stringify(doc);
  return { body, etag: createHash("sha512").update(body).digest("hex").toUpperCase() };
}

/** Whether the Accept header allows JSON (kubectl asks protobuf first for /openapi/v2; we only speak JSON). */
function acceptsJson(accept: string | undefined): boolean {
  if (!accept) return true;
  return accept.split(",").some((part) => {
    const type = part.split(";")[0]!.trim().toLowerCase();
    return type === "application/json" || type === "*/*" || type === "application/*";
  });
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { "Content-Type": "application/json" });
  res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code }));
}

function send(req: IncomingMessage, res: ServerResponse, doc: Cached, immutable: boolean): void {
  const etag = `"${doc.etag}"`;
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    ETag: etag,
    "Cache-Control": immutable ? "public, immutable" : "no-cache, private",
    Vary: "Accept",
  };
  if (req.headers["if-none-match"] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, headers);
  res.end(req.method === "HEAD" ? undefined : doc.body);
}

function v3Index(registry: ResourceRegistry, v3Doc: (path: string) => Cached | undefined): Cached {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const gv of groupVersionPaths(registry)) {
    const doc = v3Doc(gv.path);
    if (doc) paths[gv.path] = { serverRelativeURL: `/openapi/v3/${gv.path}?hash=${doc.etag}` };
  }
  return cached({ paths });
}

/** 405 for writes, 406 for an Accept without JSON; true when the request was answered. */
function rejectRequest(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== "GET" && req.method !== "HEAD") {
    status(res, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
    return true;
  }
  if (!acceptsJson(req.headers.accept)) {
    status(res, 406, "NotAcceptable", "only the following media types are accepted: application/json");
    return true;
  }
  return false;
}

const isOpenApiPath = (path: string): boolean =>
  path === "/openapi/v2" || path === "/openapi/v3" || path.startsWith("/openapi/v3/");

/**
 * Serves `/openapi/v2` (swagger JSON; a protobuf-only Accept gets 406 Not Acceptable) and `/openapi/v3`
 * (index with `serverRelativeURL` per group-version including a content hash, and the documents). Returns false
 * for paths it does not own so the caller can answer 404.
 */
export function createOpenApiHandler(
  registry: ResourceRegistry,
): (req: IncomingMessage, res: ServerResponse, url: URL) => boolean {
  let v2: Cached | undefined;
  const v3 = new Map<string, Cached | null>();
  registry.onChange(() => {
    v2 = undefined;
    v3.clear();
  });
  const v3Doc = (path: string): Cached | undefined => {
    if (!v3.has(path)) {
      const gv = groupVersionPaths(registry).find((p) => p.path === path);
      const doc = gv ? openApiV3GroupVersion(registry, gv.group, gv.version) : undefined;
      v3.set(path, doc ? cached(doc) : null);
    }
    return v3.get(path) ?? undefined;
  };
  return (req, res, url) => {
    const path = url.pathname.replace(/\/+$/, "");
    if (!isOpenApiPath(path)) return false;
    if (rejectRequest(req, res)) return true;
    if (path === "/openapi/v2") {
      v2 ??= cached(openApiV2(registry));
      send(req, res, v2, false);
    } else if (path === "/openapi/v3") {
      send(req, res, v3Index(registry, v3Doc), false);
    } else {
      const doc = v3Doc(path.slice("/openapi/v3/".length));
      if (doc) send(req, res, doc, url.searchParams.has("hash"));
      else status(res, 404, "NotFound", "the server could not find the requested resource");
    }
    return true;
  };
}
