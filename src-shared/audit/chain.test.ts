// Unit tests of the pure audit chain: canonical JSON, hashing, and tamper detection on exports.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildEntry,
  buildExport,
  canonicalJson,
  computeEntryHash,
  GENESIS_ANCHOR,
  parseAuditExport,
  sha256Hex,
  verifyExport,
  type AuditExport,
} from "./chain.js";
import type { AuditRecord } from "./types.js";

function chain(n: number, anchor = GENESIS_ANCHOR): AuditRecord[] {
  const out: AuditRecord[] = [];
  let prev = anchor;
  for (let i = 0; i < n; i++) {
    const e = buildEntry(
      {
        namespace: "org-a",
        actor: `user${i}@a.test`,
        event: "PATCH /policies/binpack",
        resource: "cluster/prod",
        outcome: "success",
        before: { v: i },
        after: { v: i + 1 },
      },
      prev,
      new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
    );
    out.push(e);
    prev = { sequence: e.seq, hash: e.hash };
  }
  return out;
}

const clone = (doc: AuditExport): AuditExport => JSON.parse(JSON.stringify(doc)) as AuditExport;

describe("canonicalJson", () => {
  it("sorts keys at every depth, drops undefined members and has no whitespace", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: "x" }], c: undefined } })).toBe(
      '{"a":{"d":[1,{"y":"x","z":1}]},"b":1}',
    );
  });

  it("is independent of key insertion order and round-trips through JSON.parse", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
        const reversed = JSON.parse(JSON.stringify(value), function (_k, v: unknown) {
          if (v && typeof v === "object" && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).reverse());
          return v;
        }) as unknown;
        expect(canonicalJson(reversed)).toBe(text);
      }),
    );
  });
});

describe("audit chain", () => {
  it("links each entry to the previous hash and hashes the canonical entry", () => {
    const entries = chain(3);
    expect(entries.map((e) => e.seq)).toEqual([0, 1, 2]);
    expect(entries[0]!.prevHash).toBe("");
    expect(entries[1]!.prevHash).toBe(entries[0]!.hash);
    const { hash, ...rest } = entries[2]!;
    expect(hash).toBe(sha256Hex(canonicalJson(rest)));
  });

  it("verifies an untouched export, also after a round trip through a file", () => {
    const doc = buildExport("org-a", chain(5), GENESIS_ANCHOR);
    expect(verifyExport(parseAuditExport(JSON.stringify(doc, null, 2)))).toMatchObject({ ok: true, count: 5 });
    expect(doc.checksum).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("detects a changed field of any entry and names that entry", () => {
    const doc = buildExport("org-a", chain(5), GENESIS_ANCHOR);
    for (let i = 0; i < 5; i++) {
      for (const mutate of [
        (e: AuditRecord) => (e.actor = "mallory"),
        (e: AuditRecord) => (e.after = { v: 999 }),
        (e: AuditRecord) => (e.timestamp = "2020-01-01T00:00:00.000Z"),
        (e: AuditRecord) => (e.outcome = "failure"),
      ]) {
        const bad = clone(doc);
        mutate(bad.entries[i]!);
        const verdict = verifyExport(bad);
        expect(verdict.ok).toBe(false);
        if (!verdict.ok) expect(verdict.problem.index).toBe(i);
      }
    }
  });

  it("detects deleted, reordered and truncated entries, and a rewritten checksum", () => {
    const doc = buildExport("org-a", chain(5), GENESIS_ANCHOR);
    for (let i = 0; i < 5; i++) {
      const bad = clone(doc);
      bad.entries.splice(i, 1);
      expect(verifyExport(bad).ok).toBe(false);
    }
    const swapped = clone(doc);
    [swapped.entries[1], swapped.entries[2]] = [swapped.entries[2]!, swapped.entries[1]!];
    const verdict = verifyExport(swapped);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.problem.index).toBe(1);
    const checksum = clone(doc);
    checksum.checksum = "sha256:" + "0".repeat(64);
    expect(verifyExport(checksum).ok).toBe(false);
  });

  it("verifies a chain that starts at a retention anchor", () => {
    const full = chain(6);
    const anchor = { sequence: full[2]!.seq, hash: full[2]!.hash };
    expect(verifyExport(buildExport("org-a", full.slice(3), anchor)).ok).toBe(true);
    expect(verifyExport(buildExport("org-a", full.slice(4), anchor)).ok).toBe(false);
  });

  it("does not trust an entry without a hash, even when its content was re-hashed into a new export", () => {
    const entries = chain(4);
    const edited = { ...entries[3]!, actor: "mallory@evil.test", hash: "" };
    const verdict = verifyExport(buildExport("org-a", [...entries.slice(0, 3), edited], GENESIS_ANCHOR));
    expect(verdict).toMatchObject({ ok: false, problem: { index: 3, id: edited.id, reason: /no stored hash/ } });
  });

  it("checks the entry at the recorded head against the head ConfigMap's hash, when the export carries it", () => {
    const entries = chain(4);
    const { hash: _old, ...content } = { ...entries[3]!, actor: "mallory@evil.test" };
    const rehashed = [...entries.slice(0, 3), { ...content, hash: computeEntryHash(content) }];
    const recorded = { sequence: 3, hash: entries[3]!.hash };
    // Internally consistent: only the recorded head shows the newest entry was changed.
    expect(verifyExport(buildExport("org-a", rehashed, GENESIS_ANCHOR)).ok).toBe(true);
    const verdict = verifyExport({ ...buildExport("org-a", rehashed, GENESIS_ANCHOR), recorded_head: recorded });
    expect(verdict).toMatchObject({ ok: false, problem: { index: 3, id: entries[3]!.id, reason: /head hash/ } });
    const untouched = buildExport("org-a", entries, GENESIS_ANCHOR);
    expect(verifyExport({ ...untouched, recorded_head: recorded }).ok).toBe(true);
    // A head hint one behind (its update failed) still pins the entry it names; one beyond the export pins nothing.
    expect(verifyExport({ ...untouched, recorded_head: { sequence: 2, hash: entries[2]!.hash } }).ok).toBe(true);
    expect(verifyExport({ ...untouched, recorded_head: { sequence: 2, hash: entries[3]!.hash } }).ok).toBe(false);
    expect(verifyExport({ ...untouched, recorded_head: { sequence: 9, hash: "x" } }).ok).toBe(true);
  });

  it("reports entries removed from the end: a recorded head beyond the newest stored entry, in any range", () => {
    const entries = chain(4);
    const recorded = { sequence: 3, hash: entries[3]!.hash };
    const stored = (k: number): { sequence: number; hash: string } => ({ sequence: k, hash: entries[k]!.hash });
    // the newest entry deleted: the rest chains and checks out on its own
    const trimmed = buildExport("org-a", entries.slice(0, 3), GENESIS_ANCHOR);
    expect(verifyExport(trimmed).ok).toBe(true);
    const verdict = verifyExport({ ...trimmed, recorded_head: recorded, stored_head: stored(2) });
    expect(verdict).toMatchObject({ ok: false, problem: { at: "head", reason: /removed from the end/ } });
    // a range ending before the head, of a chain still whole, is not that
    const early = buildExport("org-a", entries.slice(0, 2), GENESIS_ANCHOR);
    expect(verifyExport({ ...early, recorded_head: recorded, stored_head: stored(3) }).ok).toBe(true);
    // ... and a range of a trimmed chain is
    expect(verifyExport({ ...early, recorded_head: recorded, stored_head: stored(2) }).ok).toBe(false);
    // a head hint one behind (its best-effort update failed) is no sign of deletion
    const full = buildExport("org-a", entries, GENESIS_ANCHOR);
    expect(verifyExport({ ...full, recorded_head: stored(2), stored_head: stored(3) }).ok).toBe(true);
  });

  it("rejects files that are not exports with a reason", () => {
    expect(() => parseAuditExport("{")).toThrow(/not JSON/);
    expect(() => parseAuditExport('{"format":"x"}')).toThrow(/not an audit export/);
  });
});
