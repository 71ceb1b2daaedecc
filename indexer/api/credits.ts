import type { Kysely } from "kysely";
import type { Database } from "../derive";
import { utcMonth, type Month } from "../../protocol/credits";
import { badInput } from "./errors";

/** Parses a "YYYY-MM" (UTC) query argument; anything else is BAD_USER_INPUT. */
export function parseMonth(label: string, argument = "month"): Month {
  const month = utcMonth(label);
  if (!month) throw badInput(`${argument} must be a UTC month as YYYY-MM (got ${JSON.stringify(label)})`);
  return month;
}

/** Loads the histories credits need: the account's stakes, every rate and tier schedule, in order. */
export async function loadCreditHistories(db: Kysely<Database>, account: string) {
  const [stakes, rates, tiers] = await Promise.all([
    db.selectFrom("credit_stakes").selectAll().where("account", "=", account).orderBy(["blockNumber", "logIndex"]).execute(),
    db.selectFrom("credit_rates").selectAll().orderBy(["blockNumber", "logIndex"]).execute(),
    db.selectFrom("credit_tiers").selectAll().orderBy(["blockNumber", "logIndex"]).execute(),
  ]);
  return {
    stakes: stakes.map((r) => ({ timestamp: r.timestamp, value: BigInt(r.stake) })),
    rates: rates.map((r) => ({ timestamp: r.timestamp, value: BigInt(r.rate) })),
    tiers: tiers.map((r) => ({ timestamp: r.timestamp, value: r.thresholds.map(BigInt) })),
  };
}
