import type { JsonValue } from "@ops/core";
import type { BucketingOptions } from "../bucketing/bucketers.js";
import type { Condition } from "../config.js";
import type { EvaluationReason } from "../types.js";

/** A result the server decided, or one slot of a rollout, exactly as the server would return it. */
export interface ClientResult {
  value: JsonValue;
  variant: string | null;
  reason: EvaluationReason;
  ruleId: string | null;
  /** With reason PREREQUISITE_FAILED: the prerequisite that failed. */
  prerequisiteKey?: string;
}

/** A rollout the client buckets itself, with the server's bucketing options. */
export interface ClientRollout {
  /** The unit attribute; null means `userId`, else `targetingKey`. */
  by: string | null;
  /** False: a single percentage (slot 0 = included); true: a weighted split. */
  isSplit: boolean;
  weights: number[];
  bucketing: BucketingOptions;
  /** One result per weight. */
  outcomes: ClientResult[];
}

/** A rule left for the client: conditions on client attributes only, then a result or a rollout. */
export interface ClientRule {
  id: string;
  when: Condition[];
  serve: ClientResult | null;
  rollout: ClientRollout | null;
}

/**
 * One flag as the client evaluates it: `fixed` when the server decided it for this context (kill
 * switch, tenant override, targeting on private attributes...), else rules, rollout, fallback.
 */
export interface ClientFlag {
  fixed?: ClientResult;
  rules?: ClientRule[];
  rollout?: ClientRollout | null;
  fallback?: ClientResult;
  /**
   * `fixed` is a kill-switched flag's (or a failed prerequisite's) stand-in (no `offValue` / `offVariant`): the client serves the
   * caller's default instead, when one is given, as the server does.
   */
  callerDefault?: true;
}

/** What `buildClientPayload` makes for one tenant + user context. */
export interface ClientPayload {
  /** Payload format version. */
  v: 1;
  env: string;
  /** Who it was built for: the client refuses to evaluate for anyone else. */
  subject: { tenantId: string | null; unit: string | null };
  /** The context with private attributes removed and only the attributes rules still need. */
  context: Record<string, JsonValue>;
  /** Attributes the client may set at evaluation time (page, device...); every other one is fixed. */
  clientAttributes: string[];
  flags: Record<string, ClientFlag>;
  /** ISO times: when it was built and until when the client may use it. */
  issuedAt: string;
  expiresAt: string;
}

/** The signed form sent over the wire: `payload` is the JSON text the signature covers. */
export interface SignedClientPayload {
  alg: "Ed25519";
  keyId: string;
  payload: string;
  /** base64url Ed25519 signature of the UTF-8 bytes of `payload`. */
  signature: string;
}
