import { describe, expect, it } from "vitest";
import { LogTap, logRecordOf } from "./log-tap.js";

describe("LogTap", () => {
  it("turns pino lines into records: level names, the error's message but no stack, nothing else", () => {
    const line = JSON.stringify({
      level: 50,
      time: Date.parse("2026-12-05T10:00:00Z"),
      component: "facade",
      msg: "Request failed",
      err: { message: "boom", stack: "Error: boom\n    at secret.ts:1" },
      password: "hunter2",
    });
    expect(logRecordOf(line)).toEqual({
      timestamp: "2026-12-05T10:00:00.000Z",
      level: "ERROR",
      component: "facade",
      message: "Request failed: boom",
    });
    const access = {
      level: 40,
      msg: "request completed",
      req: { method: "GET", url: "/nope", headers: { a: 1 } },
      res: { statusCode: 404 },
    };
    expect(logRecordOf(JSON.stringify(access))?.message).toBe("request completed GET /nope 404");
    expect(logRecordOf("not json")).toBeUndefined();
    expect(logRecordOf("[1,2]")).toBeUndefined();
  });

  it("keeps the last lines only and tells each subscriber of each new one, until it unsubscribes", () => {
    const tap = new LogTap(2);
    const heard: string[] = [];
    const stop = tap.subscribe((r) => heard.push(r.message));
    tap.write(['{"level":30,"msg":"a"}', '{"level":30,"msg":"b"}', "garbage", '{"level":40,"msg":"c"}', ""].join("\n"));
    expect(heard).toEqual(["a", "b", "c"]);
    expect(tap.recentRecords().map((r) => r.message)).toEqual(["b", "c"]);
    stop();
    tap.write('{"level":30,"msg":"d"}\n');
    expect(heard).toEqual(["a", "b", "c"]);
  });
});
