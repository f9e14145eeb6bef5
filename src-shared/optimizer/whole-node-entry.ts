// The whole-node MILP's worker thread (whole-node-job.ts): solves the one request it is sent, on the caller's compiled
// HiGHS.
import { parentPort } from "node:worker_threads";
import { getHighs } from "./colgen.js";
import { solveWholeNode, type WholeNodeRequest } from "./whole-node-job.js";

parentPort?.once("message", ({ request, wasm }: { request: WholeNodeRequest; wasm: WebAssembly.Module }) => {
  getHighs(wasm).then(
    (highs) => parentPort?.postMessage(solveWholeNode(highs, request)),
    (err: unknown) => parentPort?.postMessage({ error: err instanceof Error ? err.message : String(err) }),
  );
});
