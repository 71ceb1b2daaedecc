import type { IndexerModule } from "../module";
import type * as coreTables from "../store/coreTables";
import type { DatabaseOf, TablesIn } from "../store/tables";
import type * as children from "../sync/children";
import type * as agents from "./agents";
import type * as buyback from "./buyback";
import type * as creator from "./creator";
import type * as credits from "./credits";
import type * as emission from "./emission";
import type * as escrow from "./escrow";
import type * as functions from "./functions";
import type * as governance from "./governance";
import type * as governanceTimeline from "./governanceTimeline";
import type * as registry from "./registry";
import type * as registryRewards from "./registryRewards";
import type * as serviceCharges from "./serviceCharges";
import type * as staking from "./staking";
import type * as stakingRewards from "./stakingRewards";
import type * as stakingRewardPayments from "./stakingRewardPayments";
import type * as supply from "./supply";
import type * as token from "./token";
import type * as tokenCalls from "./tokenCalls";
import type * as vesting from "./vesting";
import { agentsModule } from "./agents";
import { buybackModule } from "./buyback";
import { creatorModule } from "./creator";
import { creditsModule } from "./credits";
import { emissionModule } from "./emission";
import { escrowModule } from "./escrow";
import { functionsModule } from "./functions";
import { governanceModule } from "./governance";
import { governanceTimelineModule } from "./governanceTimeline";
import { registryModule } from "./registry";
import { serviceChargesModule } from "./serviceCharges";
import { stakingModule } from "./staking";
import { stakingRewardsModule } from "./stakingRewards";
import { stakingRewardPaymentsModule } from "./stakingRewardPayments";
import { tokenModule } from "./token";
import { tokenCallsModule } from "./tokenCalls";
import { vestingModule } from "./vesting";

/** Every derivation module, in the order their handlers run for a shared event. */
export const allModules: readonly IndexerModule[] = [
  tokenModule,
  vestingModule,
  emissionModule,
  stakingModule,
  governanceModule,
  creatorModule,
  buybackModule,
  registryModule,
  escrowModule,
  creditsModule,
  stakingRewardsModule,
  governanceTimelineModule,
  stakingRewardPaymentsModule,
  functionsModule,
  serviceChargesModule,
  agentsModule,
  tokenCallsModule,
];

/**
 * Every derived and engine table as queries return its rows: the API's `Kysely<Database>` checks
 * table and column names against the declarations (a new module file adds its `typeof` here).
 */
export type Database = DatabaseOf<
  | TablesIn<typeof agents>
  | TablesIn<typeof buyback>
  | TablesIn<typeof creator>
  | TablesIn<typeof credits>
  | TablesIn<typeof emission>
  | TablesIn<typeof escrow>
  | TablesIn<typeof functions>
  | TablesIn<typeof governance>
  | TablesIn<typeof governanceTimeline>
  | TablesIn<typeof registry>
  | TablesIn<typeof registryRewards>
  | TablesIn<typeof serviceCharges>
  | TablesIn<typeof staking>
  | TablesIn<typeof stakingRewards>
  | TablesIn<typeof stakingRewardPayments>
  | TablesIn<typeof supply>
  | TablesIn<typeof token>
  | TablesIn<typeof tokenCalls>
  | TablesIn<typeof vesting>
  | TablesIn<typeof coreTables>
  | TablesIn<typeof children>
>;
