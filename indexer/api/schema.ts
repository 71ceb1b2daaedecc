import { createSchema } from "graphql-yoga";
import { coreSchema, type ApiContext, type SchemaPart } from "./schemaCore";
import { agentsSchema } from "./schemaAgents";
import { buybackSchema } from "./schemaBuyback";
import { creatorSchema } from "./schemaCreator";
import { creditsSchema } from "./schemaCredits";
import { emissionSchema } from "./schemaEmission";
import { escrowSchema } from "./schemaEscrow";
import { functionsSchema } from "./schemaFunctions";
import { governanceSchema } from "./schemaGovernance";
import { governanceTimelineSchema } from "./schemaGovernanceTimeline";
import { registrySchema } from "./schemaRegistry";
import { serviceChargesSchema } from "./schemaServiceCharges";
import { stakingSchema } from "./schemaStaking";
import { stakingRewardsSchema } from "./schemaStakingRewards";
import { stakingRewardPaymentsSchema } from "./schemaStakingRewardPayments";
import { tokenSchema } from "./schemaToken";
import { tokenCallsSchema } from "./schemaTokenCalls";
import { vestingSchema } from "./schemaVesting";

/** Every schema part; a new area appends its own. */
export const schemaParts: readonly SchemaPart[] = [
  coreSchema,
  tokenSchema,
  vestingSchema,
  emissionSchema,
  stakingSchema,
  governanceSchema,
  creatorSchema,
  buybackSchema,
  registrySchema,
  escrowSchema,
  creditsSchema,
  stakingRewardsSchema,
  governanceTimelineSchema,
  stakingRewardPaymentsSchema,
  functionsSchema,
  serviceChargesSchema,
  agentsSchema,
  tokenCallsSchema,
];

/** The executable schema of the whole API. */
export function buildSchema() {
  return createSchema<ApiContext>({
    typeDefs: schemaParts.map((p) => p.typeDefs),
    resolvers: schemaParts.map((p) => p.resolvers) as never,
  });
}
