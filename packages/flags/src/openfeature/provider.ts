import {
  ErrorCode,
  OpenFeatureEventEmitter,
  ProviderEvents,
  StandardResolutionReasons,
  type EvaluationContext as OFContext,
  type JsonValue as OFJsonValue,
  type Provider,
  type ResolutionDetails,
} from "@openfeature/server-sdk";
import type { JsonValue } from "@ops/core";
import type { FeatureFlagController } from "../controller.js";
import type { EvaluationContext, EvaluationDetails } from "../types.js";

export interface OpsFlagsProviderOptions {
  /** The context attribute holding the tenant id (default "tenantId"). */
  tenantAttribute?: string;
}

const ERROR_CODES: Record<string, ErrorCode> = {
  FLAG_NOT_FOUND: ErrorCode.FLAG_NOT_FOUND,
  TYPE_MISMATCH: ErrorCode.TYPE_MISMATCH,
  PARSE_ERROR: ErrorCode.PARSE_ERROR,
  PROVIDER_NOT_READY: ErrorCode.PROVIDER_NOT_READY,
  GENERAL: ErrorCode.GENERAL,
};

type Kind = "boolean" | "string" | "number" | "object";

/**
 * An OpenFeature server provider backed by a `FeatureFlagController`. `targetingKey` is the
 * bucketing unit when the context has no `userId`; the tenant comes from `tenantAttribute`.
 * Reasons are OpenFeature's; a tenant override is TARGETING_MATCH with
 * `flagMetadata.opsReason = "TENANT_OVERRIDE"`. Errors resolve to the caller's default with an
 * OpenFeature error code, never a throw.
 */
export class OpsFlagsProvider implements Provider {
  readonly metadata = { name: "@ops/flags" } as const;
  readonly runsOn = "server" as const;
  readonly events = new OpenFeatureEventEmitter();
  private readonly tenantAttribute: string;
  private stopWatching: (() => void) | null = null;
  private stopStatus: (() => void) | null = null;

  constructor(
    private readonly controller: FeatureFlagController,
    options: OpsFlagsProviderOptions = {},
  ) {
    this.tenantAttribute = options.tenantAttribute ?? "tenantId";
  }

  /**
   * Waits for the controller's first load. Rejects (the SDK then reports PROVIDER_ERROR) when it
   * failed: the store was unreachable or did not answer within `startTimeoutMs`. Afterwards the
   * controller's status drives the events: PROVIDER_STALE when the store is lost after READY,
   * PROVIDER_READY when it is back (or when a failed start recovers), PROVIDER_CONFIGURATION_CHANGED
   * with the changed keys.
   */
  async initialize(): Promise<void> {
    this.stopWatching ??= this.controller.watch((keys) => {
      this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: [...keys] });
    });
    let settled = false;
    this.stopStatus ??= this.controller.onStatus((status, error) => {
      // Until initialize settles, the SDK reports its outcome itself.
      if (!settled) return;
      if (status === "READY") this.events.emit(ProviderEvents.Ready);
      else if (status === "STALE")
        this.events.emit(ProviderEvents.Stale, {
          message: messageOf(error, "the flag store is unreachable; serving the last known flags"),
        });
      else if (status === "ERROR") this.events.emit(ProviderEvents.Error, { message: messageOf(error, "the first load of flags failed") });
    });
    await this.controller.ready().finally(() => void (settled = true));
    if (this.controller.status !== "READY")
      throw new Error(`[ops/flags] provider not ready: ${messageOf(this.controller.lastLoadError, "the first load of flags failed")}`);
  }

  async onClose(): Promise<void> {
    this.stopWatching?.();
    this.stopWatching = null;
    this.stopStatus?.();
    this.stopStatus = null;
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: OFContext): Promise<ResolutionDetails<boolean>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context, "boolean"));
  }

  resolveStringEvaluation(flagKey: string, defaultValue: string, context: OFContext): Promise<ResolutionDetails<string>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context, "string"));
  }

  resolveNumberEvaluation(flagKey: string, defaultValue: number, context: OFContext): Promise<ResolutionDetails<number>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context, "number"));
  }

  resolveObjectEvaluation<T extends OFJsonValue>(flagKey: string, defaultValue: T, context: OFContext): Promise<ResolutionDetails<T>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context, "object"));
  }

  private context(context: OFContext): EvaluationContext {
    if (this.tenantAttribute === "tenantId") return context as EvaluationContext;
    const tenant = context[this.tenantAttribute];
    return { ...context, tenantId: typeof tenant === "string" ? tenant : null } as EvaluationContext;
  }

  private resolve<T>(flagKey: string, defaultValue: T, context: OFContext, kind: Kind): ResolutionDetails<T> {
    const d: EvaluationDetails = this.controller.evaluate(flagKey, this.context(context), defaultValue as JsonValue);
    if (d.reason === "ERROR")
      return {
        value: defaultValue,
        reason: StandardResolutionReasons.ERROR,
        errorCode: ERROR_CODES[d.errorCode ?? "GENERAL"] ?? ErrorCode.GENERAL,
        ...(d.errorMessage ? { errorMessage: d.errorMessage } : {}),
      };
    if (!matches(d.value, kind))
      return {
        value: defaultValue,
        reason: StandardResolutionReasons.ERROR,
        errorCode: ErrorCode.TYPE_MISMATCH,
        errorMessage: `flag "${flagKey}" is not a ${kind}`,
      };
    const reason = d.reason === "TENANT_OVERRIDE" ? StandardResolutionReasons.TARGETING_MATCH : d.reason;
    const flagMetadata: Record<string, string> = {};
    if (d.ruleId) flagMetadata.ruleId = d.ruleId;
    if (d.reason === "TENANT_OVERRIDE") flagMetadata.opsReason = "TENANT_OVERRIDE";
    return {
      value: d.value as T,
      reason,
      ...(d.variant ? { variant: d.variant } : {}),
      ...(Object.keys(flagMetadata).length > 0 ? { flagMetadata } : {}),
    };
  }
}

function messageOf(err: unknown, fallback: string): string {
  return err instanceof Error ? err.message : fallback;
}

function matches(v: JsonValue, kind: Kind): boolean {
  if (kind === "object") return v !== null && typeof v === "object";
  return typeof v === kind;
}
