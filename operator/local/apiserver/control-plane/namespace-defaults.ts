// What kube-controller-manager puts in every namespace: the `default` ServiceAccount and the `kube-root-ca.crt` ConfigMap.
import type { CommittedWrite } from "../core.js";
import { clone, deepEqual } from "../objects.js";
import type { KubeObject } from "../selectors.js";
import type { StoreEvent } from "../store.js";
import type { Loop, LoopRuntime } from "./runtime.js";

export const DEFAULT_SERVICE_ACCOUNT = "default";
export const ROOT_CA_CONFIGMAP = "kube-root-ca.crt";
const DESCRIPTION_ANNOTATION = "kubernetes.io/description";
const DESCRIPTION =
  "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

/** The events of a default object that make the controllers look at its namespace again. */
const DISTURBING: Record<string, string[]> = {
  [`/serviceaccounts/${DEFAULT_SERVICE_ACCOUNT}`]: ["DELETED"],
  [`/configmaps/${ROOT_CA_CONFIGMAP}`]: ["MODIFIED", "DELETED"],
};

/**
 * The namespace whose defaults an event may have disturbed, as the serviceaccounts controller and the root CA
 * publisher watch: a namespace added or updated, the `default` ServiceAccount deleted, the CA ConfigMap changed or deleted.
 */
function namespaceToDefault(ev: StoreEvent): string | undefined {
  const m = ev.obj.metadata ?? {};
  if (ev.resource === "/namespaces") return ev.type === "DELETED" ? undefined : (m.name as string);
  const disturbing = DISTURBING[`${ev.resource}/${String(m.name)}`] ?? [];
  return disturbing.includes(ev.type) ? (m.namespace as string) : undefined;
}

function rootCaData(caPem: string): Record<string, string> {
  return { "ca.crt": caPem };
}

/** The serviceaccounts controller and the root CA publisher: a live namespace's `default` SA and CA ConfigMap. */
export class NamespaceDefaultsController implements Loop {
  constructor(
    private readonly runtime: LoopRuntime,
    /** The PEM bundle a client in the cluster verifies the API server with. */
    private readonly caPem: string,
  ) {}

  resync(): void {
    for (const ns of this.runtime.core.store.list("/namespaces")) this.enqueue(ns.metadata?.name as string);
  }

  observe(w: CommittedWrite): void {
    const ns = namespaceToDefault(w.event);
    if (ns) this.enqueue(ns);
  }

  private enqueue(ns: string): void {
    this.runtime.enqueue(`nsdefaults:${ns}`, () => this.sync(ns));
  }

  /** Creates what a live namespace lacks of its defaults; a namespace that is missing or terminating gets nothing. */
  private sync(namespace: string): void {
    const core = this.runtime.core;
    const ns = core.store.get("/namespaces", `/${namespace}`);
    if (!ns || ns.metadata?.deletionTimestamp || (ns.status?.phase ?? "Active") !== "Active") return;
    const saCtx = this.runtime.ctx(this.runtime.type("", "serviceaccounts"), namespace);
    if (!core.tryGet(saCtx.rt, namespace, DEFAULT_SERVICE_ACCOUNT))
      core.create(saCtx, { metadata: { name: DEFAULT_SERVICE_ACCOUNT } });
    this.syncRootCa(namespace);
  }

  /** The root CA ConfigMap as the publisher keeps it: created when missing, data and description restored when changed. */
  private syncRootCa(namespace: string): void {
    const core = this.runtime.core;
    const ctx = this.runtime.ctx(this.runtime.type("", "configmaps"), namespace);
    const cur = core.tryGet(ctx.rt, namespace, ROOT_CA_CONFIGMAP);
    if (!cur) {
      core.create(ctx, {
        metadata: { name: ROOT_CA_CONFIGMAP, annotations: { [DESCRIPTION_ANNOTATION]: DESCRIPTION } },
        data: rootCaData(this.caPem),
      });
      return;
    }
    const annotations = (cur.metadata?.annotations as Record<string, string> | undefined) ?? {};
    if (deepEqual(cur.data, rootCaData(this.caPem)) && annotations[DESCRIPTION_ANNOTATION]) return;
    const next: KubeObject = clone(cur);
    next.data = rootCaData(this.caPem);
    next.metadata!.annotations = { ...annotations, [DESCRIPTION_ANNOTATION]: DESCRIPTION };
    core.commitUpdate(ctx, cur, next);
  }
}
