// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {SlotDerivation} from "@openzeppelin/contracts/utils/SlotDerivation.sol";
import {TransientSlot} from "@openzeppelin/contracts/utils/TransientSlot.sol";
import {ClientUsage, IServiceEscrow, ServiceCharge} from "../registry/EpochReportTypes.sol";

/// @dev The registry's epoch counter (spending limits take effect per epoch).
interface IEpochClock {
    /// @notice The current epoch.
    function epoch() external view returns (uint64);
}

/// @dev The agent marketplace as the escrow drives it (AgentMarketplace).
interface IAgentSettlement {
    /// @notice Agents registered: ids 1 to this, never removed.
    function agentCount() external view returns (uint256);
    /// @notice The only caller of {settle}.
    function escrow() external view returns (address);
    /// @notice Pulls the owner and protocol shares of each agent's revenue from the caller.
    function settle(uint64 epoch, uint256[] calldata agentIds, uint256[] calldata amounts) external returns (uint256 toNodes);
}

/// @title ServiceEscrow: clients prepay USDC for service; each epoch report debits their usage
/// @notice A client deposits USDC and sets a spending limit per epoch (default
/// {DEFAULT_SPENDING_LIMIT}; a change takes effect at the next epoch). What a report may debit a
/// client in epoch `e` is its {debitable} amount, `min(balance, limit of e)`, and nothing during the
/// epoch can lower it: the limit of `e` is fixed once `e` starts and a withdrawal never takes the
/// balance below it. So the committee reads every client's debitable amount at the block that
/// started the epoch, charges at most that (docs/payments.md), and the report debits exactly what it
/// says: no client can make it revert, and the nodes' revenue weights are USDC actually paid.
/// A client withdraws what is above its reserve after announcing it and waiting {noticePeriod}.
/// {nodeShareBps} of the debits go to the rewards contract (the epoch's node pool), the rest to the
/// buyback-and-burn contract, except agent calls (report charges of kind 2): those are split by
/// the {marketplace} (node share to the rewards contract, owner and protocol shares pulled by the
/// marketplace's `settle`; docs/agents.md "Settlement").
contract ServiceEscrow is IServiceEscrow, Ownable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using SlotDerivation for bytes32;
    using TransientSlot for bytes32;
    using TransientSlot for TransientSlot.Uint256Slot;

    /// @notice {ServiceCharge} kind of agent calls: `service` is `bytes32(agentId)`.
    uint8 public constant AGENT_KIND = 2;
    /// @notice Most agents one report settles through the marketplace (at most its
    /// `MAX_SETTLE_ENTRIES`, 256): a report at the 1,024-charge bound whose charges name 256 agents
    /// of new owners ran out of the 2^24 gas a transaction may use; with 128 it fits (docs/payments.md).
    uint256 public constant MAX_SETTLED_AGENTS = 128;
    /// @dev Transient-storage base of the per-agent index while a report's charges are summed.
    bytes32 private constant AGENT_INDEX_SLOT = keccak256("fleek.ServiceEscrow.agentIndex");

    /// @notice Basis-point denominator.
    uint256 public constant BPS = 10_000;
    /// @notice Floor of {nodeShareBps}: governance may not divert most of the revenue from nodes.
    uint256 public constant MIN_NODE_SHARE_BPS = 5_000;
    /// @notice Cap of {noticePeriod}.
    uint64 public constant MAX_NOTICE_PERIOD = 30 days;
    /// @notice Spending limit per epoch of a client that never set one: 1,000 USDC (10 TB at $0.10/GB).
    uint64 public constant DEFAULT_SPENDING_LIMIT = 1_000e6;
    /// @notice Cap of both compute prices: 1 USDC per request or per CPU-ms (10^12 units per million).
    uint64 public constant MAX_COMPUTE_PRICE = 1e12;

    /// @notice The payment token (USDC, 6 decimals).
    IERC20 public immutable usdc;
    /// @notice The registry: the only caller of {debit}.
    address public immutable registry;
    /// @notice Receives the nodes' share of every debit.
    address public immutable rewards;
    /// @notice Receives the rest of every debit (governance parameter).
    address public buyback;
    /// @notice Share of debits paid to nodes, in basis points (governance parameter; default 8,000).
    uint256 public nodeShareBps;
    /// @notice The agent marketplace that splits agent revenue (governance parameter; zero: none,
    /// agent charges are split as any other revenue).
    IAgentSettlement public marketplace;
    /// @notice Seconds between announcing a withdrawal and making it (governance parameter).
    uint64 public noticePeriod;
    /// @notice Edge functions: USDC units per million invocations (governance parameter; default
    /// 300,000, $0.30 per million as Cloudflare Workers). The committee reads it at each epoch's
    /// first block, so a change applies from the next epoch's report (docs/functions.md).
    uint64 public pricePerMillionRequests;
    /// @notice Edge functions: USDC units per million CPU milliseconds (governance parameter;
    /// default 20,000, $0.02 per million CPU-ms as Cloudflare Workers).
    uint64 public pricePerMillionCpuMs;

    /// @notice A client's prepaid balance, its announced withdrawal and its spending limit:
    /// `limit` until epoch `nextLimitFrom`, `nextLimit` from then on (`nextLimitFrom` 0: the
    /// client never set one, {DEFAULT_SPENDING_LIMIT} applies).
    struct Account {
        uint128 balance;
        uint128 withdrawalAmount;
        uint64 withdrawableAt;
        uint64 nextLimitFrom;
        uint64 limit;
        uint64 nextLimit;
    }

    /// @notice Each client's account.
    mapping(address client => Account) public accounts;
    /// @notice USDC debited in all.
    uint256 public totalDebited;

    /// @notice A client deposited.
    event Deposited(address indexed client, address indexed from, uint256 amount, uint256 balance);
    /// @notice A client announced a withdrawal.
    event WithdrawalRequested(address indexed client, uint256 amount, uint64 withdrawableAt);
    /// @notice A client withdrew.
    event Withdrawn(address indexed client, uint256 amount, uint256 balance);
    /// @notice A client's usage was debited for an epoch.
    event Debited(uint64 indexed epoch, address indexed client, uint256 amount, uint256 balance);
    /// @notice An epoch's debits were split: `total` = `toNodes` (the rewards contract) + `toBuyback`
    /// (the buyback, directly) + `toMarketplace` (agent owners and protocol fees, pulled by the marketplace).
    event EpochDebited(uint64 indexed epoch, uint256 total, uint256 toNodes, uint256 toBuyback, uint256 toMarketplace);
    /// @notice The marketplace refused the epoch's agent revenue (`amount`), split as other revenue
    /// instead so the report goes through (a misconfigured marketplace must not stall reports).
    event AgentSettlementFailed(uint64 indexed epoch, uint256 amount);
    /// @notice Agents beyond the first {MAX_SETTLED_AGENTS} distinct ones (in report order) earned
    /// `amount` in `epoch`, split as other revenue: the report must fit a transaction.
    event AgentRevenueUnsettled(uint64 indexed epoch, uint256 amount);
    /// @notice Governance set the agent marketplace.
    event MarketplaceSet(address marketplace);
    /// @notice A client set its spending limit per epoch, in force from epoch `fromEpoch`.
    event SpendingLimitSet(address indexed client, uint256 limit, uint64 fromEpoch);
    /// @notice A parameter changed.
    event ParametersSet(address buyback, uint256 nodeShareBps, uint64 noticePeriod);
    /// @notice The edge functions' prices changed (read by the committee at the next epoch's start).
    event ComputePricesSet(uint64 pricePerMillionRequests, uint64 pricePerMillionCpuMs);

    /// @notice Only the registry debits.
    error EscrowUnauthorized(address caller);
    /// @notice A zero amount or an amount above the balance.
    error EscrowBadAmount(uint256 amount);
    /// @notice The withdrawal was not announced, or its notice has not passed (ready at `withdrawableAt`).
    error EscrowNotWithdrawable(uint64 withdrawableAt);
    /// @notice A report debits `client` more than its spending limit of the epoch.
    error EscrowSpendingLimitExceeded(address client, uint256 amount, uint256 limit);
    /// @notice A report debits `client` more than its balance.
    error EscrowInsufficientBalance(address client, uint256 amount, uint256 balance);
    /// @notice A parameter outside its bounds, or a token without 6 decimals.
    error EscrowBadParameter();

    /// @param usdc_ USDC (any ERC-20 with 6 decimals)
    /// @param registry_ the node registry
    /// @param rewards_ the rewards contract
    /// @param owner_ owner of the parameters (the timelock)
    /// @param buyback_ buyback-and-burn contract
    /// @param noticePeriod_ withdrawal notice, seconds
    constructor(IERC20 usdc_, address registry_, address rewards_, address owner_, address buyback_, uint64 noticePeriod_) Ownable(owner_) {
        if (IERC20Metadata(address(usdc_)).decimals() != 6 || registry_ == address(0) || rewards_ == address(0)) revert EscrowBadParameter();
        usdc = usdc_;
        registry = registry_;
        rewards = rewards_;
        _setParameters(buyback_, 8_000, noticePeriod_);
        _setComputePrices(300_000, 20_000);
    }

    /// @notice Deposits `amount` USDC from the caller to `client`'s balance.
    /// @param client the account credited
    /// @param amount USDC (6 decimals); approve it first
    function deposit(address client, uint256 amount) external nonReentrant {
        if (amount == 0) revert EscrowBadAmount(amount);
        Account storage a = accounts[client];
        uint256 balance = a.balance + amount;
        a.balance = balance.toUint128();
        emit Deposited(client, msg.sender, amount, balance);
        usdc.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Announces a withdrawal of `amount`, possible after {noticePeriod}; replaces any earlier one.
    /// @param amount USDC to withdraw (at most the balance now; what is left then is paid)
    function requestWithdrawal(uint256 amount) external {
        Account storage a = accounts[msg.sender];
        if (amount == 0 || amount > a.balance) revert EscrowBadAmount(amount);
        uint64 at = uint64(block.timestamp) + noticePeriod;
        a.withdrawalAmount = amount.toUint128();
        a.withdrawableAt = at;
        emit WithdrawalRequested(msg.sender, amount, at);
    }

    /// @notice Withdraws the announced amount after the notice, at most the balance above this
    /// epoch's reserve (`min(balance, spending limit)`, which the epoch's report may still debit).
    /// What the reserve holds back stays announced: lower the limit (it applies from the next
    /// epoch) and withdraw the rest then.
    /// @return amount USDC paid
    function withdraw() external nonReentrant returns (uint256 amount) {
        Account storage a = accounts[msg.sender];
        if (a.withdrawalAmount == 0 || block.timestamp < a.withdrawableAt) revert EscrowNotWithdrawable(a.withdrawableAt);
        uint256 balance = a.balance;
        uint256 free = balance - _debitable(a, IEpochClock(registry).epoch());
        amount = a.withdrawalAmount < free ? a.withdrawalAmount : free;
        balance -= amount;
        // Both below their earlier 128-bit values.
        a.balance = uint128(balance);
        // Nothing left to pay: the announcement is spent.
        uint256 rest = balance == 0 ? 0 : a.withdrawalAmount - amount;
        a.withdrawalAmount = uint128(rest);
        if (rest == 0) a.withdrawableAt = 0;
        emit Withdrawn(msg.sender, amount, balance);
        if (amount != 0) usdc.safeTransfer(msg.sender, amount);
    }

    /// @notice Sets the caller's spending limit per epoch: no report may debit it more in one epoch.
    /// It takes effect at the next epoch, so the current epoch's debitable amount never changes.
    /// @param limit USDC units (6 decimals) per epoch; 0 stops all debits from the next epoch
    function setSpendingLimit(uint256 limit) external {
        Account storage a = accounts[msg.sender];
        uint64 e = IEpochClock(registry).epoch();
        a.limit = _limitAt(a, e);
        a.nextLimit = limit.toUint64();
        a.nextLimitFrom = e + 1;
        emit SpendingLimitSet(msg.sender, limit, e + 1);
    }

    /// @notice `client`'s spending limit in `epoch` (the current one or later).
    /// @param client the client
    /// @param epoch the epoch
    function spendingLimit(address client, uint64 epoch) external view returns (uint256) {
        return _limitAt(accounts[client], epoch);
    }

    /// @notice What a report of `epoch` may debit each client: `min(balance, spending limit)`.
    /// Read at the block that started `epoch`, it is what the committee charges at most; it cannot
    /// fall before that epoch's report (deposits raise it, withdrawals keep it).
    /// @param clients the clients
    /// @param epoch the epoch
    /// @return amounts USDC units, one per client
    function debitable(address[] calldata clients, uint64 epoch) external view returns (uint256[] memory amounts) {
        amounts = new uint256[](clients.length);
        for (uint256 i = 0; i < clients.length; ++i) amounts[i] = _debitable(accounts[clients[i]], epoch);
    }

    /// @inheritdoc IServiceEscrow
    /// @dev Agent charges are summed per agent across nodes; a charge naming no registered agent
    /// (id 0 or above the marketplace's `agentCount`), or any agent charge while no marketplace is
    /// set, is split as other revenue; so are agents after the first {MAX_SETTLED_AGENTS}
    /// distinct ones ({AgentRevenueUnsettled}; the committee keeps the largest within the bound).
    /// If the marketplace's `settle` reverts, its revenue is split as other revenue. No report is
    /// refused for its agent charges.
    function debit(uint64 epoch, ClientUsage[] calldata usage, ServiceCharge[] calldata charges)
        external
        nonReentrant
        returns (uint256 toNodes)
    {
        if (msg.sender != registry) revert EscrowUnauthorized(msg.sender);
        uint256 total;
        for (uint256 i = 0; i < usage.length; ++i) {
            address client = usage[i].client;
            uint256 amount = usage[i].amount;
            if (amount == 0) continue;
            Account storage a = accounts[client];
            uint256 limit = _limitAt(a, epoch);
            if (amount > limit) revert EscrowSpendingLimitExceeded(client, amount, limit);
            uint256 balance = a.balance;
            if (amount > balance) revert EscrowInsufficientBalance(client, amount, balance);
            balance -= amount;
            a.balance = uint128(balance); // below its earlier 128-bit value
            total += amount;
            emit Debited(epoch, client, amount, balance);
        }
        if (total == 0) return 0;
        totalDebited += total;
        IAgentSettlement m = marketplace;
        (uint256[] memory ids, uint256[] memory amounts, uint256 agentTotal, uint256 unsettled) = _agentRevenue(m, charges);
        if (unsettled != 0) emit AgentRevenueUnsettled(epoch, unsettled);
        // The marketplace pulls at most the approved agent revenue; what it leaves is the nodes'.
        uint256 toMarketplace;
        if (agentTotal != 0) {
            uint256 before = usdc.balanceOf(address(this));
            usdc.forceApprove(address(m), agentTotal);
            try m.settle(epoch, ids, amounts) {}
            catch {
                emit AgentSettlementFailed(epoch, agentTotal);
                agentTotal = 0;
            }
            usdc.forceApprove(address(m), 0);
            toMarketplace = before - usdc.balanceOf(address(this));
        }
        // The registry checked that the charges sum to the usage, so agentTotal <= total.
        uint256 other = total - agentTotal;
        toNodes = (other * nodeShareBps) / BPS + (agentTotal - toMarketplace);
        uint256 toBuyback = total - toNodes - toMarketplace;
        emit EpochDebited(epoch, total, toNodes, toBuyback, toMarketplace);
        usdc.safeTransfer(rewards, toNodes);
        usdc.safeTransfer(buyback, toBuyback);
    }

    /// @notice Sets the agent marketplace that splits agent revenue (owner: the timelock).
    /// @param marketplace_ zero (agent revenue split as other revenue) or a marketplace whose
    /// escrow is this contract (its `settle` admits no other caller)
    function setMarketplace(IAgentSettlement marketplace_) external onlyOwner {
        if (address(marketplace_) != address(0) && marketplace_.escrow() != address(this)) revert EscrowBadParameter();
        marketplace = marketplace_;
        emit MarketplaceSet(address(marketplace_));
    }

    /// @notice Sets the buyback recipient, the nodes' share and the notice period (owner: the timelock).
    /// @param buyback_ non-zero
    /// @param nodeShareBps_ {MIN_NODE_SHARE_BPS} to {BPS}
    /// @param noticePeriod_ at most {MAX_NOTICE_PERIOD}
    function setParameters(address buyback_, uint256 nodeShareBps_, uint64 noticePeriod_) external onlyOwner {
        _setParameters(buyback_, nodeShareBps_, noticePeriod_);
    }

    /// @notice Sets the edge functions' prices (owner: the timelock). What a report charges an
    /// invocation is `(requests × perMillionRequests + CPU-µs × perMillionCpuMs / 1000) / 10^6`,
    /// per (node, client) pair and epoch, rounded down (protocol/usage.ts `computeCharge`).
    /// @param perMillionRequests USDC units per million invocations, at most {MAX_COMPUTE_PRICE}
    /// @param perMillionCpuMs USDC units per million CPU milliseconds, at most {MAX_COMPUTE_PRICE}
    function setComputePrices(uint64 perMillionRequests, uint64 perMillionCpuMs) external onlyOwner {
        _setComputePrices(perMillionRequests, perMillionCpuMs);
    }

    function _setComputePrices(uint64 perMillionRequests, uint64 perMillionCpuMs) private {
        if (perMillionRequests > MAX_COMPUTE_PRICE || perMillionCpuMs > MAX_COMPUTE_PRICE) revert EscrowBadParameter();
        pricePerMillionRequests = perMillionRequests;
        pricePerMillionCpuMs = perMillionCpuMs;
        emit ComputePricesSet(perMillionRequests, perMillionCpuMs);
    }

    function _setParameters(address buyback_, uint256 nodeShareBps_, uint64 noticePeriod_) private {
        if (buyback_ == address(0) || nodeShareBps_ < MIN_NODE_SHARE_BPS || nodeShareBps_ > BPS || noticePeriod_ > MAX_NOTICE_PERIOD) {
            revert EscrowBadParameter();
        }
        buyback = buyback_;
        nodeShareBps = nodeShareBps_;
        noticePeriod = noticePeriod_;
        emit ParametersSet(buyback_, nodeShareBps_, noticePeriod_);
    }

    /// @dev The report's agent revenue summed per registered agent, in order of first appearance,
    /// and what agents past the bound earned (`unsettled`); a transient index per agent id keeps
    /// the sum linear in the number of charges.
    function _agentRevenue(IAgentSettlement m, ServiceCharge[] calldata charges)
        private
        returns (uint256[] memory ids, uint256[] memory amounts, uint256 sum, uint256 unsettled)
    {
        if (address(m) == address(0)) return (ids, amounts, 0, 0);
        uint256 known = m.agentCount();
        ids = new uint256[](MAX_SETTLED_AGENTS);
        amounts = new uint256[](MAX_SETTLED_AGENTS);
        uint256 n;
        for (uint256 i = 0; i < charges.length; ++i) {
            ServiceCharge calldata c = charges[i];
            uint256 id = uint256(c.service);
            if (c.kind != AGENT_KIND || c.amount == 0 || id == 0 || id > known) continue;
            TransientSlot.Uint256Slot slot = AGENT_INDEX_SLOT.deriveMapping(id).asUint256();
            uint256 k = slot.tload();
            if (k == 0) {
                if (n == MAX_SETTLED_AGENTS) {
                    unsettled += c.amount;
                    continue;
                }
                ids[n] = id;
                k = ++n;
                slot.tstore(k);
            }
            amounts[k - 1] += c.amount;
            sum += c.amount;
        }
        // Cleared before returning: a later call in the same transaction starts from zero.
        for (uint256 j = 0; j < n; ++j) AGENT_INDEX_SLOT.deriveMapping(ids[j]).asUint256().tstore(0);
        // Trim both arrays to the agents found (shrinking a memory array's length in place).
        assembly ("memory-safe") {
            mstore(ids, n)
            mstore(amounts, n)
        }
    }

    function _limitAt(Account storage a, uint64 epoch) private view returns (uint64) {
        if (a.nextLimitFrom == 0) return DEFAULT_SPENDING_LIMIT;
        return epoch >= a.nextLimitFrom ? a.nextLimit : a.limit;
    }

    function _debitable(Account storage a, uint64 epoch) private view returns (uint256) {
        uint256 limit = _limitAt(a, epoch);
        return a.balance < limit ? a.balance : limit;
    }
}
