import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { discoverWallets, type DiscoveredWallet } from "../src/wallet/eip6963";
import { WalletProvider } from "../src/wallet/WalletContext";
import { WalletButton } from "../src/wallet/WalletButton";
import { fakeWallet } from "./fakeWallet";

const ACCOUNT = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const wallets: ReturnType<typeof fakeWallet>[] = [];
const make = (...args: Parameters<typeof fakeWallet>) => {
  const w = fakeWallet(...args);
  wallets.push(w);
  return w;
};

afterEach(() => {
  cleanup();
  wallets.splice(0).forEach((w) => w.remove());
});

describe("EIP-6963 discovery", () => {
  it("finds every announcing wallet once, including late announcements", () => {
    const a = make("Alpha", { chainId: 1, account: ACCOUNT });
    let seen: DiscoveredWallet[] = [];
    const stop = discoverWallets((list) => (seen = list));
    expect(seen.map((w) => w.info.name)).toEqual(["Alpha"]);
    a.announce();
    const b = make("Beta", { chainId: 1, account: ACCOUNT });
    b.announce();
    expect(seen.map((w) => w.info.name)).toEqual(["Alpha", "Beta"]);
    stop();
  });

  it("ignores malformed announcements", () => {
    let seen: DiscoveredWallet[] = [];
    const stop = discoverWallets((list) => (seen = list));
    window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: { info: { uuid: "x" }, provider: {} } }));
    expect(seen).toEqual([]);
    stop();
  });
});

describe("WalletButton", () => {
  it("says no wallet was found when none announces", async () => {
    render(
      <WalletProvider expectedChainId={31337}>
        <WalletButton />
      </WalletProvider>,
    );
    fireEvent.click(screen.getByRole("button", { name: "Connect wallet" }));
    expect(screen.getByText(/No wallet found/)).toBeTruthy();
  });

  it("connects the chosen wallet and shows the account on the expected chain", async () => {
    make("Alpha", { chainId: 31337, account: ACCOUNT });
    render(
      <WalletProvider expectedChainId={31337}>
        <WalletButton />
      </WalletProvider>,
    );
    fireEvent.click(screen.getByRole("button", { name: "Connect wallet" }));
    fireEvent.click(await screen.findByRole("button", { name: /Alpha/ }));
    expect((await screen.findByTestId("account")).textContent).toBe("0xf39F…2266");
    expect(screen.getByText("Local devnet")).toBeTruthy();
  });

  it("prompts a switch on the wrong network and switches through the wallet", async () => {
    const w = make("Alpha", { chainId: 1, account: ACCOUNT });
    render(
      <WalletProvider expectedChainId={84532}>
        <WalletButton />
      </WalletProvider>,
    );
    fireEvent.click(screen.getByRole("button", { name: "Connect wallet" }));
    fireEvent.click(await screen.findByRole("button", { name: /Alpha/ }));
    fireEvent.click(await screen.findByRole("button", { name: "Switch to Base Sepolia" }));
    await waitFor(() => expect(screen.getByText("Base Sepolia")).toBeTruthy());
    expect(w.calls.find((c) => c.method === "wallet_switchEthereumChain")?.params).toEqual([{ chainId: "0x14a34" }]);
  });

  it("adds the chain when the wallet does not know it (error 4902)", async () => {
    const w = make("Alpha", { chainId: 1, account: ACCOUNT, rejectSwitch: 4902 });
    render(
      <WalletProvider expectedChainId={8453}>
        <WalletButton />
      </WalletProvider>,
    );
    fireEvent.click(screen.getByRole("button", { name: "Connect wallet" }));
    fireEvent.click(await screen.findByRole("button", { name: /Alpha/ }));
    fireEvent.click(await screen.findByRole("button", { name: "Switch to Base" }));
    await waitFor(() => expect(screen.getByText("Base")).toBeTruthy());
    const add = w.calls.find((c) => c.method === "wallet_addEthereumChain")?.params as { chainName: string; rpcUrls: string[] }[];
    expect(add[0].chainName).toBe("Base");
    expect(add[0].rpcUrls).toEqual(["https://mainnet.base.org"]);
  });
});

describe("WalletButton keyboard", () => {
  it("closes the wallet menu with Escape", () => {
    make("Alpha", { chainId: 31337, account: ACCOUNT });
    render(
      <WalletProvider expectedChainId={31337}>
        <WalletButton />
      </WalletProvider>,
    );
    const toggle = screen.getByRole("button", { name: "Connect wallet" });
    fireEvent.click(toggle);
    expect(toggle.getAttribute("aria-expanded")).toBe("true");
    fireEvent.keyDown(screen.getByRole("button", { name: /Alpha/ }), { key: "Escape" });
    expect(toggle.getAttribute("aria-expanded")).toBe("false");
    expect(screen.queryByRole("list", { name: "Wallets found in this browser" })).toBeNull();
  });
});

describe("WalletButton menu focus and dismissal", () => {
  // An earlier test's connection is remembered and would reconnect silently, replacing the menu.
  beforeEach(() => localStorage.clear());
  const open = () => {
    render(
      <WalletProvider expectedChainId={31337}>
        <WalletButton />
        <p>Outside the menu</p>
      </WalletProvider>,
    );
    const toggle = screen.getByRole("button", { name: "Connect wallet" });
    fireEvent.click(toggle);
    return toggle;
  };

  it("moves focus into the menu when it opens, and back to its button on Escape pressed anywhere", async () => {
    make("Alpha", { chainId: 31337, account: ACCOUNT });
    const toggle = open();
    await waitFor(() => expect(document.activeElement).toBe(screen.getByRole("button", { name: /Alpha/ })));
    // Escape from outside the list (where focus was before this fix) closes it too.
    fireEvent.keyDown(document.body, { key: "Escape" });
    expect(toggle.getAttribute("aria-expanded")).toBe("false");
    expect(document.activeElement).toBe(toggle);
  });

  it("closes on a click outside, and stays open on a click inside", () => {
    make("Alpha", { chainId: 31337, account: ACCOUNT });
    const toggle = open();
    fireEvent.pointerDown(screen.getByRole("list", { name: "Wallets found in this browser" }));
    expect(toggle.getAttribute("aria-expanded")).toBe("true");
    fireEvent.pointerDown(screen.getByText("Outside the menu"));
    expect(toggle.getAttribute("aria-expanded")).toBe("false");
    expect(screen.queryByRole("list", { name: "Wallets found in this browser" })).toBeNull();
  });
});
