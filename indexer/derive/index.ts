import type { IndexerModule } from "../module";
import { buybackModule } from "./buyback";
import { creatorModule } from "./creator";
import { emissionModule } from "./emission";
import { governanceModule } from "./governance";
import { stakingModule } from "./staking";
import { tokenModule } from "./token";
import { vestingModule } from "./vesting";

/** Every derivation module, in the order their handlers run for a shared event. */
export const allModules: readonly IndexerModule[] = [tokenModule, vestingModule, emissionModule, stakingModule, governanceModule, creatorModule, buybackModule];
