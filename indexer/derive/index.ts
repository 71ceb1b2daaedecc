import type { IndexerModule } from "../module";
import { creditsModule } from "./credits";
import { emissionModule } from "./emission";
import { governanceModule } from "./governance";
import { registryModule } from "./registry";
import { stakingModule } from "./staking";
import { tokenModule } from "./token";
import { vestingModule } from "./vesting";

/** Every derivation module, in the order their handlers run for a shared event. */
export const allModules: readonly IndexerModule[] = [tokenModule, vestingModule, emissionModule, stakingModule, governanceModule, registryModule, creditsModule];
