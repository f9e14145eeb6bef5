// `spotctl audit verify` through the real dispatcher: exit 0 on a good export, 1 on tampering, 2 on unreadable input.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildEntry, buildExport, GENESIS_ANCHOR } from "../../../src-shared/audit/chain.js";
import type { AuditRecord } from "../../../src-shared/audit/types.js";
import { runCli } from "../main.js";
import { commands } from "./index.js";

const dir = mkdtempSync(join(tmpdir(), "spotctl-audit-"));

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(args, commands, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

function exportFile(name: string, mutate?: (entries: AuditRecord[]) => void): string {
  const entries: AuditRecord[] = [];
  let prev = GENESIS_ANCHOR;
  for (let i = 0; i < 4; i++) {
    const e = buildEntry({ namespace: "org-a", actor: "a@a.test", event: `e${i}`, resource: "r", outcome: "success", after: { i } }, prev, "2026-01-01T00:00:00.000Z");
    entries.push(e);
    prev = { sequence: e.seq, hash: e.hash };
  }
  const doc = buildExport("org-a", entries, GENESIS_ANCHOR);
  mutate?.(doc.entries);
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(doc));
  return path;
}

describe("spotctl audit verify", () => {
  it("exits 0 for an untouched export", async () => {
    const r = await run("audit", "verify", exportFile("ok.json"));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, entries: 4 });
  });

  it("exits 1 naming the first bad entry when an entry was changed or deleted", async () => {
    const changed = await run("audit", "verify", exportFile("changed.json", (e) => (e[2]!.event = "nothing happened")));
    expect(changed.code).toBe(1);
    expect(JSON.parse(changed.out).first_bad_entry).toEqual({ index: 2, id: "audit-000000000002" });
    const deleted = await run("audit", "verify", exportFile("deleted.json", (e) => e.splice(1, 1)));
    expect(deleted.code).toBe(1);
    expect(JSON.parse(deleted.out).first_bad_entry.index).toBe(1);
  });

  it("exits 1 when the head differs from an independently known one", async () => {
    const r = await run("audit", "verify", exportFile("head.json"), "--head", "0".repeat(64));
    expect(r.code).toBe(1);
  });

  it("exits 2 on unreadable or foreign input", async () => {
    expect((await run("audit", "verify", join(dir, "missing.json"))).code).toBe(2);
    const notJson = join(dir, "bad.json");
    writeFileSync(notJson, "{{{");
    const r = await run("audit", "verify", notJson);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/not JSON/);
    expect((await run("audit", "verify")).code).toBe(2);
    expect((await run("audit", "check")).code).toBe(2);
  });
});
