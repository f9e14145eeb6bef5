// A cluster's hourly notice budgets and its claimed notices, kept in one Lease of the facade's namespace so that all
// facade replicas take from one budget and record a notice once (optimistic concurrency, as the rate-limit counters).
import { createHash } from "node:crypto";
import type { KubeClient } from "../../../src-shared/kube/client.js";
import {
  RATE_LIMIT_BUCKET_LABEL,
  RATE_LIMIT_COUNT_ANNOTATION,
  RATE_LIMIT_WINDOW_END_ANNOTATION,
  RATE_LIMIT_WINDOW_START_ANNOTATION,
  updateLeaseOptimistically,
  type LeaseObject,
} from "../rate-limit-cluster.js";

/** JSON `{spot, other, claims: {<notice id>: <claimed at, ms>}}`; the window's start is the rate-limit annotation's. */
export const NOTICE_BUDGET_ANNOTATION = "spotoptimizer.io/notice-budget";
/** The bucket label's value: the rate-limit sweep deletes these Leases too, once their window and claims ended. */
export const NOTICE_BUDGET_BUCKET = "notice-budget";
export const NOTICE_BUDGET_WINDOW_MS = 3_600_000;
/**
 * Claims are kept this long (the budget's window): a claim younger than CLAIM_STALE_MS stops another replica recording
 * the notice (a retried heartbeat racing the informer caches lands within seconds); after that the recorded AuditEntry
 * (read from the cache) and each replica's memory do, and an older claim with no entry is taken over.
 */
const CLAIM_KEPT_MS = NOTICE_BUDGET_WINDOW_MS;
/**
 * A claim this old whose notice is still not recorded is taken over: its replica died between the claim and the audit
 * entry (a live one records within seconds). Taking it over charges no budget again.
 */
export const CLAIM_STALE_MS = 60_000;
/** Keeps the annotation well below the API server's 256 KiB for annotations (about 30 bytes a claim). */
const MAX_CLAIMS = 5000;
const ATTEMPTS = 10;
const LEASE = { apiVersion: "coordination.k8s.io/v1", kind: "Lease" } as const;

export type NoticeKind = "spot" | "other";
/**
 * Per node of the cluster and hour: one Spot interruption, two other notices. Even losing its whole fleet within the
 * hour, each node's end brings one Spot interruption and about two other notices (a rebalance recommendation,
 * Karpenter's disruption taint), while a report of made-up nodes could otherwise fill the audit chain beat after beat.
 * Spot interruptions have a budget of their own, so other notices (consolidation churn) cannot crowd out the ones the
 * interruption figures count.
 */
export const NOTICES_PER_NODE_HOURLY: Record<NoticeKind, number> = { spot: 1, other: 2 };

export interface NoticeCandidate {
  id: string;
  kind: NoticeKind;
  /**
   * Only a claim that exists is decided (taken, or taken over): a notice of a node the agent no longer reports is
   * recorded only where a replica admitted it while the node was reported (a Spot node is gone minutes after its notice).
   */
  claimedOnly?: boolean;
}

/**
 * claimed: this call took it from the budget (record it); took-over: a claim older than CLAIM_STALE_MS, now this call's
 * (record it; the budget was charged when it was first claimed); taken: claimed by a replica within CLAIM_STALE_MS (it
 * may still be recording); over: the hour's budget is spent; unclaimed: a claimedOnly candidate nobody claimed.
 */
export type NoticeClaim = "claimed" | "took-over" | "taken" | "over" | "unclaimed";

export interface BudgetState {
  startMs: number;
  spot: number;
  other: number;
  claims: Record<string, number>;
}

const EMPTY: BudgetState = { startMs: Number.NEGATIVE_INFINITY, spot: 0, other: 0, claims: {} };

/** The stored state; anything unreadable is an ended window without claims (the next claim starts afresh). */
export function budgetStateOf(lease: LeaseObject | undefined): BudgetState {
  const annotations = lease?.metadata?.annotations ?? {};
  const startMs = Number(annotations[RATE_LIMIT_WINDOW_START_ANNOTATION]);
  try {
    const parsed = JSON.parse(annotations[NOTICE_BUDGET_ANNOTATION] ?? "") as Partial<BudgetState>;
    const count = (n: unknown): number => (Number.isSafeInteger(n) && (n as number) >= 0 ? (n as number) : 0);
    const claims = typeof parsed.claims === "object" && parsed.claims !== null ? parsed.claims : {};
    if (!Number.isFinite(startMs)) return EMPTY;
    return { startMs, spot: count(parsed.spot), other: count(parsed.other), claims };
  } catch {
    return EMPTY;
  }
}

/** Claims younger than CLAIM_KEPT_MS, the newest MAX_CLAIMS of them. */
function keptClaims(claims: Record<string, number>, nowMs: number): Record<string, number> {
  const young = Object.entries(claims).filter(([, atMs]) => typeof atMs === "number" && nowMs - atMs < CLAIM_KEPT_MS);
  return Object.fromEntries(young.sort((a, b) => b[1] - a[1]).slice(0, MAX_CLAIMS));
}

/**
 * Decides a heartbeat's new notices against the shared state: a notice claimed before is taken (or, claimed longer than
 * CLAIM_STALE_MS ago, claimed again); else it takes one
 * from its kind's hourly budget (NOTICES_PER_NODE_HOURLY times the node count) or is over. A window starts at the
 * first claim after the last one ended. `next` is undefined when nothing was claimed: then nothing is written.
 */
export function claimNotices(
  state: BudgetState,
  request: { candidates: NoticeCandidate[]; nodeCount: number; nowMs: number },
): { claims: NoticeClaim[]; next?: BudgetState } {
  const ended = request.nowMs - state.startMs >= NOTICE_BUDGET_WINDOW_MS;
  const next: BudgetState = ended
    ? { startMs: request.nowMs, spot: 0, other: 0, claims: keptClaims(state.claims, request.nowMs) }
    : { ...state, claims: keptClaims(state.claims, request.nowMs) };
  const claims = request.candidates.map((candidate): NoticeClaim => {
    const claimedAt = next.claims[candidate.id];
    if (claimedAt !== undefined && request.nowMs - claimedAt < CLAIM_STALE_MS) return "taken";
    if (claimedAt !== undefined) {
      next.claims[candidate.id] = request.nowMs;
      return "took-over";
    }
    if (candidate.claimedOnly) return "unclaimed";
    if (next[candidate.kind] >= NOTICES_PER_NODE_HOURLY[candidate.kind] * Math.max(1, request.nodeCount)) return "over";
    next[candidate.kind]++;
    next.claims[candidate.id] = request.nowMs;
    return "claimed";
  });
  return claims.some((c) => c === "claimed" || c === "took-over") ? { claims, next } : { claims };
}

/**
 * Marks claims whose notices could not be recorded as stale, so the retried heartbeat (at any replica, also once the
 * node is gone) takes them over at once. The charge stays: it was made for this notice, in whichever window.
 */
export function releaseNotices(
  state: BudgetState,
  released: NoticeCandidate[],
  nowMs: number,
): BudgetState | undefined {
  const mine = released.filter((c) => state.claims[c.id] !== undefined);
  if (mine.length === 0) return undefined;
  const next = { ...state, claims: { ...state.claims } };
  for (const c of mine) next.claims[c.id] = nowMs - CLAIM_STALE_MS;
  return next;
}

export interface NoticeBudget {
  /** Claims a heartbeat's new notices of one cluster (`namespace/name`), in order; one write when any is claimed. */
  claim(
    cluster: string,
    request: { candidates: NoticeCandidate[]; nodeCount: number; nowMs: number },
  ): Promise<NoticeClaim[]>;
  /** Makes claims whose audit entries could not be written stale at once (see releaseNotices). */
  release(cluster: string, released: NoticeCandidate[], nowMs: number): Promise<void>;
}

export interface NoticeBudgetOptions {
  client: KubeClient;
  /** The facade's own namespace (the rate-limit counters' too). */
  namespace: string;
}

/** The Lease of one cluster's budget: a digest of `namespace/name`, so any cluster name fits. */
export function noticeBudgetLeaseName(cluster: string): string {
  return `notices-${createHash("sha256").update(cluster).digest("hex").slice(0, 40)}`;
}

function leaseOf(name: string, namespace: string, state: BudgetState, base: LeaseObject | undefined): LeaseObject {
  const newestClaimMs = Math.max(state.startMs, ...Object.values(state.claims));
  // The rate-limit sweep deletes the Lease once this has passed: the window has ended and every claim is dropped.
  const endMs = Math.max(state.startMs + NOTICE_BUDGET_WINDOW_MS, newestClaimMs + CLAIM_KEPT_MS);
  const { spot, other, claims } = state;
  return {
    ...LEASE,
    metadata: {
      ...(base?.metadata ?? {}),
      name,
      namespace,
      labels: { ...(base?.metadata?.labels ?? {}), [RATE_LIMIT_BUCKET_LABEL]: NOTICE_BUDGET_BUCKET },
      annotations: {
        ...(base?.metadata?.annotations ?? {}),
        [RATE_LIMIT_COUNT_ANNOTATION]: String(spot + other),
        [RATE_LIMIT_WINDOW_START_ANNOTATION]: String(state.startMs),
        [RATE_LIMIT_WINDOW_END_ANNOTATION]: String(endMs),
        [NOTICE_BUDGET_ANNOTATION]: JSON.stringify({ spot, other, claims }),
      },
    },
    spec: { holderIdentity: "spot-optimizer-facade/notice-budget" },
  };
}

/** Notice budgets shared by the facade replicas through the API server. */
export function createNoticeBudget(options: NoticeBudgetOptions): NoticeBudget {
  const { client, namespace } = options;
  const update = <T>(
    cluster: string,
    change: (state: BudgetState) => { result: T; next?: BudgetState | undefined },
  ): Promise<T> => {
    const name = noticeBudgetLeaseName(cluster);
    return updateLeaseOptimistically<T>({
      name,
      attempts: ATTEMPTS,
      read: () => client.getIfExists<LeaseObject>({ ...LEASE, namespace, name }),
      change: (current) => {
        const { result, next } = change(budgetStateOf(current));
        return next ? { result, lease: leaseOf(name, namespace, next, current) } : { result };
      },
      write: (lease, current) => (current ? client.replace(lease) : client.create(lease)),
    });
  };
  return {
    claim: (cluster, request) =>
      update(cluster, (state) => {
        const { claims, next } = claimNotices(state, request);
        return { result: claims, next };
      }),
    release: (cluster, released, nowMs) =>
      update(cluster, (state) => ({ result: undefined, next: releaseNotices(state, released, nowMs) })),
  };
}
