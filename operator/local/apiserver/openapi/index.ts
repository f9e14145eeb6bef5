// HTTP handler for /openapi/v2 (JSON or protobuf) and /openapi/v3 (index + per group-version documents), cached per
// registry change.
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ResourceRegistry } from "../registry.js";
import { groupVersionPaths, openApiV2, openApiV3GroupVersion } from "./documents.js";
import { encodeOpenApiV2Document } from "./gnostic.js";

export { groupVersionPaths, openApiV2, openApiV3GroupVersion } from "./documents.js";

interface Cached {
  body: Buffer;
  etag: string;
  contentType: string;
}

const JSON_TYPE = "application/json";
/** What kube-apiserver answers a protobuf request for /openapi/v2 with (also to the older `@v1.0` spelling). */
const V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

function cached(doc: unknown): Cached {
  const body = Buffer.from(JSON.stringify(doc));
  return { body, etag: createHash("sha512").update(body).digest("hex").toUpperCase(), contentType: JSON_TYPE };
}

/** The protobuf form of a JSON document keeps its ETag, as kube-apiserver's does (responses vary by Accept). */
function asProtobuf(json: Cached, doc: Record<string, unknown>): Cached {
  return { body: encodeOpenApiV2Document(doc), etag: json.etag, contentType: V2_PROTOBUF };
}

type Format = "json" | "protobuf";
/** The media subtypes each path serves (kube-openapi's order): v2 in JSON or protobuf, v3 here in JSON only. */
const V2_OFFERS: ReadonlyArray<[string, Format]> = [
  ["json", "json"],
  ["com.github.proto-openapi.spec.v2@v1.0+protobuf", "protobuf"],
  ["com.github.proto-openapi.spec.v2.v1.0+protobuf", "protobuf"],
];
const V3_OFFERS: ReadonlyArray<[string, Format]> = [["json", "json"]];

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

function mediaRanges(accept: string | undefined): MediaRange[] {
  return (accept?.trim() ? accept : "*/*")
    .split(",")
    .map((part) => {
      const [range = "", ...params] = part.split(";").map((p) => p.trim().toLowerCase());
      const [type = "", subtype = ""] = range.split("/");
      const q = Number(params.find((p) => p.startsWith("q="))?.slice(2) ?? 1);
      return { type, subtype, q: Number.isFinite(q) ? q : 0 };
    })
    .filter((r) => r.q > 0 && r.type !== "");
}

/** The format of the first offer the most preferred media range matches (higher q, then the more specific range). */
function negotiate(accept: string | undefined, offers: ReadonlyArray<[string, Format]>): Format | undefined {
  const specificity = (r: MediaRange): number => (r.type === "*" ? 0 : 1) + (r.subtype === "*" ? 0 : 1);
  const ranges = mediaRanges(accept).sort((a, b) => b.q - a.q || specificity(b) - specificity(a));
  for (const r of ranges) {
    if (r.type !== "application" && r.type !== "*") continue;
    const offer = offers.find(([subtype]) => r.subtype === "*" || r.subtype === subtype);
    if (offer) return offer[1];
  }
  return undefined;
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { "Content-Type": "application/json" });
  res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code }));
}

function send(req: IncomingMessage, res: ServerResponse, doc: Cached, immutable: boolean): void {
  const etag = `"${doc.etag}"`;
  const headers: Record<string, string> = {
    "Content-Type": doc.contentType,
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

/** The format to answer in, or undefined when the request was answered (405 for writes, 406 for no served format). */
function formatFor(req: IncomingMessage, res: ServerResponse, path: string): Format | undefined {
  if (req.method !== "GET" && req.method !== "HEAD") {
    status(res, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
    return undefined;
  }
  const offers = path === "/openapi/v2" ? V2_OFFERS : V3_OFFERS;
  const format = negotiate(req.headers.accept, offers);
  if (!format) {
    const types = offers.map(([subtype]) => `application/${subtype}`).join(", ");
    status(res, 406, "NotAcceptable", `only the following media types are accepted: ${types}`);
  }
  return format;
}

const isOpenApiPath = (path: string): boolean =>
  path === "/openapi/v2" || path === "/openapi/v3" || path.startsWith("/openapi/v3/");

/**
 * Serves `/openapi/v2` (swagger JSON, or gnostic protobuf by Accept) and `/openapi/v3`
 * (index with `serverRelativeURL` per group-version including a content hash, and the documents). Returns false
 * for paths it does not own so the caller can answer 404.
 */
export function createOpenApiHandler(
  registry: ResourceRegistry,
): (req: IncomingMessage, res: ServerResponse, url: URL) => boolean {
  let v2: { json: Cached; protobuf?: Cached; doc: Record<string, unknown> } | undefined;
  const v3 = new Map<string, Cached | null>();
  registry.onChange(() => {
    v2 = undefined;
    v3.clear();
  });
  const v2Doc = (format: Format): Cached => {
    if (!v2) {
      const doc = openApiV2(registry);
      v2 = { json: cached(doc), doc };
    }
    if (format === "json") return v2.json;
    v2.protobuf ??= asProtobuf(v2.json, v2.doc);
    return v2.protobuf;
  };
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
    const format = formatFor(req, res, path);
    if (!format) return true;
    if (path === "/openapi/v2") {
      send(req, res, v2Doc(format), false);
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
