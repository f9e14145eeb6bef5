// The status a controller last wrote, until its informer has caught up: a reconcile that follows its own status write
// (a watch on an object it applied fires first) would otherwise see the status before that write, announce the same
// change again and re-send the same status.
import type { KubeObject } from "../kube/client.js";

interface Written {
  uid: string;
  /** The resourceVersion the informer showed when the status was written from it. */
  baseResourceVersion: string;
  status: unknown;
}

export class StatusMemory {
  private readonly written = new Map<string, Written>();

  /**
   * The object with the status last written, while the informer still shows the version that write was made from;
   * once it shows another version (ours or a later one) the informer is trusted again and the memory dropped.
   */
  latest<T extends KubeObject & { status?: unknown }>(key: string, object: T): T {
    const w = this.written.get(key);
    const meta = object.metadata ?? {};
    if (w === undefined) return object;
    if (w.uid !== meta.uid || w.baseResourceVersion !== meta.resourceVersion) {
      this.written.delete(key);
      return object;
    }
    return { ...object, status: w.status };
  }

  /** Records a status written from `base` (the object as `latest` gave it); the server's answer when there is one. */
  remember(key: string, base: KubeObject, status: unknown): void {
    const { uid, resourceVersion } = base.metadata ?? {};
    if (uid === undefined || resourceVersion === undefined) return;
    this.written.set(key, { uid, baseResourceVersion: resourceVersion, status });
  }

  forget(key: string): void {
    this.written.delete(key);
  }
}
