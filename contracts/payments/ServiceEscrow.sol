// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ClientUsage, IServiceEscrow} from "../registry/EpochReportTypes.sol";

/// @title ServiceEscrow: clients prepay USDC for service; each epoch report debits their usage
/// @notice A client deposits USDC, and may withdraw what is unspent after announcing it and waiting
/// {noticePeriod} (so nodes that served it are paid: usage reported meanwhile is still debited).
/// Each accepted epoch report debits every client's usage, at most its balance; {nodeShareBps} of the
/// debits go to the rewards contract (the epoch's node pool), the rest to the buyback-and-burn contract.
contract ServiceEscrow is IServiceEscrow, Ownable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Basis-point denominator.
    uint256 public constant BPS = 10_000;
    /// @notice Floor of {nodeShareBps}: governance may not divert most of the revenue from nodes.
    uint256 public constant MIN_NODE_SHARE_BPS = 5_000;
    /// @notice Cap of {noticePeriod}.
    uint64 public constant MAX_NOTICE_PERIOD = 30 days;

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
    /// @notice Seconds between announcing a withdrawal and making it (governance parameter).
    uint64 public noticePeriod;

    /// @notice A client's prepaid balance and its announced withdrawal.
    struct Account {
        uint128 balance;
        uint128 withdrawalAmount;
        uint64 withdrawableAt;
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
    /// @notice A client's usage was debited for an epoch (`amount` may be less than its usage).
    event Debited(uint64 indexed epoch, address indexed client, uint256 amount, uint256 balance);
    /// @notice An epoch's debits were split.
    event EpochDebited(uint64 indexed epoch, uint256 total, uint256 toNodes, uint256 toBuyback);
    /// @notice A parameter changed.
    event ParametersSet(address buyback, uint256 nodeShareBps, uint64 noticePeriod);

    /// @notice Only the registry debits.
    error EscrowUnauthorized(address caller);
    /// @notice A zero amount or an amount above the balance.
    error EscrowBadAmount(uint256 amount);
    /// @notice The withdrawal was not announced, or its notice has not passed (ready at `withdrawableAt`).
    error EscrowNotWithdrawable(uint64 withdrawableAt);
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
    }

    /// @notice Deposits `amount` USDC from the caller to `client`'s balance.
    /// @param client the account credited
    /// @param amount USDC (6 decimals); approve it first
    function deposit(address client, uint256 amount) external nonReentrant {
        if (amount == 0) revert EscrowBadAmount(amount);
        Account storage a = accounts[client];
        uint256 balance = a.balance + amount;
        a.balance = uint128(balance);
        emit Deposited(client, msg.sender, amount, balance);
        usdc.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Announces a withdrawal of `amount`, possible after {noticePeriod}; replaces any earlier one.
    /// @param amount USDC to withdraw (at most the balance now; what is left then is paid)
    function requestWithdrawal(uint256 amount) external {
        Account storage a = accounts[msg.sender];
        if (amount == 0 || amount > a.balance) revert EscrowBadAmount(amount);
        uint64 at = uint64(block.timestamp) + noticePeriod;
        a.withdrawalAmount = uint128(amount);
        a.withdrawableAt = at;
        emit WithdrawalRequested(msg.sender, amount, at);
    }

    /// @notice Withdraws the announced amount (or the balance, if debits have lowered it) after the notice.
    /// @return amount USDC paid
    function withdraw() external nonReentrant returns (uint256 amount) {
        Account storage a = accounts[msg.sender];
        if (a.withdrawalAmount == 0 || block.timestamp < a.withdrawableAt) revert EscrowNotWithdrawable(a.withdrawableAt);
        amount = a.withdrawalAmount < a.balance ? a.withdrawalAmount : a.balance;
        uint256 balance = a.balance - amount;
        a.balance = uint128(balance);
        a.withdrawalAmount = 0;
        a.withdrawableAt = 0;
        emit Withdrawn(msg.sender, amount, balance);
        if (amount != 0) usdc.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IServiceEscrow
    function debit(uint64 epoch, ClientUsage[] calldata usage) external nonReentrant returns (uint256 toNodes) {
        if (msg.sender != registry) revert EscrowUnauthorized(msg.sender);
        uint256 total;
        for (uint256 i = 0; i < usage.length; ++i) {
            Account storage a = accounts[usage[i].client];
            uint256 balance = a.balance;
            uint256 amount = usage[i].amount < balance ? usage[i].amount : balance;
            if (amount == 0) continue;
            balance -= amount;
            a.balance = uint128(balance);
            total += amount;
            emit Debited(epoch, usage[i].client, amount, balance);
        }
        if (total == 0) return 0;
        totalDebited += total;
        toNodes = (total * nodeShareBps) / BPS;
        emit EpochDebited(epoch, total, toNodes, total - toNodes);
        usdc.safeTransfer(rewards, toNodes);
        usdc.safeTransfer(buyback, total - toNodes);
    }

    /// @notice Sets the buyback recipient, the nodes' share and the notice period (owner: the timelock).
    /// @param buyback_ non-zero
    /// @param nodeShareBps_ {MIN_NODE_SHARE_BPS} to {BPS}
    /// @param noticePeriod_ at most {MAX_NOTICE_PERIOD}
    function setParameters(address buyback_, uint256 nodeShareBps_, uint64 noticePeriod_) external onlyOwner {
        _setParameters(buyback_, nodeShareBps_, noticePeriod_);
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
}
