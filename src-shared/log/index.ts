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

/** The process's root logger; level from LOG_LEVEL (default info). */
export function createLogger(component: string, env: NodeJS.ProcessEnv = process.env): Logger {
  return pino({ level: env.LOG_LEVEL ?? "info", base: { component }, redact: REDACTED_PATHS });
}
