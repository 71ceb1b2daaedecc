import { expect } from "chai";
import hre from "hardhat";
import { sql, type Kysely } from "kysely";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { ZeroAddress } from "ethers";
import { supplyAt } from "../../indexer/api/supply";
import { potPrice } from "../../protocol/buyback";
import { startApiServer, type ApiServer } from "../../indexer/api/server";
import type { IndexerDatabase } from "../../indexer/store/database";
import { creatorActivity, type CreatorSuite } from "./creatorActivity";
import { dropTestDatabases, newEngine, testBackends } from "./helpers";

async function gql(api: ApiServer, query: string, variables?: Record<string, unknown>) {
  const res = await fetch(`${api.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
}

function codes(result: { errors?: { extensions?: { code?: string } }[] }) {
  return (result.errors ?? []).map((e) => e.extensions?.code);
}

/** Every page of a connection, `first` at a time. */
async function allPages(api: ApiServer, field: (after: string | null) => string, pick: (data: any) => any): Promise<any[]> {
  const out: any[] = [];
  let after: string | null = null;
  do {
    const result = await gql(api, field(after));
    expect(result.errors, JSON.stringify(result.errors)).to.equal(undefined);
    const page = pick(result.data);
    out.push(...page.nodes);
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
  } while (after);
  return out;
}

/** The latest value of a supply component at or before block `n` (0 before its first row). */
async function componentAt(db: Kysely<any>, component: string, n: number): Promise<bigint> {
  const { rows } = await sql<{ amount: string }>`
    SELECT amount FROM supply_components WHERE component = ${component} AND block_number <= ${n}
    ORDER BY block_number DESC LIMIT 1`.execute(db);
  return rows.length ? BigInt(rows[0].amount) : 0n;
}

describe("indexer creator-token and buyback areas match the contracts to the wei", function () {
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    describe(name, function () {
      let s: CreatorSuite;
      let database: IndexerDatabase;
      let api: ApiServer;
      let db: Kysely<any>;
      let market: string;

      before(async function () {
        const backend = (await testBackends()).find((b) => b.name === name)!;
        if (!backend.fresh) return this.skip();
        s = await loadFixture(creatorActivity);
        database = await backend.fresh();
        db = database.db;
        await (await newEngine(database, s)).syncToHead();
        api = await startApiServer({ database, port: 0 });
        market = await s.creatorMarket.getAddress();
      });
      after(async () => {
        await api?.close();
        await database?.close();
      });

      it("tokens: supply, reserve, price, fees, name and address equal the market's views", async () => {
        const rows = await db.selectFrom("creator_tokens").selectAll().orderBy("idx").execute();
        expect(rows.map((r) => r.creator)).to.deep.equal(s.creators);
        for (const r of rows) {
          const token = await hre.ethers.getContractAt("CreatorToken", r.token);
          expect(r.token).to.equal(await s.creatorMarket.tokenOf(r.creator));
          expect(BigInt(r.supply))
            .to.equal(await s.creatorMarket.supplyOf(r.creator))
            .and.to.equal(await token.totalSupply());
          expect(BigInt(r.reserve)).to.equal(await s.creatorMarket.reserveOf(r.creator));
          expect(BigInt(r.price)).to.equal(await s.creatorMarket.spotPrice(r.creator));
          expect(BigInt(r.creator_fees_accrued) - BigInt(r.creator_fees_claimed)).to.equal(await s.creatorMarket.creatorFeesOf(r.creator));
          expect([r.name, r.symbol]).to.deep.equal([await token.name(), await token.symbol()]);
          // Volumes: the curve amounts the market quoted just before each trade.
          const mine = s.trades.filter((t) => t.creator === r.creator);
          const sum = (side: string) => mine.filter((t) => t.side === side).reduce((acc, t) => acc + t.curve, 0n);
          expect([BigInt(r.buy_volume), BigInt(r.sell_volume), BigInt(r.volume)]).to.deep.equal([sum("BUY"), sum("SELL"), sum("BUY") + sum("SELL")]);
          expect([r.buys, r.sells]).to.deep.equal([mine.filter((t) => t.side === "BUY").length, mine.filter((t) => t.side === "SELL").length]);
        }
        // The creator that claimed: claimed fees equal its FLK gain from the claim.
        const x = rows[0];
        expect(BigInt(x.creator_fees_claimed)).to.be.greaterThan(0n);
        const [claim] = await s.creatorMarket.queryFilter(s.creatorMarket.filters.CreatorFeesClaimed());
        const flkBefore = await s.flk.balanceOf(x.creator, { blockTag: claim.blockNumber - 1 });
        const flkAfter = await s.flk.balanceOf(x.creator, { blockTag: claim.blockNumber });
        expect(BigInt(x.creator_fees_claimed)).to.equal(flkAfter - flkBefore);
        // The second token was sold back to zero and bought again.
        expect(BigInt(rows[1].supply)).to.equal(2n * 10n ** 18n);
      });

      it("holders and balances equal balanceOf for every account, transfers between holders included", async () => {
        const candidates = [...(await hre.ethers.getSigners()).map((x) => x.address), market];
        for (const t of await db.selectFrom("creator_tokens").selectAll().execute()) {
          const token = await hre.ethers.getContractAt("CreatorToken", t.token);
          const held = await db.selectFrom("creator_token_holders").selectAll().where("token", "=", t.token).execute();
          const balances = new Map(held.map((h) => [h.address, BigInt(h.balance)]));
          let positive = 0;
          for (const account of candidates) {
            const onChain = await token.balanceOf(account);
            expect(balances.get(account) ?? 0n).to.equal(onChain, `${account} in ${t.token}`);
            if (onChain > 0n) positive++;
          }
          expect(held.every((h) => candidates.includes(h.address))).to.equal(true);
          expect(t.holders).to.equal(positive);
        }
        // d got its first tokens by a transfer, not a trade; b sold everything.
        const [, b, , d] = s.traders;
        const x = await db
          .selectFrom("creator_token_holders")
          .selectAll()
          .where("token", "=", await s.creatorMarket.tokenOf(s.creators[0]))
          .execute();
        expect(x.find((h) => h.address === d.address)).to.not.equal(undefined);
        expect(BigInt(x.find((h) => h.address === b.address)!.balance)).to.equal(0n);
      });

      it("trades: quoted curve amounts, the trader's FLK change, fees and price after", async () => {
        const rows = await db.selectFrom("creator_trades").selectAll().orderBy("block_number").orderBy("log_index").execute();
        expect(rows.length).to.equal(s.trades.length);
        for (const [i, r] of rows.entries()) {
          const q = s.trades[i];
          expect([r.block_number, r.trader, r.creator, r.side, BigInt(r.amount)]).to.deep.equal([q.block, q.trader, q.creator, q.side, q.amount]);
          expect(BigInt(r.flk)).to.equal(q.curve);
          expect(BigInt(r.trader_flk)).to.equal(q.traderFlk);
          const fees = BigInt(r.creator_fee) + BigInt(r.burn_fee) + BigInt(r.treasury_fee);
          expect(BigInt(r.trader_flk)).to.equal(q.side === "BUY" ? q.curve + fees : q.curve - fees);
          expect(BigInt(r.price_after)).to.equal(await s.creatorMarket.spotPrice(q.creator, { blockTag: q.block }));
          expect(BigInt(r.supply_after)).to.equal(await s.creatorMarket.supplyOf(q.creator, { blockTag: q.block }));
        }
        // A fee change took effect: the burn share was zero in between.
        expect(rows.some((r) => r.burn_fee === "0")).to.equal(true);
      });

      it("market totals: token count, fee shares, treasury fees and the FLK the market holds", async () => {
        const m = await db.selectFrom("creator_market").selectAll().executeTakeFirstOrThrow();
        const [creatorBps, burnBps, treasuryBps, tokenCount, treasuryFees] = await s.creatorMarket.globalState();
        expect([m.creator_fee_bps, m.burn_fee_bps, m.treasury_fee_bps, m.token_count]).to.deep.equal([
          Number(creatorBps),
          Number(burnBps),
          Number(treasuryBps),
          Number(tokenCount),
        ]);
        expect(BigInt(m.treasury_fees_accrued) - BigInt(m.treasury_fees_withdrawn)).to.equal(treasuryFees);
        expect(BigInt(m.treasury_fees_withdrawn)).to.be.greaterThan(0n);
        expect(m.treasury).to.equal(await s.creatorMarket.treasury());
        const reserves = (await Promise.all(s.creators.map((c) => s.creatorMarket.reserveOf(c)))).reduce((x, y) => x + y, 0n);
        expect(BigInt(m.total_reserve)).to.equal(reserves);
      });

      it("curveReserves equals the market's FLK minus fees held and stray FLK, and the sum of reserveOf, at every block", async () => {
        const [created] = await s.creatorMarket.queryFilter(s.creatorMarket.filters.TreasurySet());
        const head = await hre.ethers.provider.getBlockNumber();
        let positive = 0;
        for (let n = created.blockNumber; n <= head; n++) {
          const tag = { blockTag: n };
          const [balance, [, , , , treasuryFees], ...perCreator] = await Promise.all([
            s.flk.balanceOf(market, tag),
            s.creatorMarket.globalState(tag),
            ...s.creators.flatMap((c) => [s.creatorMarket.reserveOf(c, tag), s.creatorMarket.creatorFeesOf(c, tag)]),
          ]);
          const reserves = perCreator.filter((_, i) => i % 2 === 0).reduce((x, y) => x + y, 0n);
          const creatorFees = perCreator.filter((_, i) => i % 2 === 1).reduce((x, y) => x + y, 0n);
          const stray = n >= s.stray.block ? s.stray.amount : 0n;
          const indexed = await componentAt(db, "curveReserves", n);
          expect(indexed).to.equal(balance - creatorFees - treasuryFees - stray, `block ${n}`);
          expect(indexed).to.equal(reserves, `block ${n}`);
          const timestamp = (await hre.ethers.provider.getBlock(n))!.timestamp;
          expect((await supplyAt(db, timestamp)).curveReserves).to.equal(indexed, `tokenSupply at block ${n}`);
          if (indexed > 0n) positive++;
        }
        expect(positive).to.be.greaterThan(10);
      });

      it("burns agree with FLK's supply drop, the breakdown's burned and the burner's totalBurned", async () => {
        const burns = await db.selectFrom("flk_burns").selectAll().orderBy("block_number").orderBy("log_index").execute();
        let running = 0n;
        for (const b of burns) {
          running += BigInt(b.value);
          expect(BigInt(b.cumulative_burned)).to.equal(running);
        }
        const burned = (await s.flk.totalMinted()) - (await s.flk.totalSupply());
        const head = (await hre.ethers.provider.getBlock("latest"))!;
        expect(running)
          .to.equal(burned)
          .and.to.equal((await supplyAt(db, head.timestamp)).burned);
        // Each block's burns are exactly its total-supply drop (no block here both mints and burns).
        for (const n of new Set(burns.map((b) => b.block_number))) {
          const drop = (await s.flk.totalSupply({ blockTag: n - 1 })) - (await s.flk.totalSupply({ blockTag: n }));
          expect(burns.filter((b) => b.block_number === n).reduce((x, b) => x + BigInt(b.value), 0n)).to.equal(drop, `block ${n}`);
        }
        const bySource = (source: string) => burns.filter((b) => b.source === source);
        expect(bySource("BUYBACK").reduce((x, b) => x + BigInt(b.value), 0n)).to.equal(await s.buyback.totalBurned());
        expect(bySource("BUYBACK").map((b) => b.auction_id)).to.deep.equal([0, 1]);
        const m = await db.selectFrom("creator_market").selectAll().executeTakeFirstOrThrow();
        expect(bySource("CREATOR_MARKET").reduce((x, b) => x + BigInt(b.value), 0n)).to.equal(BigInt(m.burn_fees));
        expect(bySource("CREATOR_MARKET").every((b) => b.from === market)).to.equal(true);
        expect(bySource("OTHER").map((b) => [b.from, BigInt(b.value)])).to.deep.equal([[s.traders[5].address, 5n * 10n ** 18n]]);
      });

      it("auctions: lots, prices paid, the open auction and its price path equal the burner's views", async () => {
        const rows = await db.selectFrom("buyback_auctions").selectAll().orderBy("id").execute();
        expect(rows.map((r) => r.status)).to.deep.equal(["SOLD", "SOLD", "OPEN"]);
        const sales = await s.buyback.queryFilter(s.buyback.filters.AuctionBought());
        for (const [i, sale] of sales.entries()) {
          const r = rows[i];
          const usdcBefore = await s.usdc.balanceOf(sale.args.recipient, { blockTag: sale.blockNumber - 1 });
          const usdcAfter = await s.usdc.balanceOf(sale.args.recipient, { blockTag: sale.blockNumber });
          expect(BigInt(r.usdc_amount)).to.equal(usdcAfter - usdcBefore);
          const flkBefore = await s.flk.balanceOf(sale.args.buyer, { blockTag: sale.blockNumber - 1 });
          const flkAfter = await s.flk.balanceOf(sale.args.buyer, { blockTag: sale.blockNumber });
          expect(BigInt(r.flk_paid)).to.equal(flkBefore - flkAfter);
          expect([r.buyer, r.recipient, r.sold_block]).to.deep.equal([sale.args.buyer, sale.args.recipient, sale.blockNumber]);
        }
        // Auction 1 sold at the floor set mid-auction; auction 1's lot had a plain transfer in it.
        // 750 USDC at the 20-FLK-per-USDC floor.
        expect(BigInt(rows[1].flk_paid)).to.equal(15_000n * 10n ** 18n);
        expect(BigInt(rows[1].usdc_amount)).to.equal(750n * 10n ** 6n);
        expect(BigInt(rows[1].deposited)).to.equal(500n * 10n ** 6n);
        const [id, start, period, startPrice] = await s.buyback.auction();
        expect([rows[2].id, rows[2].start_time, rows[2].period, BigInt(rows[2].start_price)]).to.deep.equal([
          Number(id),
          Number(start),
          Number(period),
          startPrice,
        ]);
        const totals = await db.selectFrom("buyback_totals").selectAll().executeTakeFirstOrThrow();
        const [pPeriod, pMultiplier, pFloor] = await s.buyback.params();
        expect([totals.period, BigInt(totals.multiplier), BigInt(totals.floor)]).to.deep.equal([Number(pPeriod), pMultiplier, pFloor]);

        // The price path through GraphQL: at every block of auction 1 (before its sale) and of the
        // open auction, priceAt equals currentPrice() at that block; floor changed in between.
        const head = await hre.ethers.provider.getBlockNumber();
        const spans = [
          [rows[1].id, rows[1].start_block, rows[1].sold_block - 1],
          [rows[2].id, rows[2].start_block, head],
        ];
        let checked = 0;
        for (const [auctionId, from, to] of spans) {
          for (let n = from; n <= to; n++) {
            const timestamp = (await hre.ethers.provider.getBlock(n))!.timestamp;
            const r = await gql(api, `{ auction(id: ${auctionId}) { priceAt(timestamp: ${timestamp}) } }`);
            expect(BigInt(r.data.auction.priceAt)).to.equal(await s.buyback.currentPrice({ blockTag: n }), `auction ${auctionId} at block ${n}`);
            checked++;
          }
        }
        expect(checked).to.be.greaterThan(5);
        // At its sale, a sold auction's price per USDC times its lot is the price paid.
        for (const r of rows.filter((x) => x.status === "SOLD")) {
          const at = await gql(api, `{ auction(id: ${r.id}) { priceAt(timestamp: ${r.sold_timestamp}) pricePaid usdcAmount } }`);
          expect(potPrice(BigInt(at.data.auction.priceAt), BigInt(at.data.auction.usdcAmount)).toString())
            .to.equal(at.data.auction.pricePaid)
            .and.to.equal(r.flk_paid);
        }
        const now = await gql(api, `{ buyback { currentAuction { id currentPrice } totalBurned auctionsSold params { floor } } }`);
        expect(BigInt(now.data.buyback.currentAuction.currentPrice)).to.equal(await s.buyback.currentPrice({ blockTag: head }));
        expect(BigInt(now.data.buyback.totalBurned)).to.equal(await s.buyback.totalBurned());
        expect(now.data.buyback.auctionsSold).to.equal(2);
      });

      it("GraphQL: tokens by supply, holders and trades paged, market, auctions and burns by source", async () => {
        const tokens = await allPages(
          api,
          (after) =>
            `{ creatorTokens(first: 1, orderBy: SUPPLY${after ? `, after: "${after}"` : ""}) { nodes { address creator supply price reserve holderCount creatorFeesUnclaimed } pageInfo { hasNextPage endCursor } } }`,
          (d) => d.creatorTokens,
        );
        const expected = await Promise.all(s.creators.map(async (c) => ({ creator: c, supply: await s.creatorMarket.supplyOf(c) })));
        expected.sort((p, q) => (p.supply === q.supply ? 0 : p.supply < q.supply ? 1 : -1));
        expect(tokens.map((t) => t.creator)).to.deep.equal(expected.map((e) => e.creator));
        for (const t of tokens) {
          expect(BigInt(t.price)).to.equal(await s.creatorMarket.spotPrice(t.creator));
          expect(BigInt(t.reserve)).to.equal(await s.creatorMarket.reserveOf(t.creator));
          expect(BigInt(t.creatorFeesUnclaimed)).to.equal(await s.creatorMarket.creatorFeesOf(t.creator));
        }

        const x = s.creators[0];
        const tokenX = await hre.ethers.getContractAt("CreatorToken", await s.creatorMarket.tokenOf(x));
        const holders = await allPages(
          api,
          (after) =>
            `{ creatorToken(creator: "${x}") { holders(first: 2${after ? `, after: "${after}"` : ""}) { nodes { address balance } pageInfo { hasNextPage endCursor } } } }`,
          (d) => d.creatorToken.holders,
        );
        for (const h of holders) expect(BigInt(h.balance)).to.equal(await tokenX.balanceOf(h.address));
        const balances = holders.map((h) => BigInt(h.balance));
        expect(balances).to.deep.equal([...balances].sort((p, q) => (p === q ? 0 : p < q ? 1 : -1)));
        expect(holders.length).to.equal(
          (await gql(api, `{ creatorToken(address: "${(await tokenX.getAddress()).toLowerCase()}") { holderCount } }`)).data.creatorToken.holderCount,
        );

        const sells = await allPages(
          api,
          (after) =>
            `{ creatorTrades(first: 1, where: { creator: "${x}", side: SELL }${after ? `, after: "${after}"` : ""}) { nodes { trader amount flk traderFlk side blockNumber } pageInfo { hasNextPage endCursor } } }`,
          (d) => d.creatorTrades,
        );
        const expectedSells = s.trades.filter((t) => t.creator === x && t.side === "SELL").reverse();
        expect(sells.map((t) => [t.trader, BigInt(t.amount), BigInt(t.flk), BigInt(t.traderFlk), t.blockNumber])).to.deep.equal(
          expectedSells.map((t) => [t.trader, t.amount, t.curve, t.traderFlk, t.block]),
        );

        const nested = (await gql(api, `{ creatorToken(creator: "${x}") { trades(orderDirection: ASC, where: { side: BUY }) { nodes { trader amount } } } }`))
          .data.creatorToken.trades.nodes;
        const expectedBuys = s.trades.filter((t) => t.creator === x && t.side === "BUY");
        expect(nested.map((t: any) => [t.trader, BigInt(t.amount)])).to.deep.equal(expectedBuys.map((t) => [t.trader, t.amount]));

        const m = (await gql(api, `{ creatorMarket { flkBalance totalReserve surplus treasuryFeesUnwithdrawn tokenCount } tokenSupply { curveReserves } }`))
          .data;
        expect(BigInt(m.creatorMarket.flkBalance)).to.equal(await s.flk.balanceOf(market));
        expect(BigInt(m.creatorMarket.surplus)).to.equal(s.stray.amount);
        expect(m.creatorMarket.totalReserve).to.equal(m.tokenSupply.curveReserves);

        const buybackBurns = (await gql(api, `{ burns(where: { source: BUYBACK }) { nodes { from value auctionId cumulativeBurned } } }`)).data.burns.nodes;
        const sales = await s.buyback.queryFilter(s.buyback.filters.AuctionBought());
        expect(buybackBurns.map((b: any) => [b.from, BigInt(b.value), b.auctionId])).to.deep.equal(
          sales.map((e) => [e.args.buyer, e.args.flkBurned, Number(e.args.auctionId)]),
        );
        const newest = (await gql(api, `{ burns(first: 1, orderDirection: DESC) { nodes { cumulativeBurned } } }`)).data.burns.nodes[0];
        expect(BigInt(newest.cumulativeBurned)).to.equal((await s.flk.totalMinted()) - (await s.flk.totalSupply()));

        const auctions = (await gql(api, `{ auctions(first: 2) { nodes { id status pricePaid } pageInfo { hasNextPage } } }`)).data.auctions;
        expect(auctions.nodes.map((a: any) => [a.id, a.status])).to.deep.equal([
          [2, "OPEN"],
          [1, "SOLD"],
        ]);
        expect(auctions.pageInfo.hasNextPage).to.equal(true);
        const sold = (await gql(api, `{ auctions(where: { status: SOLD, buyer: "${s.traders[1].address}" }) { nodes { id usdcAmount } } }`)).data.auctions
          .nodes;
        expect(sold.map((a: any) => a.id)).to.deep.equal([0]);
      });

      it("GraphQL: bad input gets BAD_USER_INPUT and the server keeps answering", async () => {
        const bad = [
          `{ creatorToken { supply } }`,
          `{ creatorToken(address: "${market}", creator: "${market}") { supply } }`,
          `{ creatorToken(address: "0x12") { supply } }`,
          `{ creatorTokens(first: 1001) { nodes { supply } } }`,
          `{ creatorTokens(where: { creator: "nope" }) { nodes { supply } } }`,
          `{ creatorTrades(where: { trader: "0xzz" }) { nodes { amount } } }`,
          `{ creatorTrades(after: "garbage") { nodes { amount } } }`,
          `{ burns(where: { from: "0x1" }) { nodes { value } } }`,
          `{ auction(id: 0) { priceAt(timestamp: 1) } }`,
          `{ auctions(first: 0) { nodes { id } } }`,
        ];
        for (const q of bad) expect(codes(await gql(api, q)), q).to.deep.equal(["BAD_USER_INPUT"]);
        const page = (await gql(api, `{ creatorTokens(first: 1, orderBy: VOLUME) { pageInfo { endCursor } } }`)).data.creatorTokens.pageInfo.endCursor;
        expect(codes(await gql(api, `query($c: String) { creatorTokens(after: $c, orderBy: HOLDERS) { nodes { supply } } }`, { c: page }))).to.deep.equal([
          "BAD_USER_INPUT",
        ]);
        // An unknown enum value fails validation, with GraphQL's own code.
        expect(codes(await gql(api, `{ burns(where: { source: MINT }) { nodes { value } } }`))).to.deep.equal(["GRAPHQL_VALIDATION_FAILED"]);
        // A creator without a token is not an error: nothing matches.
        expect((await gql(api, `{ creatorToken(creator: "${ZeroAddress}") { supply } }`)).data.creatorToken).to.equal(null);
        expect((await gql(api, `{ creatorTrades(where: { creator: "${ZeroAddress}" }) { nodes { amount } } }`)).data.creatorTrades.nodes).to.deep.equal([]);
        expect((await gql(api, `{ creatorMarket { tokenCount } }`)).data.creatorMarket.tokenCount).to.equal(2);
      });
    });
  }
});
