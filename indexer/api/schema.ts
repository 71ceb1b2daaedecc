import { createSchema } from "graphql-yoga";
import { coreSchema, type ApiContext, type SchemaPart } from "./schema-core";
import { creditsSchema } from "./schema-credits";
import { emissionSchema } from "./schema-emission";
import { governanceSchema } from "./schema-governance";
import { registrySchema } from "./schema-registry";
import { stakingSchema } from "./schema-staking";
import { tokenSchema } from "./schema-token";
import { vestingSchema } from "./schema-vesting";

/** Every schema part; a new area appends its own. */
export const schemaParts: readonly SchemaPart[] = [coreSchema, tokenSchema, vestingSchema, emissionSchema, stakingSchema, governanceSchema, registrySchema, creditsSchema];

/** The executable schema of the whole API. */
export function buildSchema() {
  return createSchema<ApiContext>({
    typeDefs: schemaParts.map((p) => p.typeDefs),
    resolvers: schemaParts.map((p) => p.resolvers) as never,
  });
}
