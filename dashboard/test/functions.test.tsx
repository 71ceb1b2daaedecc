import { afterEach, describe, expect, it } from "vitest";
import { keccak256, toUtf8Bytes, ZeroAddress } from "ethers";
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { AppContext, type AppState } from "../src/AppContext";
import { WalletProvider } from "../src/wallet/WalletContext";
import Functions from "../src/pages/Functions";
import {
  costPerMillionCalls,
  DEFAULT_LIMITS,
  defaultUploadGateway,
  deployPlan,
  nameHolder,
  parseFunctionName,
  parseLimits,
  rootToBytes32,
  bundleRoot,
  putBundle,
  uploadBundle,
  type FunctionLimits,
} from "../src/lib/functions";
import type { DashboardData, EdgeFunctionInfo } from "../src/data/source";

afterEach(cleanup);

const ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const BOB = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const R1 = `0x${"11".repeat(32)}`;
const R2 = `0x${"2a".repeat(32)}`;
const text = (l: FunctionLimits) => Object.fromEntries(Object.entries(l).map(([k, v]) => [k, String(v)])) as Record<keyof FunctionLimits, string>;

describe("parseFunctionName (FunctionRegistry's name rule)", () => {
  it("takes a-z, 0-9 and inner '-', 1 to 64 characters", () => {
    expect(parseFunctionName("hello")).toEqual({ value: "hello" });
    expect(parseFunctionName("echo-2")).toEqual({ value: "echo-2" });
    expect(parseFunctionName("a".repeat(64))).toEqual({ value: "a".repeat(64) });
  });
  it("refuses what the registry would revert on, in words", () => {
    expect(parseFunctionName("")).toEqual({ error: "A name has 1 to 64 characters." });
    expect(parseFunctionName("a".repeat(65))).toEqual({ error: "A name has 1 to 64 characters." });
    expect(parseFunctionName("Hello")).toEqual({ error: "Use only lower-case letters a-z, digits and '-'." });
    expect(parseFunctionName("a_b")).toEqual({ error: "Use only lower-case letters a-z, digits and '-'." });
    expect(parseFunctionName("-a")).toEqual({ error: "A name cannot start or end with '-'." });
    expect(parseFunctionName("a-")).toEqual({ error: "A name cannot start or end with '-'." });
  });
});

describe("parseLimits (the registry's caps)", () => {
  it("accepts the node's defaults and the caps themselves", () => {
    expect(parseLimits(text(DEFAULT_LIMITS))).toEqual({ value: { memoryMiB: 128, cpuMs: 50, wallMs: 15_000, bundleBytes: 1_048_576 } });
    expect(parseLimits(text({ memoryMiB: 128, cpuMs: 15_000, wallMs: 15_000, bundleBytes: 10_485_760 }))).toEqual({
      value: { memoryMiB: 128, cpuMs: 15_000, wallMs: 15_000, bundleBytes: 10_485_760 },
    });
  });
  it("refuses zero, fractions, values above a cap and CPU above the wall time", () => {
    expect(parseLimits(text({ ...DEFAULT_LIMITS, cpuMs: 0 }))).toEqual({ error: "CPU time must be a whole number above 0." });
    expect(parseLimits({ ...text(DEFAULT_LIMITS), memoryMiB: "1.5" })).toEqual({ error: "Memory must be a whole number above 0." });
    expect(parseLimits(text({ ...DEFAULT_LIMITS, memoryMiB: 129 }))).toEqual({ error: "Memory is at most 128 MiB." });
    expect(parseLimits(text({ ...DEFAULT_LIMITS, wallMs: 15_001 }))).toEqual({ error: "Wall time is at most 15,000 ms." });
    expect(parseLimits(text({ ...DEFAULT_LIMITS, cpuMs: 101, wallMs: 100 }))).toEqual({ error: "CPU time cannot exceed the wall time." });
    expect(parseLimits(text({ ...DEFAULT_LIMITS, bundleBytes: 10_485_761 }))).toEqual({ error: "A bundle is at most 10,485,760 bytes (10 MiB)." });
  });
});

describe("costPerMillionCalls", () => {
  it("is perMillionRequests + cpuMs × perMillionCpuMs, exact", () => {
    // The escrow's defaults: $0.30 per million requests, $0.02 per million CPU-ms; 50 ms calls.
    expect(costPerMillionCalls({ perMillionRequests: 300_000n, perMillionCpuMs: 20_000n }, 50)).toBe(1_300_000n);
    expect(costPerMillionCalls({ perMillionRequests: 400_000n, perMillionCpuMs: 30_000n }, 20)).toBe(1_000_000n);
    expect(costPerMillionCalls({ perMillionRequests: 1n, perMillionCpuMs: 10n ** 12n }, 15_000)).toBe(15_000n * 10n ** 12n + 1n);
  });
});

describe("nameHolder and deployPlan (FunctionRegistry's rules for a deploy)", () => {
  // The registry's views over two names: hello (id 3, Alice's, 2 versions); everything else free.
  const registry = {
    idOfName: async (hash: string) => (hash === keccak256(toUtf8Bytes("hello")) ? 3n : 0n),
    functions: async (id: bigint) => (id === 3n ? { owner: ALICE, versionCount: 2n } : { owner: ZeroAddress, versionCount: 0n }),
  };

  it("reads who holds a name from the registry's views", async () => {
    expect(await nameHolder(registry, "hello")).toEqual({ id: 3, owner: ALICE, version: 2 });
    expect(await nameHolder(registry, "free")).toBe(null);
  });

  it("registers a free name, publishes a new root of the wallet's own function, refuses the rest", () => {
    const hello = { id: 3, owner: ALICE, version: 2 };
    expect(deployPlan(null, ALICE, null)).toEqual({ kind: "register" });
    expect(deployPlan(hello, ALICE.toLowerCase(), null)).toEqual({ kind: "publish", id: 3, nextVersion: 3 });
    expect(deployPlan(hello, BOB, null)).toEqual({ kind: "refused", reason: `The name is taken: function 3 belongs to ${ALICE}.` });
    expect(deployPlan(hello, ALICE, { id: 3, version: 1 })).toEqual({
      kind: "refused",
      reason: "This bundle is already version 1 of the function; a new version needs a new root.",
    });
    // A root belongs to the first function that published it, for a new name and an existing one.
    const taken = "This bundle is already published by function 7; change a byte to publish it under this name.";
    expect(deployPlan(null, ALICE, { id: 7, version: 2 })).toEqual({ kind: "refused", reason: taken });
    expect(deployPlan(hello, ALICE, { id: 7, version: 2 })).toEqual({ kind: "refused", reason: taken });
  });
});

describe("a bundle from a file: its root, and PUT /blake3/<root> once registered", () => {
  it("roots a file as b3sum does (BLAKE3's known answers for 0 and 1 byte)", async () => {
    expect(await bundleRoot(new Uint8Array(0))).toBe("0xaf1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
    expect(await bundleRoot(new Uint8Array([0]))).toBe("0x2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213");
  });

  it("puts the bytes under their root with no token, and says why a gateway did not take them", async () => {
    const seen: { url: string; init: RequestInit }[] = [];
    const gateway = (status: number, body: string) =>
      (async (url: string, init: RequestInit) => {
        seen.push({ url, init });
        return new Response(body, { status });
      }) as unknown as typeof fetch;
    const bytes = new Uint8Array([1, 2, 3]);
    await putBundle("http://127.0.0.1:4220/", R1, bytes, gateway(201, "{}"));
    expect(seen[0].url).toBe(`http://127.0.0.1:4220/blake3/${"11".repeat(32)}`);
    expect(seen[0].init).toMatchObject({ method: "PUT", body: bytes });
    expect(seen[0].init.headers).not.toHaveProperty("authorization");
    await putBundle("http://g", R1, bytes, gateway(200, "{}"));
    await expect(putBundle("http://g", R1, bytes, gateway(403, JSON.stringify({ error: "no function version is registered" })))).rejects.toThrow(
      "The gateway did not take the bundle: HTTP 403 no function version is registered",
    );
    const down = (async () => Promise.reject(new TypeError("fetch failed"))) as unknown as typeof fetch;
    await expect(putBundle("http://g", R1, bytes, down)).rejects.toThrow("The gateway at http://g is unreachable from this page");
  });
});

describe("uploadBundle (POST /origins)", () => {
  const gateway = (status: number, body: string, seen: { url?: string; init?: RequestInit }[] = []) =>
    (async (url: string, init: RequestInit) => {
      seen.push({ url, init });
      return new Response(body, { status });
    }) as unknown as typeof fetch;

  it("asks the gateway to fetch the bundle with the operator token and returns its root as bytes32", async () => {
    const seen: { url?: string; init?: RequestInit }[] = [];
    const hash = "AB".repeat(32);
    expect(await uploadBundle("http://127.0.0.1:4220/", "secret", "https://example.org/hello.js", gateway(201, JSON.stringify({ hash }), seen))).toBe(
      `0x${"ab".repeat(32)}`,
    );
    expect(seen[0].url).toBe("http://127.0.0.1:4220/origins");
    expect(seen[0].init).toMatchObject({
      method: "POST",
      headers: { authorization: "Bearer secret", "content-type": "application/json" },
      body: JSON.stringify({ url: "https://example.org/hello.js" }),
    });
  });

  it("says why the gateway refused", async () => {
    await expect(uploadBundle("http://g", "bad", "https://x/b.js", gateway(401, JSON.stringify({ error: "bad operator token" })))).rejects.toThrow(
      "The gateway refused the operator token (bad operator token).",
    );
    await expect(uploadBundle("http://g", "t", "https://x/b.js", gateway(403, JSON.stringify({ error: "adding content is disabled" })))).rejects.toThrow(
      "The gateway does not accept uploads (adding content is disabled).",
    );
    await expect(uploadBundle("http://g", "t", "https://x/b.js", gateway(502, "origin down"))).rejects.toThrow(
      "The gateway refused the bundle: HTTP 502 origin down",
    );
    await expect(uploadBundle("http://g", "t", "https://x/b.js", gateway(201, JSON.stringify({ hash: "12" })))).rejects.toThrow(
      "not a content root (64 hex characters): 12",
    );
    const down = (async () => Promise.reject(new TypeError("fetch failed"))) as unknown as typeof fetch;
    await expect(uploadBundle("http://g", "t", "https://x/b.js", down)).rejects.toThrow("The gateway at http://g is unreachable from this page");
  });

  it("keeps roots as the registry takes them", () => {
    expect(rootToBytes32("11".repeat(32))).toBe(R1);
    expect(() => rootToBytes32("0x11")).toThrow("not a content root");
  });
});

describe("defaultUploadGateway", () => {
  it("goes through the page's host when it forwards uploads, else to gateway 0, else nowhere", () => {
    const gateways = ["http://127.0.0.1:4220", "http://127.0.0.1:4221"];
    expect(defaultUploadGateway({ gateways, gatewayForward: true }, "http://127.0.0.1:5173/#/functions")).toBe("http://127.0.0.1:5173/gateways/0");
    expect(defaultUploadGateway({ gateways, gatewayForward: true }, "https://dash.example.org/app/index.html#/functions")).toBe(
      "https://dash.example.org/app/gateways/0",
    );
    expect(defaultUploadGateway({ gateways }, "http://127.0.0.1:5173/")).toBe("http://127.0.0.1:4220");
    expect(defaultUploadGateway({}, "http://127.0.0.1:5173/")).toBe("");
  });
});

describe("Functions page", () => {
  const functions: EdgeFunctionInfo[] = [
    {
      id: 1,
      name: "hello",
      owner: ALICE,
      version: 2,
      root: R2,
      limits: { memoryMiB: 64, cpuMs: 20, wallMs: 1_000, bundleBytes: 65_536 },
      updatedAt: 1_767_225_600n,
      invocations: 1_234_567n,
      revenue: 370_371n,
    },
    {
      id: 2,
      name: "echo-2",
      owner: BOB,
      version: 1,
      root: R1,
      limits: { memoryMiB: 32, cpuMs: 10, wallMs: 100, bundleBytes: 4_096 },
      updatedAt: 1_767_225_600n,
      invocations: 0n,
      revenue: 0n,
    },
  ];
  const data = {
    edgeFunctions: async () => functions,
    computePrices: async () => ({ perMillionRequests: 400_000n, perMillionCpuMs: 30_000n, setAt: 1_767_225_600n }),
    functionVersions: async (id: number) =>
      id === 1
        ? [
            { version: 2, root: R2, limits: functions[0].limits, publishedAt: 1_767_225_600n, txHash: "0x02" },
            { version: 1, root: R1, limits: DEFAULT_LIMITS, publishedAt: 1_767_139_200n, txHash: "0x01" },
          ]
        : [],
  } as unknown as DashboardData;
  const app: AppState = {
    deployment: { chainId: 31337, rpcUrl: "http://127.0.0.1:1", contracts: {} as AppState["deployment"]["contracts"] },
    data,
    version: 0,
    refresh: () => {},
    sawBlock: () => {},
  };

  it("lists functions with version, root, limits and the most a million calls cost, the prices, and asks for a wallet to deploy", async () => {
    render(
      <WalletProvider expectedChainId={31337}>
        <AppContext.Provider value={app}>
          <Functions />
        </AppContext.Provider>
      </WalletProvider>,
    );
    const rows = await screen.findAllByTestId("function-row");
    expect(rows.map((r) => within(r).getByRole("rowheader").textContent)).toEqual(["hello", "echo-2"]);
    expect(rows.map((r) => within(r).getByTestId("function-version").textContent)).toEqual(["2", "1"]);
    expect(within(rows[0]).getByTestId("function-limits").textContent).toBe("64 MiB, 20 ms CPU, 1,000 ms wall, 65,536 B");
    // 400,000 + 20 × 30,000 and 400,000 + 10 × 30,000 USDC units per million calls.
    expect(rows.map((r) => within(r).getByTestId("function-cost").textContent)).toEqual(["1 USDC", "0.7 USDC"]);
    // What the reports charged: every invocation, and the USDC units paid to the nodes to the unit.
    expect(rows.map((r) => within(r).getByTestId("function-invocations").textContent)).toEqual(["1,234,567", "0"]);
    expect(rows.map((r) => within(r).getByTestId("function-revenue").textContent)).toEqual(["0.370371 USDC", "0 USDC"]);
    expect(within(rows[0]).getByTitle(R2).textContent).toBe("0x2a2a2a2a…2a2a2a");
    expect(screen.getByTestId("price-requests").textContent).toContain("0.4 USDC");
    expect(screen.getByTestId("price-cpu").textContent).toContain("0.03 USDC");
    expect(screen.getByTestId("price-example").textContent).toContain("1.9 USDC");
    expect(screen.getByText("Connect a wallet to deploy a function.")).toBeTruthy();

    // A function's versions, newest first, on demand.
    expect(screen.queryByTestId("version-row")).toBeNull();
    fireEvent.click(within(rows[0]).getByRole("button", { name: "Versions" }));
    const versions = await screen.findAllByTestId("version-row");
    expect(screen.getByRole("heading", { name: "Versions of hello" })).toBeTruthy();
    expect(versions.map((r) => [within(r).getByRole("rowheader").textContent, r.querySelector("code")!.textContent])).toEqual([
      ["2", R2],
      ["1", R1],
    ]);
    expect(versions[1].textContent).toContain("128 MiB, 50 ms CPU, 15,000 ms wall, 1,048,576 B");
    expect(within(rows[0]).getByRole("button", { name: "Versions" }).getAttribute("aria-pressed")).toBe("true");
  });
});
