export { FlagsClient, type FlagsClientOptions } from "./client.js";
export type { CryptoKeyLike } from "./crypto-key.js";
export { verifyClientPayload, importPublicKey, PayloadError, type VerifyOptions } from "./verify.js";
export { compileClientFlag, resolveClientFlag, type CompiledClientFlag } from "./evaluate.js";
export type { ClientPayload, ClientFlag, ClientRule, ClientRollout, ClientResult, SignedClientPayload } from "./payload.js";
export type { EvaluationContext, EvaluationDetails, EvaluationReason } from "../types.js";
