import { badInput } from "./errors";
import { creditsForMonth, monthOf, nextMonth, type MonthCredits } from "../../protocol/credits";
import { loadCreditHistories, parseMonth } from "./credits";
import { parseAddress, type ApiContext, type SchemaPart } from "./schemaCore";

/** Most months one `serviceCreditMonths` answer holds. */
const MAX_MONTHS = 120;

function withAccount(account: string, m: MonthCredits) {
  return { account, ...m };
}

/** Service credits per account and UTC month, and the tier they give. */
export const creditsSchema: SchemaPart = {
  typeDefs: /* GraphQL */ `
    """
    An account's service credits for a UTC calendar month (docs/spec.md §4): Σ stake × creditsPerFlkMonth ×
    seconds / (seconds in the month × 1e18), rounded down once, each stake change and rate change
    applying from its block's time. For a constant rate that is the time-weighted average stake ×
    rate / 1e18.
    """
    type ServiceCredits {
      account: String!
      "YYYY-MM"
      month: String!
      "Credits with 18 decimals (1e18 = one credit). The running month counts up to the latest indexed block."
      credits: BigInt!
      "Time-weighted average stake over the month (over its elapsed part while it runs)."
      averageStake: BigInt!
      "How many ServiceCredits tier thresholds (as set at the month's end) the average stake reaches."
      tier: Int!
      stakeAtEnd: BigInt!
      "Whether the month is over at the latest indexed block."
      complete: Boolean!
    }

    extend type Query {
      "Credits of \`account\` for \`month\` (YYYY-MM, UTC; not after the latest indexed block's month)."
      serviceCredits(account: String!, month: String!): ServiceCredits!
      "Credits of \`account\` per month from \`from\` (default: its first stake's month) to \`to\` (default and latest: the current month), at most 120 months."
      serviceCreditMonths(account: String!, from: String, to: String): [ServiceCredits!]!
    }
  `,
  resolvers: {
    Query: {
      serviceCredits: async (_: unknown, args: { account: string; month: string }, ctx: ApiContext) => {
        const account = parseAddress(args.account, "account");
        const month = parseMonth(args.month);
        const now = await ctx.now();
        if (month.start > now) throw badInput(`month ${args.month} has not started at the latest indexed block (${monthOf(now).label})`);
        const h = await loadCreditHistories(ctx.db, account);
        return withAccount(account, creditsForMonth(month, now, h.stakes, h.rates, h.tiers));
      },
      serviceCreditMonths: async (_: unknown, args: { account: string; from?: string; to?: string }, ctx: ApiContext) => {
        const account = parseAddress(args.account, "account");
        const now = await ctx.now();
        const current = monthOf(now);
        const to = args.to ? parseMonth(args.to, "to") : current;
        if (to.start > now) throw badInput(`to ${to.label} has not started at the latest indexed block (${current.label})`);
        const h = await loadCreditHistories(ctx.db, account);
        if (!args.from && h.stakes.length === 0) return [];
        let month = args.from ? parseMonth(args.from, "from") : monthOf(h.stakes[0].timestamp);
        const out = [];
        while (month.start <= to.start) {
          if (out.length === MAX_MONTHS) throw badInput(`at most ${MAX_MONTHS} months per query: narrow from/to`);
          out.push(withAccount(account, creditsForMonth(month, now, h.stakes, h.rates, h.tiers)));
          month = nextMonth(month);
        }
        return out;
      },
    },
  },
};
