import type * as z from "zod";

/** Stable machine-readable error codes. Never renamed: apps switch on them. */
export type OpsErrorCode =
  | "VALIDATION"
  | "NOT_FOUND"
  | "CONFLICT"
  | "TENANT_ISOLATION"
  | "UNAVAILABLE"
  | "UNSUPPORTED"
  | "INTEGRITY"
  | "CONFIG"
  /** A change needs another principal's approval under the environment's policy (@ops/flags change requests). */
  | "APPROVAL_REQUIRED"
  /** A bounded buffer is full: nothing was taken; retry after `retryAfterMs`. */
  | "OVERLOADED";

export interface OpsErrorOptions {
  cause?: unknown;
}

/**
 * Base class of every error @ops throws on purpose. `code` is stable; `message` starts with
 * `[ops/<package>]` and names the field or key involved.
 */
export class OpsError extends Error {
  readonly code: OpsErrorCode;
  /** True when the same call may succeed later (a lost connection, a lost race). */
  readonly retryable: boolean;

  constructor(code: OpsErrorCode, message: string, options: OpsErrorOptions & { retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** One problem found in an input: where (`path`, dotted) and what was expected. */
export interface ValidationIssue {
  path: string;
  message: string;
}

export class ValidationError extends OpsError {
  readonly issues: readonly ValidationIssue[];
  constructor(
    message: string,
    issues: readonly ValidationIssue[] = [],
    options: OpsErrorOptions & { code?: "VALIDATION" | "CONFIG" } = {},
  ) {
    super(options.code ?? "VALIDATION", message, options);
    this.issues = issues;
  }
}

export class NotFoundError extends OpsError {
  constructor(message: string, options: OpsErrorOptions = {}) {
    super("NOT_FOUND", message, options);
  }
}

/**
 * A compare-and-set lost (someone else wrote first: re-read and retry, `retryable: true`), or a
 * record with the same id or key already exists (`retryable: false`: the same call fails the same
 * way every time). Which one is told by `options.retryable` or, when not given, by the message: a
 * message saying "already exists" is a duplicate.
 */
export class ConflictError extends OpsError {
  constructor(message: string, options: OpsErrorOptions & { retryable?: boolean } = {}) {
    super("CONFLICT", message, { ...options, retryable: options.retryable ?? !/\balready exists\b/i.test(message) });
  }
}

/** A call tried to reach data of a tenant other than the current one, or ran with no tenant. */
export class TenantIsolationError extends OpsError {
  constructor(message: string, options: OpsErrorOptions = {}) {
    super("TENANT_ISOLATION", message, options);
  }
}

/** The backend is unreachable or closed. Retryable: state was not changed, or the change is unknown. */
export class UnavailableError extends OpsError {
  constructor(message: string, options: OpsErrorOptions = {}) {
    super("UNAVAILABLE", message, { ...options, retryable: true });
  }
}

/** The adapter lacks a capability the call needs (see `StoreCapabilities`). */
export class UnsupportedError extends OpsError {
  constructor(message: string, options: OpsErrorOptions = {}) {
    super("UNSUPPORTED", message, options);
  }
}

/** Stored data failed an integrity check (a broken hash chain, a bad signature). */
export class IntegrityError extends OpsError {
  constructor(message: string, options: OpsErrorOptions = {}) {
    super("INTEGRITY", message, options);
  }
}

/**
 * A bounded buffer (the signal recorder's) is full. Nothing was recorded or changed: the caller
 * keeps the input and retries after `retryAfterMs` (HTTP: 503 with `Retry-After`). Retryable.
 */
export class OverloadedError extends OpsError {
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number, options: OpsErrorOptions = {}) {
    super("OVERLOADED", message, { ...options, retryable: true });
    this.retryAfterMs = retryAfterMs;
  }
}

/** The environment or options given at start-up are wrong. */
export class ConfigError extends ValidationError {
  constructor(message: string, issues: readonly ValidationIssue[] = [], options: OpsErrorOptions = {}) {
    super(message, issues, { ...options, code: "CONFIG" });
  }
}

export function isOpsError(err: unknown): err is OpsError {
  return err instanceof OpsError;
}

/** Formats a zod path as `a.b[0].c`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

export function issuesFromZod(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
}

/**
 * Parses `input` with `schema`; on failure throws a `ValidationError` whose message starts with
 * `[ops/<pkg>] invalid <what>:` and lists every field and what was expected.
 * @throws ValidationError
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, where: { pkg: string; what: string }): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = issuesFromZod(result.error);
  throw new ValidationError(
    `[ops/${where.pkg}] invalid ${where.what}: ${issues.map((i) => `${i.path || "(input)"}: ${i.message}`).join("; ")}`,
    issues,
    { cause: result.error },
  );
}
