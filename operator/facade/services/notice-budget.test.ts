// The shared notice budget's decisions: one claim per notice, budgets per kind and node count, a new window each hour.
import { describe, expect, it } from "vitest";
import {
  budgetStateOf,
  CLAIM_STALE_MS,
  claimNotices,
  NOTICE_BUDGET_WINDOW_MS,
  releaseNotices,
  type BudgetState,
} from "./notice-budget.js";

const empty: BudgetState = { startMs: Number.NEGATIVE_INFINITY, spot: 0, other: 0, claims: {} };
const spot = (id: string) => ({ id, kind: "spot" as const });
const other = (id: string) => ({ id, kind: "other" as const });

describe("claimNotices", () => {
  it("claims within the kind's budget (per node), refuses the rest, and takes a claimed notice only once", () => {
    const first = claimNotices(empty, {
      candidates: [spot("a"), spot("b"), other("c"), other("d"), other("e")],
      nodeCount: 1,
      nowMs: 1000,
    });
    expect(first.claims).toEqual(["claimed", "over", "claimed", "claimed", "over"]);
    expect(first.next).toMatchObject({ startMs: 1000, spot: 1, other: 2, claims: { a: 1000, c: 1000, d: 1000 } });
    // Another replica, later in the hour: the claimed notice is taken, nothing new fits, so nothing is written.
    const again = claimNotices(first.next!, { candidates: [spot("a"), spot("b")], nodeCount: 1, nowMs: 2000 });
    expect(again).toEqual({ claims: ["taken", "over"] });
    // Two nodes: twice the budget; the same notice twice in one heartbeat is claimed once.
    expect(claimNotices(first.next!, { candidates: [spot("b"), spot("b")], nodeCount: 2, nowMs: 2000 }).claims).toEqual(
      ["claimed", "taken"],
    );
  });

  it("takes over a claim older than CLAIM_STALE_MS (its replica never recorded it) without charging the budget", () => {
    const { next } = claimNotices(empty, { candidates: [spot("a")], nodeCount: 1, nowMs: 0 });
    expect(claimNotices(next!, { candidates: [spot("a")], nodeCount: 1, nowMs: CLAIM_STALE_MS - 1 }).claims).toEqual([
      "taken",
    ]);
    const late = claimNotices(next!, { candidates: [spot("a"), spot("b")], nodeCount: 1, nowMs: CLAIM_STALE_MS });
    expect(late.claims).toEqual(["took-over", "over"]);
    expect(late.next).toMatchObject({ spot: 1, claims: { a: CLAIM_STALE_MS } });
    // Taken over, it is fresh again for everyone else.
    expect(
      claimNotices(late.next!, { candidates: [spot("a")], nodeCount: 1, nowMs: CLAIM_STALE_MS + 1 }).claims,
    ).toEqual(["taken"]);
  });

  it("decides a claimedOnly notice (its node gone) only by an existing claim, never from the budget", () => {
    const gone = { ...spot("g"), claimedOnly: true };
    expect(claimNotices(empty, { candidates: [gone], nodeCount: 1, nowMs: 0 })).toEqual({ claims: ["unclaimed"] });
    const { next } = claimNotices(empty, { candidates: [spot("g")], nodeCount: 1, nowMs: 0 });
    expect(claimNotices(next!, { candidates: [gone], nodeCount: 1, nowMs: 1000 }).claims).toEqual(["taken"]);
    const late = claimNotices(next!, { candidates: [gone], nodeCount: 1, nowMs: CLAIM_STALE_MS });
    expect(late).toMatchObject({ claims: ["took-over"], next: { spot: 1, claims: { g: CLAIM_STALE_MS } } });
  });

  it("starts a new window an hour after the last began, keeping the claims of the last hour", () => {
    const { next } = claimNotices(empty, { candidates: [spot("z")], nodeCount: 2, nowMs: 0 });
    // Late in the hour: the budget of two nodes has room for one more.
    const late = claimNotices(next!, {
      candidates: [spot("a"), spot("b")],
      nodeCount: 2,
      nowMs: NOTICE_BUDGET_WINDOW_MS - 1000,
    });
    expect(late.claims).toEqual(["claimed", "over"]);
    // The next window: a fresh budget, and the claim of a moment ago is still taken.
    const later = claimNotices(late.next!, {
      candidates: [spot("a"), spot("b")],
      nodeCount: 2,
      nowMs: NOTICE_BUDGET_WINDOW_MS,
    });
    expect(later).toMatchObject({
      claims: ["taken", "claimed"],
      next: {
        startMs: NOTICE_BUDGET_WINDOW_MS,
        spot: 1,
        claims: { a: NOTICE_BUDGET_WINDOW_MS - 1000, b: NOTICE_BUDGET_WINDOW_MS },
      },
    });
  });

  it("makes a claim whose notice could not be recorded stale at once, so the retry takes it over, charged once", () => {
    const { next } = claimNotices(empty, { candidates: [spot("a")], nodeCount: 1, nowMs: 0 });
    const released = releaseNotices(next!, [spot("a")], 10);
    expect(released).toMatchObject({ spot: 1, claims: { a: 10 - CLAIM_STALE_MS } });
    expect(releaseNotices(released!, [spot("b")], 10)).toBeUndefined();
    // the retry, also of a node gone since (claimedOnly), takes it over without a second charge
    const retry = claimNotices(released!, {
      candidates: [{ ...spot("a"), claimedOnly: true }],
      nodeCount: 1,
      nowMs: 11,
    });
    expect(retry).toMatchObject({ claims: ["took-over"], next: { spot: 1, claims: { a: 11 } } });
  });

  it("reads an unreadable Lease as an ended window without claims", () => {
    expect(budgetStateOf(undefined)).toEqual(empty);
    expect(budgetStateOf({ metadata: { annotations: { "spotoptimizer.io/notice-budget": "{" } } })).toEqual(empty);
  });
});
