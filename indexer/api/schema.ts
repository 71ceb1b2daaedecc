import { createSchema } from "graphql-yoga";
import { coreSchema, type ApiContext, type SchemaPart } from "./schema-core";
import { buybackSchema } from "./schema-buyback";
import { creatorSchema } from "./schema-creator";
import { creditsSchema } from "./schema-credits";
import { emissionSchema } from "./schema-emission";
import { escrowSchema } from "./schema-escrow";
import { functionsSchema } from "./schema-functions";
import { governanceSchema } from "./schema-governance";
import { governanceTimelineSchema } from "./schema-governance-timeline";
import { registrySchema } from "./schema-registry";
import { stakingSchema } from "./schema-staking";
import { stakingRewardsSchema } from "./schema-staking-rewards";
import { stakingRewardPaymentsSchema } from "./schema-staking-reward-payments";
import { tokenSchema } from "./schema-token";
import { vestingSchema } from "./schema-vesting";

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
];

/** The executable schema of the whole API. */
export function buildSchema() {
  return createSchema<ApiContext>({
    typeDefs: schemaParts.map((p) => p.typeDefs),
    resolvers: schemaParts.map((p) => p.resolvers) as never,
  });
}
