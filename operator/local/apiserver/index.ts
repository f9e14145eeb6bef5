// Public entry point of the local Kubernetes API server: start it, get a KubeConfig, inject faults, install CRDs.
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { createSecureContext } from "node:tls";
import { dirname, join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import * as yaml from "js-yaml";
import { ControlPlane, type WorkloadLoopsOptions } from "./control-plane/index.js";
import { ApiCore, type CommittedWrite } from "./core.js";
import { resourceTypeFromCrd } from "./crds.js";
import { ApiHttpHandler } from "./http.js";
import { kubeconfigYaml, writeKubeconfig } from "./kubeconfig.js";
import { clone, isObject } from "./objects.js";
import { Journal } from "./journal.js";
import { ensurePrivateDir, recoverState, type Credentials, type RecoveredState } from "./persistence.js";
import { ResourceRegistry, resourceKey } from "./registry.js";
import type { KubeObject } from "./selectors.js";
import { ObjectStore } from "./store.js";
import { admitCustomResource, crdVersionSchema, fieldValidationOutcome } from "./schema/index.js";
import { createOpenApiHandler } from "./openapi/index.js";
import { wiredApply, wiredManagedFields, wiredPatch } from "./wiring.js";
import { rawRequest, type RawRequestOptions, type RawResponse, type RawTarget } from "./client.js";
import { selfSignedCertificate } from "./tls.js";
import { createRequestGate } from "./auth/index.js";

export type { WorkloadLoopsOptions } from "./control-plane/index.js";
export type { ResourceType, ResourceVersion, PrinterColumn, ScaleSubresource } from "./registry.js";
export { ResourceRegistry } from "./registry.js";
export { LOCAL_CONTEXT } from "./kubeconfig.js";

export interface LocalApiServerOptions {
  /** 0 = ephemeral (default 0); host is always 127.0.0.1. */
  port?: number;
  /**
   * Optional persistence: the snapshot file; the write-ahead log and the previous snapshot sit beside it, in a
   * directory made private (0700). Every change is logged and fsync'd before a response can reveal it; start-up
   * replays the log over the snapshot, and a damaged file stops it with a StateError (see persistence.ts).
   */
  dataFile?: string;
  /** A snapshot compacts the log once it reaches max(this, the last snapshot's size); default 4 MiB. */
  compactMinBytes?: number;
  /** Where recovery warnings go (a torn last log record was dropped); default stderr. */
  onWarning?: (message: string) => void;
  /** If set, a kubeconfig (cluster/user/context "spotopt-local", bearer token) is written there. */
  kubeconfigPath?: string;
  /** Number of retained events for watch resume (default 5000). */
  watchWindow?: number;
  /** Interval of BOOKMARK events on watches with allowWatchBookmarks=true (default 10 s). */
  bookmarkIntervalMs?: number;
  /**
   * How long the simulated kubelet takes to finish a graceful pod deletion (default 100 ms; capped by the pod's
   * grace period). Until then the pod is Terminating, as on a real cluster.
   */
  podTerminationMs?: number;
  /**
   * The built-in control loops of a cluster's workloads: Deployment → ReplicaSet → Pods, StatefulSet → Pods, Job → Pods, CronJob → Jobs, a scheduler binding pending pods to nodes that fit, and a kubelet starting bound pods. Off by default (tests
   * that write pods by hand); local mode turns it on.
   */
  workloads?: boolean | WorkloadLoopsOptions;
}

/** A write as the fault injector's onWrite listener sees it. */
export interface WriteNotice {
  verb: string;
  /** The resource plural, e.g. "pods", "nodetemplates". */
  resource: string;
  /** The API group ("" for core). */
  group: string;
  namespace?: string;
  name: string;
  object?: unknown;
}

/** A write request as FaultInjector.failWrites sees it, before it is applied. */
export interface FailedWriteMatch {
  verb: string;
  resource: string;
  namespace?: string;
  name?: string;
}

export interface FaultInjector {
  /** Fraction 0..1 of write requests (create/update/patch/delete) answering 409 Conflict (a real Status object). */
  setConflictRate(rate: number): void;
  /** Close every open watch stream now. */
  dropWatches(): void;
  /** Shrink the retained window so older resourceVersions get 410 Gone. */
  setWatchWindow(events: number): void;
  /**
   * Answers the HTTP writes `match` selects with a 500 InternalError that changes nothing (e.g. a facade's second
   * write of a two-object operation); `match` sees verb, resource plural, namespace and name (absent for a create).
   */
  failWrites(match: ((w: FailedWriteMatch) => boolean) | undefined): void;
  /** Called synchronously after each successful HTTP write, BEFORE the HTTP response is sent. */
  onWrite(listener: ((w: WriteNotice) => void) | undefined): void;
  reset(): void;
}

export interface LocalApiServer {
  /** https://127.0.0.1:PORT (self-signed; kubectl sends bearer tokens only over TLS). */
  url: string;
  /** The serving certificate (also the CA in the kubeconfig). */
  caPem: string;
  /** A @kubernetes/client-node KubeConfig for this server. */
  kubeConfig: KubeConfig;
  kubeconfigPath?: string;
  /** The kubeconfig as YAML (for kubectl via a temp file or KUBECONFIG). */
  kubeconfigYaml: string;
  faults: FaultInjector;
  /** The resource registry (discovery, OpenAPI). */
  registry: ResourceRegistry;
  /** YAML files or directories of YAML; creates (or updates) the CRDs via the API and waits until Established. */
  installCrdFiles(paths: string[]): Promise<void>;
  /**
   * A token of an existing ServiceAccount (what TokenRequest / `kubectl create token` return): requests with it are
   * authorised by the RBAC objects the server holds. The kubeconfig's admin token is cluster-admin.
   */
  serviceAccountToken(namespace: string, name: string, expirationSeconds?: number): string;
  /** A raw HTTPS request with the bearer token (discovery, error bodies, 401 checks). */
  request(method: string, path: string, opts?: RawRequestOptions): Promise<RawResponse>;
  /** Resolves when the in-process controllers (GC, namespaces, CRDs, PDB status) have nothing queued. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

const DEFAULT_WINDOW = 5000;
const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

function buildCore(state: RecoveredState | undefined, window: number): ApiCore {
  const registry = new ResourceRegistry();
  const store = new ObjectStore(state?.rv ?? 1, window);
  if (state) {
    for (const crd of state.objects.get("apiextensions.k8s.io/customresourcedefinitions")?.values() ?? [])
      registry.upsert(resourceTypeFromCrd(crd));
    for (const [resource, objects] of state.objects) {
      for (const [key, obj] of objects) store.load(resource, key, obj);
    }
  }
  const core = new ApiCore(registry, store);
  core.validateCustom = ({ crd, version, object, oldObject, fieldValidation }) => {
    const schema = crdVersionSchema(crd, version);
    if (!schema) return { object, causes: [] };
    const spec = (crd as { spec: { group: string; names: { kind: string } } }).spec;
    const r = admitCustomResource({
      schema,
      object: object as never,
      oldObject: oldObject as never,
      kind: spec.names.kind,
      group: spec.group,
      name: String(object.metadata?.name ?? ""),
    });
    const outcome = fieldValidationOutcome(fieldValidation, r.unknownFields, { kind: spec.names.kind, version });
    return {
      object: r.object as KubeObject,
      causes: r.causes,
      message: r.message,
      badRequestMessage: outcome.badRequestMessage,
      warnings: outcome.warnings,
    };
  };
  core.updateManagedFields = wiredManagedFields;
  return core;
}

/**
 * What a write listener sees of a committed write. The object is a copy (stored objects are shared with watchers and
 * must never be mutated by a listener), made when first read: a listener that only counts writes costs no copy.
 */
function writeNotice(w: CommittedWrite): WriteNotice {
  const m = w.event.obj.metadata ?? {};
  let copy: KubeObject | undefined;
  return {
    verb: w.verb,
    resource: w.rt.plural,
    group: w.rt.group,
    namespace: m.namespace as string | undefined,
    name: m.name as string,
    get object(): KubeObject {
      return (copy ??= clone(w.event.obj));
    },
  };
}

function ensureSystemNamespaces(core: ApiCore): void {
  const nsType = core.registry.byGroupPlural("", "namespaces")!;
  for (const name of SYSTEM_NAMESPACES) {
    if (!core.tryGet(nsType, undefined, name))
      core.create({ rt: nsType, version: "v1", origin: "internal" }, { metadata: { name } });
  }
}

/** A self-signed certificate that OpenSSL accepts (a generated one is re-rolled if its DER is rejected). */
function servingCertificate(): { certPem: string; keyPem: string } {
  let lastError: unknown;
  for (let attempt = 0; attempt < 8; attempt++) {
    const cert = selfSignedCertificate({
      commonName: "spotopt-local",
      dnsNames: ["localhost"],
      ipAddresses: ["127.0.0.1"],
    });
    try {
      createSecureContext({ cert: cert.certPem, key: cert.keyPem });
      return cert;
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

function warnTo(opts: LocalApiServerOptions): (message: string) => void {
  return opts.onWarning ?? ((message: string) => void process.stderr.write(`apiserver: ${message}\n`));
}

/** The persisted state (if any) and the token and serving certificate: kept ones, or new ones. */
function recoverCredentials(opts: LocalApiServerOptions): { state?: RecoveredState; credentials: Credentials } {
  if (opts.dataFile) ensurePrivateDir(dirname(opts.dataFile));
  const state = opts.dataFile ? recoverState(opts.dataFile, warnTo(opts)) : undefined;
  const saved = state?.credentials;
  const cert = saved?.certPem && saved.keyPem ? { certPem: saved.certPem, keyPem: saved.keyPem } : servingCertificate();
  return { state, credentials: { token: saved?.token ?? randomBytes(24).toString("hex"), ...cert } };
}

function openJournal(
  opts: LocalApiServerOptions,
  core: ApiCore,
  recovered: RecoveredState | undefined,
  credentials: Credentials,
): Journal | undefined {
  if (!opts.dataFile) return undefined;
  return Journal.open({
    dataFile: opts.dataFile,
    store: core.store,
    credentials,
    recovered,
    compactMinBytes: opts.compactMinBytes,
    warn: warnTo(opts),
  });
}

/** Starts the local Kubernetes API server on 127.0.0.1. */
export async function startLocalApiServer(opts: LocalApiServerOptions = {}): Promise<LocalApiServer> {
  const { state, credentials } = recoverCredentials(opts);
  const window = opts.watchWindow ?? DEFAULT_WINDOW;
  const core = buildCore(state, window);
  const journal = openJournal(opts, core, state, credentials);
  const { token } = credentials;
  const cert = { certPem: credentials.certPem, keyPem: credentials.keyPem };
  const control = new ControlPlane(core, {
    podTerminationMs: opts.podTerminationMs,
    rootCaPem: cert.certPem,
    workloads: opts.workloads,
  });
  if (state) control.resync();
  ensureSystemNamespaces(core);

  let conflictRate = 0;
  let failMatch: ((w: FailedWriteMatch) => boolean) | undefined;
  let writeListener: ((w: WriteNotice) => void) | undefined;
  core.onCommit((w: CommittedWrite) => {
    if (w.origin === "http" && writeListener) writeListener(writeNotice(w));
  });

  let address = "127.0.0.1:0";
  const gate = createRequestGate({ core, adminToken: token });
  const handler = new ApiHttpHandler(core, {
    gate: gate.admit,
    serverAddress: () => address,
    applyPatch: wiredPatch,
    apply: wiredApply,
    openapi: createOpenApiHandler(core.registry),
    injectConflict: () => conflictRate > 0 && Math.random() < conflictRate,
    injectFailure: (w) =>
      failMatch?.(w) ? `injected failure of ${w.verb} ${w.resource} (fault injection)` : undefined,
    bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 10_000,
  });

  // With persistence, a response waits until every change it could reveal is on disk.
  const handle = journal
    ? (req: IncomingMessage, res: ServerResponse): void => {
        journal.gate(res);
        handler.handle(req, res);
      }
    : handler.handle;
  const server = createServer({ cert: cert.certPem, key: cert.keyPem }, handle);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  address = `127.0.0.1:${port}`;
  const url = `https://127.0.0.1:${port}`;
  const configYaml = kubeconfigYaml(url, token, cert.certPem);
  if (opts.kubeconfigPath) writeKubeconfig(opts.kubeconfigPath, configYaml);
  const target: RawTarget = { url, token, caPem: cert.certPem };
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(configYaml);

  const faults: FaultInjector = {
    setConflictRate: (rate) => {
      conflictRate = Math.min(1, Math.max(0, rate));
    },
    dropWatches: () => handler.dropWatches(),
    setWatchWindow: (events) => core.store.setWindow(events),
    failWrites: (match) => {
      failMatch = match;
    },
    onWrite: (listener) => {
      writeListener = listener;
    },
    reset: () => {
      conflictRate = 0;
      failMatch = undefined;
      writeListener = undefined;
      core.store.setWindow(window);
    },
  };

  let stopped = false;
  return {
    url,
    caPem: cert.certPem,
    kubeConfig,
    kubeconfigPath: opts.kubeconfigPath,
    kubeconfigYaml: configYaml,
    faults,
    registry: core.registry,
    installCrdFiles: (paths) => installCrds(target, paths),
    serviceAccountToken: gate.serviceAccountToken,
    request: (method, path, requestOpts) => rawRequest(target, method, path, requestOpts),
    settled: () => control.idle(),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      handler.dropWatches();
      await control.idle();
      control.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await journal?.close();
    },
  };
}

/** The YAML documents of CRDs in files or directories (*.yaml, *.yml), in path order. */
export function readCrdDocuments(paths: string[]): KubeObject[] {
  const files: string[] = [];
  for (const p of paths) {
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p).sort()) if (/\.ya?ml$/.test(f)) files.push(join(p, f));
    } else files.push(p);
  }
  const docs: KubeObject[] = [];
  for (const f of files) {
    for (const d of yaml.loadAll(readFileSync(f, "utf8"))) {
      if (isObject(d) && d.kind === "CustomResourceDefinition") docs.push(d as KubeObject);
    }
  }
  return docs;
}

const CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

function call(target: RawTarget, method: string, path: string, body?: unknown): Promise<RawResponse> {
  return rawRequest(target, method, path, { body });
}

/** Creates or updates one CRD through the API, retrying conflicts (fault injection may be on). */
async function upsertCrd(target: RawTarget, crd: KubeObject): Promise<void> {
  const name = crd.metadata?.name as string;
  for (let attempt = 0; attempt < 50; attempt++) {
    const created = await call(target, "POST", CRD_PATH, crd);
    if (created.status === 201) return;
    if (created.status === 409 && created.json?.reason === "AlreadyExists") {
      const cur = await call(target, "GET", `${CRD_PATH}/${name}`);
      if (cur.status !== 200) continue;
      const next = { ...crd, metadata: { ...crd.metadata, resourceVersion: cur.json.metadata.resourceVersion } };
      const updated = await call(target, "PUT", `${CRD_PATH}/${name}`, next);
      if (updated.status === 200) return;
      if (updated.status !== 409) throw new Error(`updating CRD ${name}: ${String(updated.json?.message)}`);
      continue;
    }
    if (created.status !== 409) throw new Error(`creating CRD ${name}: ${String(created.json?.message)}`);
  }
  throw new Error(`creating CRD ${name}: too many conflicts`);
}

async function waitEstablished(target: RawTarget, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const cur = await call(target, "GET", `${CRD_PATH}/${name}`);
    const conds = (cur.json?.status?.conditions as { type: string; status: string }[] | undefined) ?? [];
    if (conds.some((c) => c.type === "Established" && c.status === "True")) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`CRD ${name} not Established after ${timeoutMs} ms`);
}

async function installCrds(target: RawTarget, paths: string[]): Promise<void> {
  const docs = readCrdDocuments(paths);
  for (const crd of docs) await upsertCrd(target, crd);
  for (const crd of docs) await waitEstablished(target, crd.metadata?.name as string, 10_000);
}

export { resourceKey };
