export { OpsFlagsProvider, type OpsFlagsProviderOptions } from "./provider.js";
