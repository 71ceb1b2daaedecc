// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {BuybackBurner} from "../buyback/BuybackBurner.sol";
import {CreatorMarket} from "../creator/CreatorMarket.sol";
import {ServiceEscrow, IEpochClock} from "../payments/ServiceEscrow.sol";

/// @title AgentMarketplace: AI agents, their listings and hosting leases, and their call revenue
/// @notice An owner registers an agent (id from 1): a name, a character/config root and a bundle
/// root (BLAKE3 content roots, as edge functions); publishing a new pair is a new version. The
/// listing is a price per call in USDC and optionally in the owner's creator token; a price set in
/// epoch `e` applies from `e + 1` ({priceAt}), so a call served in an epoch is charged the price
/// fixed when the epoch started, whatever the owner does meanwhile (docs/agents.md). Pausing
/// applies at once. The lease is the memory the agent reserves on its host node, prepaid here and
/// charged by the second at the governance's price per GiB-hour; {collectRent} sends the rent to
/// the node rewards pool. After an epoch's report the escrow hands each agent's call revenue
/// to {settle}: the node share stays with the escrow's node pool, the owner share is credited here
/// for the owner to {withdraw} (pull), and the protocol fee goes to the buyback-and-burn contract.
/// The owner (the timelock) sets the split, the hosting prices and the settlement addresses.
contract AgentMarketplace is Ownable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Basis-point denominator: the split's three shares sum to it.
    uint256 public constant BPS = 10_000;
    /// @notice Least share of call revenue for the agent's owner.
    uint256 public constant MIN_OWNER_BPS = 5_000;
    /// @notice Least share of call revenue for the node that served the calls.
    uint256 public constant MIN_NODE_BPS = 500;
    /// @notice Largest protocol fee (bought back and burned).
    uint256 public constant MAX_PROTOCOL_BPS = 2_000;
    /// @notice Longest agent name, bytes (at least one).
    uint256 public constant MAX_NAME_BYTES = 64;
    /// @notice Largest memory reservation of a lease: 4 GiB.
    uint32 public constant MAX_MEMORY_MIB = 4_096;
    /// @notice Highest price per call: 1,000 USDC.
    uint64 public constant MAX_CALL_PRICE = 1_000e6;
    /// @notice Highest price per call in a creator token: 10^9 tokens (18 decimals).
    uint96 public constant MAX_TOKEN_PRICE = 1e27;
    /// @notice Highest hosting price, per GiB-hour or per 1,000 LLM tokens: 10 USDC.
    uint64 public constant MAX_HOSTING_PRICE = 10e6;
    /// @notice Most revenue entries in one {settle}: 256 entries that each credit a new owner use
    /// about 7.6M gas, half the 2^24 gas cap of a transaction, leaving the rest to the escrow's
    /// debit in the same transaction (docs/agents.md).
    uint256 public constant MAX_SETTLE_ENTRIES = 256;
    /// @notice Lease credit is kept in USDC units × 3,600 s × 1,024 MiB, so one second of a lease
    /// costs exactly `memoryMiB × pricePerGiBHour` of it: no rounding however often it is charged.
    uint256 public constant LEASE_SCALE = 3_686_400;
    /// @notice Most leases one {collectRent} charges.
    uint256 public constant MAX_COLLECT = 256;

    /// @notice An agent: owner, number of versions (the latest is served), lease and name.
    struct Agent {
        address owner;
        uint32 versionCount;
        // Memory the host node reserves for the agent (the lease's charge per hour).
        uint32 memoryMiB;
        string name;
    }

    /// @notice One version: the character/config and the JavaScript bundle, by content root.
    struct Version {
        bytes32 configRoot;
        bytes32 bundleRoot;
        uint64 publishedAt;
    }

    /// @dev The prices of the current epoch and those in force from `nextFrom` (0: never set).
    struct Listing {
        uint64 price;
        uint64 nextPrice;
        uint64 nextFrom;
        bool paused;
        address token;
        uint96 tokenPrice;
        address nextToken;
        uint96 nextTokenPrice;
    }

    /// @dev The split of call revenue, in one slot.
    struct Split {
        uint16 nodeBps;
        uint16 ownerBps;
        uint16 protocolBps;
    }

    /// @notice A hosting lease: `credit` (USDC units × {LEASE_SCALE}) as of `paidTo`, spent at
    /// `rate` per second (`memoryMiB × pricePerGiBHour`, fixed at the last checkpoint) while the
    /// listing is not paused.
    struct Lease {
        uint192 credit;
        uint64 paidTo;
        uint64 rate;
    }

    /// @notice What a node needs to host an agent ({hosting}).
    struct Hosting {
        address owner;
        uint32 version;
        uint32 memoryMiB;
        bytes32 configRoot;
        bytes32 bundleRoot;
        bool paused;
        uint64 endsAt;
        uint64 secondsLeft;
    }

    /// @dev Sums of one {settle}.
    struct Totals {
        uint256 amount;
        uint256 toNodes;
        uint256 toOwners;
        uint256 toProtocol;
    }

    /// @notice The payment token (USDC, 6 decimals).
    IERC20 public immutable usdc;
    /// @notice The registry's epoch clock: price changes apply from its next epoch.
    IEpochClock public immutable clock;
    /// @notice The creator-token market: an agent's token price is in its owner's token.
    CreatorMarket public immutable creatorMarket;
    /// @notice The only caller of {settle}; its compute price per CPU-ms is the agents' too.
    ServiceEscrow public escrow;
    /// @notice Receives the protocol fee.
    BuybackBurner public buyback;
    /// @notice Hosting: USDC units per GiB of reserved memory per agent-hour.
    uint64 public pricePerGiBHour;
    /// @notice Hosting: USDC units per 1,000 LLM tokens metered by the host API.
    uint64 public pricePer1kTokens;

    Split private _split;
    /// @notice Agents registered, ids from 1.
    uint256 public agentCount;
    /// @notice Each agent by id.
    mapping(uint256 id => Agent) public agents;
    /// @dev Versions of each agent, 1-based.
    mapping(uint256 id => mapping(uint32 version => Version)) private _versions;
    mapping(uint256 id => Listing) private _listings;
    /// @notice Whether an epoch's revenue was settled.
    mapping(uint64 epoch => bool) public settled;
    /// @notice USDC each owner may withdraw.
    mapping(address owner => uint256) public balanceOf;
    /// @notice USDC credited to owners and not withdrawn (the contract's USDC holdings).
    uint256 public totalOwed;
    /// @notice USDC owners withdrew in all.
    uint256 public totalWithdrawn;
    /// @notice USDC of protocol fees sent to the buyback in all.
    uint256 public totalProtocolFees;
    /// @notice Each agent's hosting lease.
    mapping(uint256 id => Lease) public leases;
    /// @notice Rent charged to leases and not yet sent to the rewards pool (× {LEASE_SCALE}).
    uint256 public rentAccrued;
    /// @notice USDC of rent sent to the node rewards pool in all.
    uint256 public totalRentCollected;

    /// @notice An agent was registered.
    event AgentRegistered(uint256 indexed id, address indexed owner, string name);
    /// @notice A version was published (version 1 at registration).
    event AgentVersionPublished(uint256 indexed id, uint32 indexed version, bytes32 configRoot, bytes32 bundleRoot);
    /// @notice An agent changed owner.
    event AgentOwnerChanged(uint256 indexed id, address indexed previousOwner, address indexed newOwner);
    /// @notice An agent's lease reserves `memoryMiB` on its host node.
    event LeaseSet(uint256 indexed id, uint32 memoryMiB);
    /// @notice From epoch `fromEpoch` a call costs `price` USDC units, or `tokenPrice` of `token`
    /// (the owner's creator token; zero address and 0: no token price).
    event ListingPriceSet(uint256 indexed id, uint64 price, address token, uint96 tokenPrice, uint64 fromEpoch);
    /// @notice `from` added `amount` USDC units to agent `id`'s lease.
    event LeaseFunded(uint256 indexed id, address indexed from, uint256 amount);
    /// @notice Agent `id`'s lease after a checkpoint: `balance` USDC units left (rounded down),
    /// funded until `endsAt` (0: paused, not running; 2^64-1: free, never ends), `rent` units
    /// charged since the previous checkpoint (rounded down).
    event LeaseUpdated(uint256 indexed id, uint256 balance, uint64 endsAt, uint256 rent);
    /// @notice The owner took back the unused balance of paused agent `id`'s lease.
    event LeaseWithdrawn(uint256 indexed id, address indexed owner, uint256 amount);
    /// @notice `amount` USDC of rent went to the node rewards pool `rewards` after charging `leases`.
    event RentCollected(address indexed rewards, uint256 amount, uint256 leases);
    /// @notice The owner paused or resumed the listing (at once).
    event ListingPausedSet(uint256 indexed id, bool paused);
    /// @notice Governance set the hosting prices.
    event HostingPricesSet(uint64 pricePerGiBHour, uint64 pricePer1kTokens);
    /// @notice Governance set the split of call revenue.
    event SplitSet(uint16 nodeBps, uint16 ownerBps, uint16 protocolBps);
    /// @notice Governance set the settlement addresses.
    event SettlementSet(address escrow, address buyback);
    /// @notice Agent `id`'s calls in `epoch` earned `amount`: `toNodes` stays with the escrow's node
    /// pool, `toOwner` is credited to `owner`, `toProtocol` goes to the buyback.
    event AgentRevenue(
        uint64 indexed epoch, uint256 indexed id, address indexed owner, uint256 amount, uint256 toNodes, uint256 toOwner, uint256 toProtocol
    );
    /// @notice An epoch was settled: its totals (the buyback received `toProtocol`).
    event EpochSettled(uint64 indexed epoch, uint256 entries, uint256 amount, uint256 toNodes, uint256 toOwners, uint256 toProtocol);
    /// @notice An owner withdrew its balance.
    event Withdrawn(address indexed owner, uint256 amount);

    /// @notice The name is empty or longer than {MAX_NAME_BYTES}.
    error AgentMarketBadName();
    /// @notice A zero root.
    error AgentMarketBadRoot();
    /// @notice A memory reservation of zero or above {MAX_MEMORY_MIB}.
    error AgentMarketBadLease(uint256 memoryMiB);
    /// @notice A price above its cap.
    error AgentMarketBadPrice();
    /// @notice A token price while the owner's creator token does not exist yet.
    error AgentMarketNoCreatorToken(address owner);
    /// @notice No agent has this id.
    error AgentMarketUnknown(uint256 id);
    /// @notice No such version of the agent.
    error AgentMarketUnknownVersion(uint256 id, uint32 version);
    /// @notice Only the agent's owner may do this.
    error AgentMarketNotOwner(uint256 id, address caller);
    /// @notice Ownership cannot go to the zero address.
    error AgentMarketZeroOwner();
    /// @notice The listing is already in that state.
    error AgentMarketPauseUnchanged(bool paused);
    /// @notice A split that does not sum to {BPS} or breaks a bound, a hosting price above its cap,
    /// a zero address, or a token without 6 decimals.
    error AgentMarketBadParameter();
    /// @notice Only the escrow settles.
    error AgentMarketUnauthorized(address caller);
    /// @notice The epoch was settled already.
    error AgentMarketEpochSettled(uint64 epoch);
    /// @notice Ids and amounts of different lengths, or more than {MAX_SETTLE_ENTRIES}.
    error AgentMarketBadSettlement();
    /// @notice Nothing to withdraw.
    error AgentMarketNothingToWithdraw();
    /// @notice A lease is funded with zero.
    error AgentMarketZeroAmount();
    /// @notice A running lease's balance cannot be withdrawn: pause the agent first.
    error AgentMarketLeaseRunning(uint256 id);
    /// @notice More than {MAX_COLLECT} leases in one {collectRent}.
    error AgentMarketTooManyLeases(uint256 count);

    /// @param usdc_ USDC (6 decimals)
    /// @param clock_ the node registry (its epoch)
    /// @param creatorMarket_ the creator-token market
    /// @param owner_ sets the parameters (the timelock)
    /// @param escrow_ the service escrow: calls {settle}, gives the CPU price
    /// @param buyback_ receives the protocol fee
    constructor(IERC20 usdc_, IEpochClock clock_, CreatorMarket creatorMarket_, address owner_, ServiceEscrow escrow_, BuybackBurner buyback_)
        Ownable(owner_)
    {
        if (IERC20Metadata(address(usdc_)).decimals() != 6 || address(clock_) == address(0) || address(creatorMarket_) == address(0)) {
            revert AgentMarketBadParameter();
        }
        usdc = usdc_;
        clock = clock_;
        creatorMarket = creatorMarket_;
        _setSettlement(escrow_, buyback_);
        _setSplit(2_000, 7_000, 1_000);
        _setHostingPrices(7_000, 1_000);
    }

    // ---------------------------------------------------------------- agents

    /// @notice Registers an agent for the caller with its first version, lease and USDC price (the
    /// price applies from the next epoch, like every price change; nodes serve an agent from the
    /// epoch after its registration).
    /// @param name 1 to {MAX_NAME_BYTES} bytes (not unique: the id names the agent)
    /// @param configRoot content root of the character/config file of version 1
    /// @param bundleRoot content root of the JavaScript bundle of version 1
    /// @param memoryMiB memory the lease reserves, 1 to {MAX_MEMORY_MIB}
    /// @param price USDC units per call, at most {MAX_CALL_PRICE} (0: free calls)
    /// @return id the new agent's id
    function register(string calldata name, bytes32 configRoot, bytes32 bundleRoot, uint32 memoryMiB, uint64 price)
        external
        returns (uint256 id)
    {
        if (bytes(name).length == 0 || bytes(name).length > MAX_NAME_BYTES) revert AgentMarketBadName();
        id = ++agentCount;
        Agent storage a = agents[id];
        a.owner = msg.sender;
        a.name = name;
        emit AgentRegistered(id, msg.sender, name);
        _publish(id, a, configRoot, bundleRoot);
        _setLease(id, a, memoryMiB);
        _setPrice(id, _listings[id], clock.epoch(), price, address(0), 0);
    }

    /// @notice Publishes a new version of agent `id` (owner only); nodes serve the latest.
    /// @param id the agent
    /// @param configRoot content root of the character/config file
    /// @param bundleRoot content root of the JavaScript bundle
    /// @return version the new version's number
    function publish(uint256 id, bytes32 configRoot, bytes32 bundleRoot) external returns (uint32 version) {
        return _publish(id, _owned(id), configRoot, bundleRoot);
    }

    /// @notice Hands agent `id` to `newOwner` (owner only). A token price is in the previous
    /// owner's creator token, so it ends from the next epoch; the USDC price stays. Revenue
    /// settled from then on is the new owner's.
    /// @param id the agent
    /// @param newOwner the new owner, not zero
    function transferAgent(uint256 id, address newOwner) external {
        Agent storage a = _owned(id);
        if (newOwner == address(0)) revert AgentMarketZeroOwner();
        emit AgentOwnerChanged(id, a.owner, newOwner);
        a.owner = newOwner;
        Listing storage l = _listings[id];
        uint64 e = clock.epoch();
        _roll(l, e);
        if (l.tokenPrice != 0 || l.nextTokenPrice != 0) _setPrice(id, l, e, l.nextPrice, address(0), 0);
    }

    /// @notice Sets the memory agent `id`'s lease reserves on its host node (owner only): the time
    /// until now is charged at the old rate, the new rate (at the hosting price now in force)
    /// applies from now.
    /// @param id the agent
    /// @param memoryMiB 1 to {MAX_MEMORY_MIB}
    function setLease(uint256 id, uint32 memoryMiB) external {
        _setLease(id, _owned(id), memoryMiB);
    }

    // ---------------------------------------------------------------- leases

    /// @notice Adds `amount` USDC (approve first) to agent `id`'s lease, from anyone; a lease that
    /// ran out runs again from now. Unused funds go back to the agent's owner ({withdrawLease}).
    /// @param id the agent
    /// @param amount USDC units, not zero
    function fundLease(uint256 id, uint128 amount) external nonReentrant {
        Agent storage a = _agent(id);
        if (amount == 0) revert AgentMarketZeroAmount();
        Lease storage s = leases[id];
        uint256 rent = _accrue(id, s);
        s.credit += uint192(uint256(amount) * LEASE_SCALE);
        emit LeaseFunded(id, msg.sender, amount);
        _rerate(id, a, s, rent);
        usdc.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Sends the owner of paused agent `id` its lease's unused balance (owner only).
    /// @param id the agent, paused
    /// @return amount USDC units sent (whole units; a fraction stays with the lease)
    function withdrawLease(uint256 id) external nonReentrant returns (uint256 amount) {
        Agent storage a = _owned(id);
        if (!_listings[id].paused) revert AgentMarketLeaseRunning(id);
        Lease storage s = leases[id];
        amount = s.credit / LEASE_SCALE;
        if (amount == 0) revert AgentMarketNothingToWithdraw();
        s.credit -= uint192(amount * LEASE_SCALE);
        emit LeaseWithdrawn(id, msg.sender, amount);
        _rerate(id, a, s, _accrue(id, s));
        usdc.safeTransfer(msg.sender, amount);
    }

    /// @notice Charges the leases of `ids` up to now (anyone; a lease may appear twice) and sends
    /// all rent charged so far to the node rewards pool (the escrow's `rewards`, where the node
    /// share of service revenue goes). Charging re-reads the hosting price: a price change applies
    /// to a lease from its next checkpoint, never backwards.
    /// @param ids at most {MAX_COLLECT} agents, each registered (none: only send what was charged)
    /// @return amount USDC units sent
    function collectRent(uint256[] calldata ids) external nonReentrant returns (uint256 amount) {
        uint256 n = ids.length;
        if (n > MAX_COLLECT) revert AgentMarketTooManyLeases(n);
        for (uint256 i = 0; i < n; ++i) {
            uint256 id = ids[i];
            Agent storage a = _agent(id);
            Lease storage s = leases[id];
            _rerate(id, a, s, _accrue(id, s));
        }
        amount = rentAccrued / LEASE_SCALE;
        rentAccrued -= amount * LEASE_SCALE;
        totalRentCollected += amount;
        address rewards = escrow.rewards();
        emit RentCollected(rewards, amount, n);
        if (amount != 0) usdc.safeTransfer(rewards, amount);
    }

    // ---------------------------------------------------------------- listings

    /// @notice Sets agent `id`'s prices per call from the next epoch (owner only): a call served
    /// during this epoch keeps the price this epoch started with ({priceAt}).
    /// @param id the agent
    /// @param price USDC units per call, at most {MAX_CALL_PRICE} (0: free)
    /// @param tokenPrice wei of the owner's creator token per call, at most {MAX_TOKEN_PRICE}
    /// (0: no token price; otherwise the token must exist)
    function setPrice(uint256 id, uint64 price, uint96 tokenPrice) external {
        Agent storage a = _owned(id);
        address token;
        if (tokenPrice != 0) {
            if (!creatorMarket.tokenExists(a.owner)) revert AgentMarketNoCreatorToken(a.owner);
            token = creatorMarket.tokenOf(a.owner);
        }
        Listing storage l = _listings[id];
        uint64 e = clock.epoch();
        _roll(l, e);
        _setPrice(id, l, e, price, token, tokenPrice);
    }

    /// @notice Pauses or resumes agent `id`'s listing at once (owner only): nodes stop taking
    /// calls for a paused agent and free its memory, so its lease stops being charged (and may be
    /// withdrawn) until it resumes; calls already served this epoch are charged at the epoch's price.
    /// @param id the agent
    /// @param paused the new state
    function setPaused(uint256 id, bool paused) external {
        Agent storage a = _owned(id);
        Listing storage l = _listings[id];
        if (l.paused == paused) revert AgentMarketPauseUnchanged(paused);
        Lease storage s = leases[id];
        uint256 rent = _accrue(id, s);
        l.paused = paused;
        emit ListingPausedSet(id, paused);
        _rerate(id, a, s, rent);
    }

    // ---------------------------------------------------------------- settlement

    /// @notice Settles the call revenue of `epoch` (escrow only, once per epoch). `amounts[i]` is
    /// the USDC agent `agentIds[i]`'s calls earned (an agent may appear once per serving node).
    /// Pulls the owner and protocol shares from the escrow (approve first), credits each owner,
    /// and deposits the protocol fees into the buyback; the node shares stay with the escrow.
    /// Shares round down; the rest of each amount is the nodes'.
    /// @param epoch the reported epoch
    /// @param agentIds agents, each registered
    /// @param amounts USDC units, one per agent id
    /// @return toNodes the node shares in all: what the escrow pays to its node pool
    function settle(uint64 epoch, uint256[] calldata agentIds, uint256[] calldata amounts) external nonReentrant returns (uint256 toNodes) {
        if (msg.sender != address(escrow)) revert AgentMarketUnauthorized(msg.sender);
        if (settled[epoch]) revert AgentMarketEpochSettled(epoch);
        uint256 n = agentIds.length;
        if (n != amounts.length || n > MAX_SETTLE_ENTRIES) revert AgentMarketBadSettlement();
        settled[epoch] = true;
        Split memory s = _split;
        Totals memory t;
        for (uint256 i = 0; i < n; ++i) _credit(epoch, agentIds[i], amounts[i], s, t);
        totalOwed += t.toOwners;
        totalProtocolFees += t.toProtocol;
        emit EpochSettled(epoch, n, t.amount, t.toNodes, t.toOwners, t.toProtocol);
        uint256 pulled = t.toOwners + t.toProtocol;
        if (pulled != 0) usdc.safeTransferFrom(msg.sender, address(this), pulled);
        if (t.toProtocol != 0) {
            BuybackBurner b = buyback;
            usdc.forceApprove(address(b), t.toProtocol);
            b.deposit(t.toProtocol);
        }
        return t.toNodes;
    }

    /// @notice Sends the caller its whole balance of owner revenue.
    /// @return amount USDC units sent
    function withdraw() external nonReentrant returns (uint256 amount) {
        amount = balanceOf[msg.sender];
        if (amount == 0) revert AgentMarketNothingToWithdraw();
        balanceOf[msg.sender] = 0;
        totalOwed -= amount;
        totalWithdrawn += amount;
        emit Withdrawn(msg.sender, amount);
        usdc.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- governance

    /// @notice Sets the split of call revenue (owner: the timelock); applies to the next {settle}.
    /// @param nodeBps at least {MIN_NODE_BPS}
    /// @param ownerBps at least {MIN_OWNER_BPS}
    /// @param protocolBps at most {MAX_PROTOCOL_BPS}; the three sum to {BPS}
    function setSplit(uint16 nodeBps, uint16 ownerBps, uint16 protocolBps) external onlyOwner {
        _setSplit(nodeBps, ownerBps, protocolBps);
    }

    /// @notice Sets the hosting prices (owner: the timelock). The committee reads the token price at
    /// each epoch's first block, so it applies from the next epoch; the GiB-hour price applies to
    /// each lease from its next checkpoint (never backwards). CPU is charged at the escrow's price
    /// per CPU-ms, set there.
    /// @param perGiBHour USDC units per reserved GiB per agent-hour, at most {MAX_HOSTING_PRICE}
    /// @param per1kTokens USDC units per 1,000 LLM tokens, at most {MAX_HOSTING_PRICE}
    function setHostingPrices(uint64 perGiBHour, uint64 per1kTokens) external onlyOwner {
        _setHostingPrices(perGiBHour, per1kTokens);
    }

    /// @notice Sets the escrow (the only caller of {settle}) and the buyback (owner: the timelock).
    /// @param escrow_ not zero
    /// @param buyback_ not zero
    function setSettlement(ServiceEscrow escrow_, BuybackBurner buyback_) external onlyOwner {
        _setSettlement(escrow_, buyback_);
    }

    // ---------------------------------------------------------------- views

    /// @notice Agent `id`'s prices per call in `epoch` (the current epoch or a later one; the
    /// committee reads an epoch's prices at its first block): USDC units, and wei of `token`
    /// (zero address: no token price).
    /// @param id the agent
    /// @param epoch the epoch
    function priceAt(uint256 id, uint64 epoch) external view returns (uint256 price, address token, uint256 tokenPrice) {
        if (agents[id].owner == address(0)) revert AgentMarketUnknown(id);
        Listing storage l = _listings[id];
        if (l.nextFrom != 0 && epoch >= l.nextFrom) return (l.nextPrice, l.nextToken, l.nextTokenPrice);
        return (l.price, l.token, l.tokenPrice);
    }

    /// @notice Whether agent `id`'s listing is paused.
    /// @param id the agent
    function paused(uint256 id) external view returns (bool) {
        return _listings[id].paused;
    }

    /// @notice Until when agent `id`'s lease is funded: 0 while paused (not running), 2^64-1 while
    /// the hosting price is zero, otherwise the second its balance runs out (in the past: ended).
    /// @param id the agent
    function leaseEnds(uint256 id) public view returns (uint64) {
        if (agents[id].owner == address(0)) revert AgentMarketUnknown(id);
        if (_listings[id].paused) return 0;
        Lease storage s = leases[id];
        if (s.rate == 0) return type(uint64).max;
        uint256 ends = s.paidTo + s.credit / s.rate;
        return ends > type(uint64).max ? type(uint64).max : uint64(ends);
    }

    /// @notice What a node needs to host agent `id`, read in one call at one block: its owner,
    /// latest version and roots, reserved memory, pause state, lease end ({leaseEnds}) and the
    /// seconds the lease has left now (the node times the end with its own clock from this).
    /// @param id the agent
    function hosting(uint256 id) external view returns (Hosting memory h) {
        Agent storage a = _agent(id);
        Version storage v = _versions[id][a.versionCount];
        h.owner = a.owner;
        h.version = a.versionCount;
        h.memoryMiB = a.memoryMiB;
        h.configRoot = v.configRoot;
        h.bundleRoot = v.bundleRoot;
        h.paused = _listings[id].paused;
        h.endsAt = leaseEnds(id);
        if (h.endsAt > block.timestamp) h.secondsLeft = h.endsAt - uint64(block.timestamp);
    }

    /// @notice Agent `id`'s lease balance now, USDC units (rounded down).
    /// @param id the agent
    function leaseBalance(uint256 id) external view returns (uint256) {
        if (agents[id].owner == address(0)) revert AgentMarketUnknown(id);
        Lease storage s = leases[id];
        return (s.credit - _due(id, s)) / LEASE_SCALE;
    }

    /// @notice Version `version` of agent `id`.
    /// @param id the agent
    /// @param version 1 to its version count
    function versionOf(uint256 id, uint32 version) external view returns (Version memory) {
        if (version == 0 || version > agents[id].versionCount) revert AgentMarketUnknownVersion(id, version);
        return _versions[id][version];
    }

    /// @notice The split of call revenue, in basis points.
    function split() external view returns (uint16 nodeBps, uint16 ownerBps, uint16 protocolBps) {
        Split memory s = _split;
        return (s.nodeBps, s.ownerBps, s.protocolBps);
    }

    /// @notice The hosting prices: USDC units per reserved GiB per agent-hour, per million CPU-ms
    /// (the escrow's edge-function price) and per 1,000 LLM tokens.
    function hostingPrices() external view returns (uint64 perGiBHour, uint64 perMillionCpuMs, uint64 per1kTokens) {
        return (pricePerGiBHour, escrow.pricePerMillionCpuMs(), pricePer1kTokens);
    }

    // ---------------------------------------------------------------- internal

    /// @dev Splits one revenue entry, credits the owner's share and adds the shares to `t`.
    function _credit(uint64 epoch, uint256 id, uint256 amount, Split memory s, Totals memory t) private {
        address owner_ = agents[id].owner;
        if (owner_ == address(0)) revert AgentMarketUnknown(id);
        uint256 ownerPart = (amount * s.ownerBps) / BPS;
        uint256 protocolPart = (amount * s.protocolBps) / BPS;
        uint256 nodePart = amount - ownerPart - protocolPart;
        balanceOf[owner_] += ownerPart;
        t.amount += amount;
        t.toNodes += nodePart;
        t.toOwners += ownerPart;
        t.toProtocol += protocolPart;
        emit AgentRevenue(epoch, id, owner_, amount, nodePart, ownerPart, protocolPart);
    }

    function _publish(uint256 id, Agent storage a, bytes32 configRoot, bytes32 bundleRoot) private returns (uint32 version) {
        if (configRoot == bytes32(0) || bundleRoot == bytes32(0)) revert AgentMarketBadRoot();
        version = ++a.versionCount;
        _versions[id][version] = Version(configRoot, bundleRoot, uint64(block.timestamp));
        emit AgentVersionPublished(id, version, configRoot, bundleRoot);
    }

    function _setLease(uint256 id, Agent storage a, uint32 memoryMiB) private {
        if (memoryMiB == 0 || memoryMiB > MAX_MEMORY_MIB) revert AgentMarketBadLease(memoryMiB);
        Lease storage s = leases[id];
        uint256 rent = _accrue(id, s);
        a.memoryMiB = memoryMiB;
        emit LeaseSet(id, memoryMiB);
        _rerate(id, a, s, rent);
    }

    /// @dev Lease credit spent since the last checkpoint: none while paused, at most the credit.
    function _due(uint256 id, Lease storage s) private view returns (uint256 due) {
        if (_listings[id].paused) return 0;
        due = (block.timestamp - s.paidTo) * s.rate;
        if (due > s.credit) due = s.credit;
    }

    /// @dev Charges the lease up to now into {rentAccrued}; returns the rent (× {LEASE_SCALE}).
    function _accrue(uint256 id, Lease storage s) private returns (uint256 rent) {
        rent = _due(id, s);
        s.credit -= uint192(rent);
        s.paidTo = uint64(block.timestamp);
        rentAccrued += rent;
    }

    /// @dev After {_accrue} and any change: the rate from now at the hosting price in force.
    function _rerate(uint256 id, Agent storage a, Lease storage s, uint256 rent) private {
        s.rate = uint64(uint256(a.memoryMiB) * pricePerGiBHour);
        emit LeaseUpdated(id, s.credit / LEASE_SCALE, leaseEnds(id), rent / LEASE_SCALE);
    }

    /// @dev Moves the prices due by epoch `e` into the current slot, so the next ones can be set.
    function _roll(Listing storage l, uint64 e) private {
        if (l.nextFrom == 0 || e < l.nextFrom) return;
        l.price = l.nextPrice;
        l.token = l.nextToken;
        l.tokenPrice = l.nextTokenPrice;
    }

    /// @dev Schedules prices from the epoch after `e` (the current one); call after {_roll}.
    function _setPrice(uint256 id, Listing storage l, uint64 e, uint64 price, address token, uint96 tokenPrice) private {
        if (price > MAX_CALL_PRICE || tokenPrice > MAX_TOKEN_PRICE) revert AgentMarketBadPrice();
        uint64 from = e + 1;
        l.nextPrice = price;
        l.nextToken = token;
        l.nextTokenPrice = tokenPrice;
        l.nextFrom = from;
        emit ListingPriceSet(id, price, token, tokenPrice, from);
    }

    function _setSplit(uint16 nodeBps, uint16 ownerBps, uint16 protocolBps) private {
        if (
            uint256(nodeBps) + ownerBps + protocolBps != BPS || nodeBps < MIN_NODE_BPS || ownerBps < MIN_OWNER_BPS
                || protocolBps > MAX_PROTOCOL_BPS
        ) revert AgentMarketBadParameter();
        _split = Split(nodeBps, ownerBps, protocolBps);
        emit SplitSet(nodeBps, ownerBps, protocolBps);
    }

    function _setHostingPrices(uint64 perGiBHour, uint64 per1kTokens) private {
        if (perGiBHour > MAX_HOSTING_PRICE || per1kTokens > MAX_HOSTING_PRICE) revert AgentMarketBadParameter();
        pricePerGiBHour = perGiBHour;
        pricePer1kTokens = per1kTokens;
        emit HostingPricesSet(perGiBHour, per1kTokens);
    }

    function _setSettlement(ServiceEscrow escrow_, BuybackBurner buyback_) private {
        if (address(escrow_) == address(0) || address(buyback_) == address(0)) revert AgentMarketBadParameter();
        escrow = escrow_;
        buyback = buyback_;
        emit SettlementSet(address(escrow_), address(buyback_));
    }

    function _agent(uint256 id) private view returns (Agent storage a) {
        a = agents[id];
        if (a.owner == address(0)) revert AgentMarketUnknown(id);
    }

    function _owned(uint256 id) private view returns (Agent storage a) {
        a = _agent(id);
        if (a.owner != msg.sender) revert AgentMarketNotOwner(id, msg.sender);
    }
}
