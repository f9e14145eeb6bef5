// Leader election on a coordination.k8s.io/v1 Lease (client-go's algorithm): one leader, takeover after the lease expires.
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { isConflict, isNotFound, KubeApiError, type KubeClient, type KubeObject } from "../kube/client.js";

export interface LeaderElectorOptions {
  client: KubeClient;
  namespace: string;
  /** Lease name, e.g. spot-optimizer-operator. */
  name: string;
  /** Unique per process. Default host name + random suffix. */
  identity?: string;
  /** How long a lease holds without renewal before others may take it. Default 15 s. */
  leaseDurationMs?: number;
  /** A leader that cannot renew for this long steps down (must be < leaseDurationMs). Default 10 s. */
  renewDeadlineMs?: number;
  /** Interval between acquire/renew attempts. Default 2 s. */
  retryPeriodMs?: number;
  onStartedLeading?: () => void;
  onStoppedLeading?: () => void;
  onError?: (error: unknown) => void;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

/** RFC 3339 with microseconds, the MicroTime format Lease times use. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/**
 * Campaigns for a Lease. Every write carries the resourceVersion it read, so of two candidates that
 * both see an expired lease only one update succeeds (the other gets 409). Expiry is judged by the
 * local clock from when this process last saw the record change (as client-go does), so clock skew
 * between machines cannot make a live leader's lease look expired.
 */
export class LeaderElector {
  readonly identity: string;
  private readonly options: LeaderElectorOptions;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private leading = false;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private observedRecord = "";
  private observedAtMs = 0;
  private lastRenewMs = 0;
  private lastLease: Lease | undefined;

  constructor(options: LeaderElectorOptions) {
    this.options = options;
    this.identity = options.identity ?? `${hostname()}_${randomBytes(4).toString("hex")}`;
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (this.renewDeadlineMs >= this.leaseDurationMs)
      throw new Error("renewDeadlineMs must be shorter than leaseDurationMs");
  }

  isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    if (this.loop !== undefined || this.stopped) return;
    this.loop = this.run();
  }

  /**
   * Stops campaigning. A leader releases the lease (holder cleared) so a standby takes over at its
   * next retry instead of waiting for expiry; pass `releaseLease: false` to simulate a crash.
   */
  async stop(options: { releaseLease?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    if (this.leading && options.releaseLease !== false) await this.release();
    this.setLeading(false);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let acquired = false;
      try {
        acquired = await this.attempt();
      } catch (error) {
        this.onError(error);
      }
      if (acquired) {
        this.lastRenewMs = Date.now();
        if (!this.stopped) this.setLeading(true);
      } else if (this.leading && Date.now() - this.lastRenewMs >= this.renewDeadlineMs) {
        // Could not renew for renewDeadline: step down before anyone else may consider the lease expired.
        this.setLeading(false);
      }
      await this.sleep(this.retryPeriodMs);
    }
  }

  /**
   * One round, given up at the renew deadline (a leader's, else the same span from now): a request that hangs on a
   * connection gone silent must not keep a leader leading after others may take the lease. A round given up may still
   * write later; that write carries the resourceVersion it read, so it cannot win over a newer holder.
   */
  private async attempt(): Promise<boolean> {
    const deadlineMs = this.leading ? this.lastRenewMs + this.renewDeadlineMs : Date.now() + this.renewDeadlineMs;
    const round = this.tryAcquireOrRenew();
    round.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const givenUp = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), Math.max(0, deadlineMs - Date.now()));
    });
    try {
      return await Promise.race([round, givenUp]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** One round: true when this process holds the lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const existing = await this.options.client.getIfExists<Lease>(this.leaseRef());
    if (existing === undefined) return this.create(new Date());
    const spec = existing.spec ?? {};
    this.observe(spec);
    if (this.heldByOther(spec)) {
      // Someone else holds a live lease. If we thought we led, we lost it.
      this.setLeading(false);
      return false;
    }
    const nextSpec = this.nextSpec(spec, new Date());
    try {
      // resourceVersion from the read: a concurrent writer makes this a 409, never a double win.
      this.lastLease = await this.options.client.replace<Lease>({ ...existing, spec: nextSpec });
      this.observe(nextSpec);
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw error;
    }
  }

  private leaseRef(): { apiVersion: string; kind: string; namespace: string; name: string } {
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: this.options.namespace,
      name: this.options.name,
    };
  }

  private heldByOther(spec: LeaseSpec): boolean {
    const holder = spec.holderIdentity ?? "";
    return holder !== this.identity && holder !== "" && Date.now() < this.observedAtMs + this.leaseDurationMs;
  }

  private nextSpec(spec: LeaseSpec, now: Date): LeaseSpec {
    const holder = spec.holderIdentity ?? "";
    const takingOver = holder !== this.identity;
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(this.leaseDurationMs / 1000)),
      acquireTime: takingOver ? microTime(now) : (spec.acquireTime ?? microTime(now)),
      renewTime: microTime(now),
      leaseTransitions: (spec.leaseTransitions ?? 0) + (takingOver ? 1 : 0),
    };
  }

  private async create(now: Date): Promise<boolean> {
    const spec: LeaseSpec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(this.leaseDurationMs / 1000)),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    try {
      this.lastLease = await this.options.client.create<Lease>({
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: this.options.name, namespace: this.options.namespace },
        spec,
      });
      this.observe(spec);
      return true;
    } catch (error) {
      if (error instanceof KubeApiError && error.statusCode === 409) return false;
      throw error;
    }
  }

  /** Remembers when the record last changed, by our clock. */
  private observe(spec: LeaseSpec): void {
    const record = JSON.stringify([spec.holderIdentity ?? "", spec.renewTime ?? "", spec.acquireTime ?? ""]);
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAtMs = Date.now();
    }
  }

  private async release(): Promise<void> {
    const lease = this.lastLease;
    if (lease === undefined) return;
    try {
      const current = await this.options.client.getIfExists<Lease>(this.leaseRef());
      if (current?.spec?.holderIdentity !== this.identity) return;
      const now = microTime(new Date());
      await this.options.client.replace<Lease>({
        ...current,
        spec: { ...current.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: now },
      });
    } catch (error) {
      if (!isNotFound(error) && !isConflict(error)) this.onError(error);
    }
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    try {
      if (leading) this.options.onStartedLeading?.();
      else this.options.onStoppedLeading?.();
    } catch (error) {
      this.onError(error);
    }
  }

  private onError(error: unknown): void {
    try {
      this.options.onError?.(error);
    } catch {
      // Logging must not break the election loop.
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
