import { describe, expect, it } from "vitest";
import { createLogger } from "../../src-shared/log/index.js";
import { facadeLogger } from "./main.js";

/** A stream that keeps the lines written to it, parsed. */
function collector(): { write(line: string): void; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) };
}

const SECRETS = {
  token: "agent-token-value",
  refresh_token: "refresh-value",
  err: { password: "hunter2", access_token: "access-value" },
  req: {
    headers: { authorization: "Bearer jwt-value", cookie: "session=cookie-value" },
    body: {
      new_password: "new-pass-value",
      current_password: "old-pass-value",
      refresh_token: "body-refresh",
      token: "body-token-value",
      client_secret: "client-secret-value",
    },
  },
};

describe("facade logs", () => {
  it("the facade process's logger writes no credential to its destination or to the /admin/logs tap", () => {
    const out = collector();
    const tap = collector();
    facadeLogger("info", out, tap).info(SECRETS, "with secrets");
    for (const sink of [out, tap]) {
      expect(sink.lines).toHaveLength(1);
      const text = JSON.stringify(sink.lines[0]);
      expect(text).toContain("with secrets");
      expect(text).not.toMatch(/value|hunter2|Bearer/);
    }
  });

  it("local mode's facade logger (createLogger with a tap) redacts the same", () => {
    const tap = collector();
    createLogger("facade", { LOG_LEVEL: "info" }, tap).info(SECRETS, "with secrets");
    expect(tap.lines).toHaveLength(1);
    expect(JSON.stringify(tap.lines[0])).not.toMatch(/value|hunter2|Bearer/);
  });
});
