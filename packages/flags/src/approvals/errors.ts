import { OpsError, type OpsErrorOptions } from "@ops/core";

/**
 * The environment requires approval for this change (`requireApproval`), or the approver is the
 * change's author. Nothing was written. Code `APPROVAL_REQUIRED`.
 */
export class ApprovalRequiredError extends OpsError {
  constructor(message: string, options: OpsErrorOptions = {}) {
    super("APPROVAL_REQUIRED", message, options);
  }
}
