/**
 * Hardhat's public test accounts ("test test … junk") and the roles the local network gives them.
 * The keys are public: never send anything of value to these addresses on a live chain.
 */
import { HDNodeWallet, Mnemonic, Wallet, type Provider } from "ethers";

/** Hardhat's default mnemonic. */
export const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";

/** What each account does on the local network (indices into Hardhat's accounts). */
export const ROLES = {
  deployer: 0, // also the token sale beneficiary (ignition/parameters/local.json)
  team: [1, 2],
  earlySupporters: [3, 4],
  foundation: 5,
  incentives: 6,
  stakers: [7, 8, 9],
  operators: [10, 11, 12, 13],
  clients: [14, 15],
  creators: [7, 8],
  developer: 16, // owns the example edge function on FunctionRegistry
} as const;

/**
 * Seed of the demo client's Ed25519 key, whose calls to the example function the first service
 * client's escrow pays: fixed, so the curl in the README is the one `npm start` prints. It is the
 * secret key of RFC 8032's first test vector (public key d75a9801…511a), public like the accounts
 * above: anyone can spend that escrow with it on a network that binds it.
 */
export const DEMO_CLIENT_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

/** Hardhat account `i` with its private key, connected to `provider`. */
export function hardhatAccount(i: number, provider?: Provider): Wallet {
  const node = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(HARDHAT_MNEMONIC), `m/44'/60'/0'/0/${i}`);
  return new Wallet(node.privateKey, provider);
}

/** The accounts the network uses, labelled, for the start-up banner. */
export function accountTable(): { index: number; role: string; address: string; privateKey: string }[] {
  const role = (i: number): string => {
    if (i === ROLES.deployer) return "deployer, token sale, staker, proposer";
    if ((ROLES.team as readonly number[]).includes(i)) return "team allocation";
    if ((ROLES.earlySupporters as readonly number[]).includes(i)) return "early supporters allocation";
    if (i === ROLES.foundation) return "foundation allocation, staker";
    if (i === ROLES.incentives) return "incentives allocation";
    if ((ROLES.stakers as readonly number[]).includes(i)) return `staker${(ROLES.creators as readonly number[]).includes(i) ? ", creator token" : ""}`;
    if ((ROLES.operators as readonly number[]).includes(i)) return "node operator";
    if (i === ROLES.clients[0]) return "service client (USDC in escrow), pays for the demo client key";
    if ((ROLES.clients as readonly number[]).includes(i)) return "service client (USDC in escrow)";
    if (i === ROLES.developer) return "developer, owns the example function";
    return "spare";
  };
  return Array.from({ length: ROLES.developer + 1 }, (_, i) => {
    const w = hardhatAccount(i);
    return { index: i, role: role(i), address: w.address, privateKey: w.privateKey };
  });
}
