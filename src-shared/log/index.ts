// JSON logging for every process (pino): one root logger per process, child loggers per component.
import { pino, type Logger } from "pino";

/** Paths redacted from every log line: credentials never reach the logs. */
export const REDACTED_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "password",
  "*.password",
  "token",
  "*.token",
  "refresh_token",
  "access_token",
];

/** The process's root logger; level from LOG_LEVEL (default info); with `tap`, every line also goes there. */
export function createLogger(
  component: string,
  env: NodeJS.ProcessEnv = process.env,
  tap?: { write(line: string): void },
): Logger {
  const level = env.LOG_LEVEL ?? "info";
  const options = { level, base: { component }, redact: REDACTED_PATHS };
  if (!tap) return pino(options);
  return pino(
    options,
    pino.multistream([
      { level, stream: process.stdout },
      { level, stream: tap },
    ]),
  );
}
