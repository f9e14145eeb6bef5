// The optimizer's worker thread: plans one input per message, so a long plan never stalls its caller's event loop.
import { parentPort } from "node:worker_threads";
import { optimize, type OptimizeInput } from "./optimize.js";

interface Request {
  id: number;
  input: OptimizeInput;
  /** The policy's type filter as the names it allows (see in-worker.ts). */
  allowedTypes?: string[];
}

function withFilter(request: Request): OptimizeInput {
  if (!request.allowedTypes) return request.input;
  const allowed = new Set(request.allowedTypes);
  return { ...request.input, policy: { ...request.input.policy, allowType: (shape) => allowed.has(shape.name) } };
}

parentPort?.on("message", (message: Request) => {
  optimize(withFilter(message)).then(
    (result) => parentPort?.postMessage({ id: message.id, result }),
    (err: unknown) =>
      parentPort?.postMessage({
        id: message.id,
        error: {
          name: err instanceof Error ? err.name : "Error",
          message: err instanceof Error ? err.message : String(err),
        },
      }),
  );
});
