// The same route with the ready-made handler of @ops/incidents (validation, 400/405/413/415 and
// `tenantFromRequest` included). Kept next to the hand-written version so both stay type-checked; to use
// it, put this line in route.ts instead.
import { createAuthOpsHandler } from "@ops/incidents";

export const POST = createAuthOpsHandler();
