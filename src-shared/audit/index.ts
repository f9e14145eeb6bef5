// Audit chain API for the facade and controllers: `createAuditChainStore({ client }).record({...})` appends an entry.
export * from "./types.js";
export * from "./chain.js";
export * from "./csv.js";
export {
  createAuditChainStore,
  recordFromObject,
  AUDIT_HEAD_CONFIGMAP,
  AUDIT_HEAD_LABEL,
  AUDIT_HASH_ANNOTATION,
  AUDIT_RETENTION_ANNOTATION,
  type RetentionPolicy,
  type AuditChainStore,
  type ChainHeadState,
  type AuditWriterOptions,
  type StoredChain,
} from "./writer.js";
