/**
 * The functions registry (contracts/functions/FunctionRegistry.sol), deployed by its Ignition
 * module and by the suite's: names, owners, versions by content root, limits within the node's caps; and a property
 * (fast-check on the EVM) that after any sequence of registrations, publications and transfers by
 * several accounts the registry equals a plain model of those rules and refuses exactly what the
 * model refuses.
 */
import { expect } from "chai";
import fc from "fast-check";
import hre from "hardhat";
import { loadFixture, takeSnapshot } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import FunctionsModule from "../../ignition/modules/Functions";
import { deploySuite, suiteContracts } from "../../testkit/deploy";
import type { FunctionRegistry } from "../../typechain-types";

const RUNS = Number(process.env.PROPERTY_RUNS ?? 20);
/** The node's defaults (docs/functions.md): 128 MiB, 50 ms CPU, 15 s wall, 1 MiB bundle. */
const LIMITS = { memoryMiB: 128, cpuMs: 50, wallMs: 15_000, bundleBytes: 1_048_576 };
/** `b3sum` of an empty input and of "hello": real roots, as functions are addressed. */
const ROOT_A = "0xaf1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262";
const ROOT_B = "0xea8f163db38682925e4491c5e58d4bb3506ef8c14eb78a86e908c5624a67200f";

async function deployed() {
  const { functionRegistry } = await hre.ignition.deploy(FunctionsModule);
  const signers = await hre.ethers.getSigners();
  return { registry: functionRegistry as unknown as FunctionRegistry, owner: signers[1], other: signers[2], signers: signers.slice(1, 5) };
}

describe("FunctionRegistry", () => {
  it("is deployed with the suite by the Fleek module, at the address the suite's record names", async () => {
    const suite = await loadFixture(deploySuite);
    const address = await suite.functionRegistry.getAddress();
    expect((await suiteContracts(suite)).FunctionRegistry).to.equal(address);
    expect(await hre.ethers.provider.getCode(address)).to.equal((await hre.artifacts.readArtifact("FunctionRegistry")).deployedBytecode);
    const [, developer] = await hre.ethers.getSigners();
    await expect(suite.functionRegistry.connect(developer).register("hello", ROOT_A, LIMITS))
      .to.emit(suite.functionRegistry, "FunctionRegistered")
      .withArgs(1, developer.address, "hello");
  });

  it("registers a name with its first version and resolves the name to its latest version", async () => {
    const { registry, owner } = await loadFixture(deployed);
    await expect(registry.connect(owner).register("hello-world", ROOT_A, LIMITS))
      .to.emit(registry, "FunctionRegistered")
      .withArgs(1, owner.address, "hello-world")
      .and.to.emit(registry, "VersionPublished")
      .withArgs(1, 1, ROOT_A, Object.values(LIMITS));
    await expect(registry.connect(owner).publish(1, ROOT_B, { ...LIMITS, cpuMs: 200 }))
      .to.emit(registry, "VersionPublished")
      .withArgs(1, 2, ROOT_B, [128, 200, 15_000, 1_048_576]);
    const [id, version, latest] = await registry.resolve("hello-world");
    expect([id, version, latest.root, latest.limits.cpuMs]).to.deep.equal([1n, 2n, ROOT_B, 200n]);
    expect((await registry.versionOf(1, 1)).root).to.equal(ROOT_A);
    expect(await registry.versionOfRoot(1, ROOT_B)).to.equal(2n);
    const f = await registry.functions(1);
    expect([f.owner, f.versionCount, f.name]).to.deep.equal([owner.address, 2n, "hello-world"]);
  });

  it("refuses bad names, taken names, strangers, repeated or zero roots and limits beyond the node's caps", async () => {
    const { registry, owner, other } = await loadFixture(deployed);
    for (const bad of ["", "Hello", "-a", "a-", "a b", "a/b", "é", "a".repeat(65)]) {
      await expect(registry.register(bad, ROOT_A, LIMITS), JSON.stringify(bad)).to.be.revertedWithCustomError(registry, "FunctionRegistryBadName");
    }
    await registry.connect(owner).register("a".repeat(64), ROOT_A, LIMITS);
    await expect(registry.connect(other).register("a".repeat(64), ROOT_B, LIMITS))
      .to.be.revertedWithCustomError(registry, "FunctionRegistryNameTaken")
      .withArgs("a".repeat(64), 1);
    await expect(registry.connect(other).publish(1, ROOT_B, LIMITS))
      .to.be.revertedWithCustomError(registry, "FunctionRegistryNotOwner")
      .withArgs(1, other.address);
    await expect(registry.connect(other).transferFunction(1, other.address)).to.be.revertedWithCustomError(registry, "FunctionRegistryNotOwner");
    await expect(registry.connect(owner).publish(2, ROOT_B, LIMITS))
      .to.be.revertedWithCustomError(registry, "FunctionRegistryUnknown")
      .withArgs(2);
    await expect(registry.connect(owner).publish(1, ROOT_A, LIMITS))
      .to.be.revertedWithCustomError(registry, "FunctionRegistryBadRoot")
      .withArgs(ROOT_A, 1);
    await expect(registry.connect(owner).publish(1, hre.ethers.ZeroHash, LIMITS))
      .to.be.revertedWithCustomError(registry, "FunctionRegistryBadRoot")
      .withArgs(hre.ethers.ZeroHash, 0);
    for (const limits of [
      { ...LIMITS, memoryMiB: 129 },
      { ...LIMITS, memoryMiB: 0 },
      { ...LIMITS, wallMs: 15_001 },
      { ...LIMITS, cpuMs: 0 },
      { ...LIMITS, cpuMs: 1_000, wallMs: 999 },
      { ...LIMITS, bundleBytes: 10 * 1024 * 1024 + 1 },
      { ...LIMITS, bundleBytes: 0 },
    ]) {
      await expect(registry.connect(owner).publish(1, ROOT_B, limits), JSON.stringify(limits)).to.be.revertedWithCustomError(
        registry,
        "FunctionRegistryBadLimits",
      );
    }
    await expect(registry.connect(owner).transferFunction(1, hre.ethers.ZeroAddress)).to.be.revertedWithCustomError(registry, "FunctionRegistryZeroOwner");
    await expect(registry.connect(owner).transferFunction(1, other.address))
      .to.emit(registry, "FunctionOwnerChanged")
      .withArgs(1, owner.address, other.address);
    await expect(registry.connect(owner).publish(1, ROOT_B, LIMITS)).to.be.revertedWithCustomError(registry, "FunctionRegistryNotOwner");
    await registry.connect(other).publish(1, ROOT_B, LIMITS);
    await expect(registry.versionOf(1, 3)).to.be.revertedWithCustomError(registry, "FunctionRegistryUnknownVersion").withArgs(1, 3);
    await expect(registry.versionOf(1, 0)).to.be.revertedWithCustomError(registry, "FunctionRegistryUnknownVersion");
    await expect(registry.resolve("nobody")).to.be.revertedWithCustomError(registry, "FunctionRegistryUnknownName").withArgs("nobody");
  });

  it("gives a root to the first function that publishes it, and looks it up with its version, owner, owner-pays cap and limits", async () => {
    const { registry, owner, other } = await loadFixture(deployed);
    const none = await registry.lookup(ROOT_A);
    expect([none.id, none.version, none.owner, none.capPerEpoch]).to.deep.equal([0n, 0n, hre.ethers.ZeroAddress, 0n]);
    await registry.connect(owner).register("first", ROOT_A, LIMITS);
    await expect(registry.connect(other).register("second", ROOT_A, LIMITS))
      .to.be.revertedWithCustomError(registry, "FunctionRegistryRootTaken")
      .withArgs(ROOT_A, 1);
    await registry.connect(other).register("second", ROOT_B, { ...LIMITS, cpuMs: 7 });
    await expect(registry.connect(owner).publish(1, ROOT_B, LIMITS))
      .to.be.revertedWithCustomError(registry, "FunctionRegistryRootTaken")
      .withArgs(ROOT_B, 2);
    const b = await registry.lookup(ROOT_B);
    expect([b.id, b.version, b.owner, b.capPerEpoch, b.limits.cpuMs, b.limits.memoryMiB]).to.deep.equal([2n, 1n, other.address, 0n, 7n, 128n]);
  });

  it("lets only the owner set owner-pays, and a transfer ends it so the new owner's account pays nothing it did not agree to", async () => {
    const { registry, owner, other } = await loadFixture(deployed);
    await registry.connect(owner).register("sponsored", ROOT_A, LIMITS);
    await expect(registry.connect(other).setOwnerPays(1, 5_000)).to.be.revertedWithCustomError(registry, "FunctionRegistryNotOwner").withArgs(1, other.address);
    await expect(registry.connect(owner).setOwnerPays(2, 5_000)).to.be.revertedWithCustomError(registry, "FunctionRegistryUnknown").withArgs(2);
    await expect(registry.connect(owner).setOwnerPays(1, 5_000)).to.emit(registry, "OwnerPaysSet").withArgs(1, owner.address, 5_000);
    expect((await registry.lookup(ROOT_A)).capPerEpoch).to.equal(5_000n);
    await expect(registry.connect(owner).transferFunction(1, other.address)).to.emit(registry, "OwnerPaysSet").withArgs(1, other.address, 0);
    expect(await registry.ownerPaysCap(1)).to.equal(0n);
    // Nothing to end: no event.
    await expect(registry.connect(other).transferFunction(1, owner.address)).not.to.emit(registry, "OwnerPaysSet");
  });

  const NAMES = ["a", "b", "c"];
  const ROOTS = [1, 2, 3, 4, 5, 0].map((i) => `0x${i.toString(16).padStart(64, "0")}`);
  const action = fc.oneof(
    // Two of the three accounts act, on ids up to one past the most registered, so that owners,
    // strangers and unknown ids all come up.
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant("register" as const), who: fc.nat(1), name: fc.nat(NAMES.length - 1), root: fc.nat(ROOTS.length - 1) }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant("publish" as const),
        who: fc.nat(1),
        id: fc.nat(NAMES.length + 1),
        root: fc.nat(ROOTS.length - 1),
        cpuMs: fc.constantFrom(1, 50, 15_000, 15_001),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("transfer" as const), who: fc.nat(1), id: fc.nat(NAMES.length + 1), to: fc.nat(2) }) },
  );

  it("equals a model of its rules after any sequence of registrations, publications and transfers (fast-check on the EVM)", async () => {
    const { registry, signers } = await loadFixture(deployed);
    const counts = { register: 0, publish: 0, transfer: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 12 }), async (actions) => {
        const snapshot = await takeSnapshot();
        try {
          // The model: per id its name, owner and roots in version order; names to ids.
          const model: { name: string; owner: string; roots: string[] }[] = [];
          const byName = new Map<string, number>();
          for (const a of actions) {
            const signer = signers[a.who];
            let allowed: boolean;
            let call: Promise<unknown>;
            if (a.kind === "register") {
              const name = NAMES[a.name];
              // A root belongs to the first function that published it.
              allowed = !byName.has(name) && ROOTS[a.root] !== hre.ethers.ZeroHash && !model.some((m) => m.roots.includes(ROOTS[a.root]));
              call = registry.connect(signer).register(name, ROOTS[a.root], LIMITS);
              if (allowed) {
                model.push({ name, owner: signer.address, roots: [ROOTS[a.root]] });
                byName.set(name, model.length);
              }
            } else if (a.kind === "publish") {
              const f = model[a.id - 1];
              const root = ROOTS[a.root];
              allowed =
                f !== undefined &&
                f.owner === signer.address &&
                root !== hre.ethers.ZeroHash &&
                !model.some((m) => m.roots.includes(root)) &&
                a.cpuMs <= LIMITS.wallMs;
              call = registry.connect(signer).publish(a.id, root, { ...LIMITS, cpuMs: a.cpuMs });
              if (allowed) f.roots.push(root);
            } else {
              const f = model[a.id - 1];
              allowed = f !== undefined && f.owner === signer.address;
              call = registry.connect(signer).transferFunction(a.id, signers[a.to].address);
              if (allowed) f.owner = signers[a.to].address;
            }
            if (allowed) {
              await call;
              counts[a.kind]++;
            } else {
              await expect(call).to.be.reverted;
              counts.refused++;
            }
          }
          expect(await registry.functionCount()).to.equal(BigInt(model.length));
          for (const [i, f] of model.entries()) {
            const id = i + 1;
            const onChain = await registry.functions(id);
            expect([onChain.name, onChain.owner, onChain.versionCount]).to.deep.equal([f.name, f.owner, BigInt(f.roots.length)]);
            for (const [v, root] of f.roots.entries()) {
              expect((await registry.versionOf(id, v + 1)).root).to.equal(root);
              expect(await registry.versionOfRoot(id, root)).to.equal(BigInt(v + 1));
              const found = await registry.lookup(root);
              expect([found.id, found.version, found.owner]).to.deep.equal([BigInt(id), BigInt(v + 1), f.owner]);
            }
            const [resolved, latest] = await registry.resolve(f.name);
            expect([resolved, latest]).to.deep.equal([BigInt(id), BigInt(f.roots.length)]);
          }
        } finally {
          await snapshot.restore();
        }
      }),
      {
        numRuns: RUNS,
        // One sequence where each action succeeds and is refused, whatever the random runs draw
        // (a transfer needs its signer to own an existing id: some seeds never drew one).
        examples: [
          [
            [
              { kind: "register", who: 0, name: 0, root: 0 },
              { kind: "publish", who: 0, id: 1, root: 1, cpuMs: 50 },
              { kind: "transfer", who: 0, id: 1, to: 1 },
              { kind: "transfer", who: 0, id: 1, to: 0 },
            ],
          ],
        ],
      },
    );
    // Not vacuous: every action both succeeded and was refused somewhere in the runs.
    expect(counts.register).to.be.greaterThan(0);
    expect(counts.publish).to.be.greaterThan(0);
    expect(counts.transfer).to.be.greaterThan(0);
    expect(counts.refused).to.be.greaterThan(0);
  });
});
