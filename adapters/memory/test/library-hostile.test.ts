import { FeatureFlagController } from "@ops/flags";
import { createSignalRecorder, IncidentManager, runAuthOpsSpine } from "@ops/incidents";
import { describeLibraryHostileValues } from "@ops/testkit";
import { memoryStores } from "../src/index.js";

describeLibraryHostileValues({
  name: "memory",
  stores: () => memoryStores(),
  signals: { createSignalRecorder },
  flags: { FeatureFlagController },
  incidents: { IncidentManager, runAuthOpsSpine },
});
