// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {AgentMarketplace} from "./AgentMarketplace.sol";
import {CreatorMarket} from "../creator/CreatorMarket.sol";
import {NodeStaking} from "../registry/NodeStaking.sol";

/// @title TokenCallEscrow: agent calls paid in the owner's creator token through payment channels
/// @notice A caller deposits a creator token here for one serving node. For each (agent, node,
/// token) it signs EIP-712 vouchers "I owe node N for calls of agent A a cumulative X of token T";
/// anyone may {redeem} the latest, which pays only the increase over what that channel already
/// redeemed, from the caller's deposit for node N only. A deposit backs one node's channels so a
/// node, which sees only the vouchers given to it, can admit calls against it: a deposit shared by
/// all nodes could be vouched in full to each and pay only the first to redeem (docs/agents.md).
/// The amount is split with the marketplace's governance split: the node share is credited to the
/// node's operator, the owner share to the token's creator (the owner of the
/// agents priced in it), both withdrawn with {claim} (pull); the protocol share accrues and
/// {burnFees} sells it on the creator's bonding curve and burns the FLK it returns. A deposit
/// leaves only {withdrawDelay} seconds after {requestWithdrawal}, so a node can redeem what it
/// served first. Prices are not checked here: the node admits a call only against a voucher that
/// covers the agent's token price for the epoch (`AgentMarketplace.priceAt`, docs/agents.md).
/// @dev The epoch report does not carry token calls: a channel settles with one signature check
/// and storage writes, no token transfer, whatever the number of calls it covers.
contract TokenCallEscrow is EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Basis-point denominator of the marketplace's split.
    uint256 public constant BPS = 10_000;
    /// @notice Shortest delay between a withdrawal request and the withdrawal.
    uint64 public constant MIN_WITHDRAW_DELAY = 1 hours;
    /// @notice Longest delay between a withdrawal request and the withdrawal.
    uint64 public constant MAX_WITHDRAW_DELAY = 30 days;
    /// @notice EIP-712 type of a voucher.
    bytes32 public constant VOUCHER_TYPEHASH =
        keccak256("Voucher(address caller,uint256 agentId,uint32 nodeId,address token,uint256 cumulative)");

    /// @notice A caller's promise: `cumulative` wei of `token` owed in all to node `nodeId` for
    /// calls of agent `agentId`. Signed by `caller`'s key (ECDSA), or by its code (ERC-1271).
    struct Voucher {
        address caller;
        uint256 agentId;
        uint32 nodeId;
        address token;
        uint256 cumulative;
    }

    /// @notice A caller's deposit of one token for one node, and its withdrawal request.
    struct Deposit {
        // Wei that backs vouchers (requested withdrawals included until withdrawn).
        uint128 balance;
        // Wei asked back by the last request (0: none).
        uint128 pending;
        // When the request may be withdrawn.
        uint64 readyAt;
    }

    /// @dev What one redemption moved, for its event.
    struct Payout {
        uint256 amount;
        uint256 toNode;
        uint256 toOwner;
        uint256 toProtocol;
    }

    /// @notice The marketplace: its split of call revenue.
    AgentMarketplace public immutable marketplace;
    /// @notice The creator-token market: tokens by creator, and the curve the fees are sold on.
    CreatorMarket public immutable creatorMarket;
    /// @notice The node registry: a node's share goes to its operator.
    NodeStaking public immutable registry;
    /// @notice FLK, burned with the proceeds of the protocol fees.
    ERC20Burnable public immutable flk;
    /// @notice Seconds between {requestWithdrawal} and {withdraw}.
    uint64 public immutable withdrawDelay;

    /// @notice Each caller's deposit of each token for each serving node.
    mapping(address caller => mapping(address token => mapping(uint32 nodeId => Deposit))) public deposits;
    /// @notice Wei redeemed so far on each channel ({channelId}).
    mapping(bytes32 channel => uint256) public redeemed;
    /// @notice Wei of each token each node operator or creator may {claim}.
    mapping(address token => mapping(address account => uint256)) public earnings;
    /// @notice Wei of each token's protocol fees not yet sold and burned.
    mapping(address token => uint256) public protocolFees;
    /// @notice The creator of each token deposited here (its owner share goes to the creator).
    mapping(address token => address) public creatorOf;
    /// @notice Besides the marketplace's owner (governance), the one account that may {burnFees}.
    address public feeSeller;

    /// @notice `caller` deposited `amount` of `token` (the creator token of `creator`) for calls on node `nodeId`.
    event TokensDeposited(address indexed caller, address indexed token, uint32 indexed nodeId, address creator, uint256 amount);
    /// @notice `caller` asked back `amount` of its deposit of `token` for node `nodeId`, withdrawable from `readyAt`.
    event WithdrawalRequested(address indexed caller, address indexed token, uint32 indexed nodeId, uint256 amount, uint64 readyAt);
    /// @notice `caller` took back `amount` of its deposit of `token` for node `nodeId`.
    event TokensWithdrawn(address indexed caller, address indexed token, uint32 indexed nodeId, uint256 amount);
    /// @notice A voucher of `caller` for agent `agentId` on node `nodeId` was redeemed up to
    /// `cumulative`: `amount` of `token` left the deposit, `toNode` went to `nodeOperator`,
    /// `toOwner` to `creator`, `toProtocol` to the fees to burn.
    event VoucherRedeemed(
        address indexed caller,
        uint256 indexed agentId,
        uint32 indexed nodeId,
        address token,
        uint256 cumulative,
        uint256 amount,
        address nodeOperator,
        address creator,
        uint256 toNode,
        uint256 toOwner,
        uint256 toProtocol
    );
    /// @notice `account` claimed `amount` of `token`.
    event EarningsClaimed(address indexed account, address indexed token, uint256 amount);
    /// @notice `amount` of `token` in protocol fees was sold on the curve for `flkBurned` FLK, burned.
    event FeesBurned(address indexed token, uint256 amount, uint256 flkBurned);
    /// @notice The marketplace's owner named `seller` to sell and burn the protocol fees.
    event FeeSellerSet(address indexed seller);

    /// @notice A zero amount, or a zero amount to take.
    error TokenCallZeroAmount();
    /// @notice The creator has no token yet.
    error TokenCallNoCreatorToken(address creator);
    /// @notice A withdrawal request above the deposit.
    error TokenCallExceedsDeposit(uint256 amount, uint256 balance);
    /// @notice No withdrawal request, or its delay has not passed.
    error TokenCallWithdrawalNotReady(uint64 readyAt);
    /// @notice The signature is not the voucher's caller's.
    error TokenCallBadSignature(address caller);
    /// @notice The voucher pays nothing: not above what its channel redeemed, or an empty deposit for its node.
    error TokenCallNothingToRedeem(uint256 cumulative, uint256 redeemed, uint256 balance);
    /// @notice A deposit for a node the registry does not know.
    error TokenCallUnknownNode(uint32 nodeId);
    /// @notice A withdrawal delay outside its bounds, or a zero address.
    error TokenCallBadParameter();
    /// @notice Only the marketplace's owner may do this ({setFeeSeller}), or it or the fee seller ({burnFees}).
    error TokenCallUnauthorized(address account);

    /// @param marketplace_ the agent marketplace (split, creator market)
    /// @param registry_ the node registry (node operators)
    /// @param withdrawDelay_ seconds from a withdrawal request to the withdrawal
    constructor(AgentMarketplace marketplace_, NodeStaking registry_, uint64 withdrawDelay_) EIP712("TokenCallEscrow", "1") {
        if (
            address(marketplace_) == address(0) || address(registry_) == address(0) || withdrawDelay_ < MIN_WITHDRAW_DELAY
                || withdrawDelay_ > MAX_WITHDRAW_DELAY
        ) revert TokenCallBadParameter();
        marketplace = marketplace_;
        creatorMarket = marketplace_.creatorMarket();
        flk = creatorMarket.flk();
        registry = registry_;
        withdrawDelay = withdrawDelay_;
    }

    // ---------------------------------------------------------------- callers

    /// @notice Deposits `amount` of `creator`'s token for the caller's token-paid calls served by
    /// node `nodeId` (approve this contract first). Only that node's vouchers are paid from it.
    /// @param creator whose creator token (it must exist)
    /// @param nodeId the serving node (it must be registered)
    /// @param amount wei, not zero
    function deposit(address creator, uint32 nodeId, uint128 amount) external nonReentrant {
        if (amount == 0) revert TokenCallZeroAmount();
        if (!creatorMarket.tokenExists(creator)) revert TokenCallNoCreatorToken(creator);
        // A deposit for an unknown node could back no voucher: a mistake.
        if (nodeId == 0 || nodeId > registry.nodeCount()) revert TokenCallUnknownNode(nodeId);
        address token = creatorMarket.tokenOf(creator);
        creatorOf[token] = creator;
        deposits[msg.sender][token][nodeId].balance += amount;
        emit TokensDeposited(msg.sender, token, nodeId, creator, amount);
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Asks back `amount` of the caller's deposit of `token` for node `nodeId`, withdrawable
    /// after {withdrawDelay}; until then it still backs that node's vouchers. A new request replaces
    /// the previous one and restarts the delay.
    /// @param token the creator token
    /// @param nodeId the node the deposit is for
    /// @param amount wei, at most the deposit
    function requestWithdrawal(address token, uint32 nodeId, uint128 amount) external {
        Deposit storage d = deposits[msg.sender][token][nodeId];
        if (amount == 0) revert TokenCallZeroAmount();
        if (amount > d.balance) revert TokenCallExceedsDeposit(amount, d.balance);
        uint64 readyAt = uint64(block.timestamp) + withdrawDelay;
        d.pending = amount;
        d.readyAt = readyAt;
        emit WithdrawalRequested(msg.sender, token, nodeId, amount, readyAt);
    }

    /// @notice Sends the caller its requested withdrawal of `token` for node `nodeId` once the delay
    /// has passed: the amount requested, or what is left of the deposit if vouchers were redeemed
    /// meanwhile.
    /// @param token the creator token
    /// @param nodeId the node the deposit is for
    /// @return amount wei sent
    function withdraw(address token, uint32 nodeId) external nonReentrant returns (uint256 amount) {
        Deposit storage d = deposits[msg.sender][token][nodeId];
        if (d.pending == 0 || block.timestamp < d.readyAt) revert TokenCallWithdrawalNotReady(d.readyAt);
        amount = d.pending < d.balance ? d.pending : d.balance;
        if (amount == 0) revert TokenCallZeroAmount();
        d.balance -= uint128(amount);
        d.pending = 0;
        d.readyAt = 0;
        emit TokensWithdrawn(msg.sender, token, nodeId, amount);
        IERC20(token).safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- nodes

    /// @notice Redeems voucher `v` (anyone may send it): pays the increase of `v.cumulative` over
    /// what its channel redeemed, or the caller's whole deposit for the voucher's node if that is
    /// less (the rest stays redeemable if the caller deposits again); deposits for other nodes are
    /// never touched. Split with the marketplace's split into the node operator's, the token creator's and the protocol's shares. Moves no tokens: shares are
    /// claimed ({claim}) or burned ({burnFees}).
    /// @param v the voucher
    /// @param signature `v.caller`'s EIP-712 signature of `v`: 65-byte ECDSA (v 27 or 28, low s: the
    /// one form nodes admit, protocol/tokenVoucher.ts), whether or not the caller has code, or else ERC-1271
    /// @return amount wei taken from the deposit
    function redeem(Voucher calldata v, bytes calldata signature) external returns (uint256 amount) {
        bytes32 digest = voucherDigest(v);
        // The key's signature first, code or not: SignatureChecker asks only the code of an address
        // that has some (an EOA delegating with EIP-7702 does), and the caller could make it refuse
        // a voucher a node served calls against, then withdraw the deposit.
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (
            (err != ECDSA.RecoverError.NoError || signer != v.caller)
                && !SignatureChecker.isValidERC1271SignatureNowCalldata(v.caller, digest, signature)
        ) revert TokenCallBadSignature(v.caller);
        bytes32 channel = channelId(v.caller, v.agentId, v.nodeId, v.token);
        uint256 done = redeemed[channel];
        Deposit storage d = deposits[v.caller][v.token][v.nodeId];
        uint256 balance = d.balance;
        amount = v.cumulative > done ? v.cumulative - done : 0;
        if (amount > balance) amount = balance;
        if (amount == 0) revert TokenCallNothingToRedeem(v.cumulative, done, balance);
        redeemed[channel] = done + amount;
        d.balance = uint128(balance - amount);
        _split(v, amount);
    }

    // ---------------------------------------------------------------- payees

    /// @notice Sends the caller its earnings in `token` (node share or creator share).
    /// @param token the creator token
    /// @return amount wei sent
    function claim(address token) external nonReentrant returns (uint256 amount) {
        amount = earnings[token][msg.sender];
        if (amount == 0) revert TokenCallZeroAmount();
        earnings[token][msg.sender] = 0;
        emit EarningsClaimed(msg.sender, token, amount);
        IERC20(token).safeTransfer(msg.sender, amount);
    }

    /// @notice Names the account that may {burnFees} besides the marketplace's owner (zero: none).
    /// @param seller the fee seller (a keeper), or the zero address
    function setFeeSeller(address seller) external {
        if (msg.sender != marketplace.owner()) revert TokenCallUnauthorized(msg.sender);
        feeSeller = seller;
        emit FeeSellerSet(seller);
    }

    /// @notice Sells the protocol fees accrued in `token` on its creator's bonding curve and burns
    /// the FLK returned (BuybackBurner sells USDC only). The marketplace's owner or the
    /// {feeSeller} only: the sale takes `minFlk` from its caller, so anyone could sell with
    /// `minFlk` 0 between a sale and a buy-back of its own and keep the difference (a sandwich).
    /// Quote `minFlk` with `CreatorMarket.sellReturn` less a slippage bound (docs/agents.md).
    /// @param token the creator token
    /// @param minFlk least FLK the sale must return
    /// @param deadline last timestamp at which the sale may execute
    /// @return burned FLK wei burned
    function burnFees(address token, uint256 minFlk, uint256 deadline) external nonReentrant returns (uint256 burned) {
        if (msg.sender != feeSeller && msg.sender != marketplace.owner()) revert TokenCallUnauthorized(msg.sender);
        uint256 amount = protocolFees[token];
        if (amount == 0) revert TokenCallZeroAmount();
        protocolFees[token] = 0;
        burned = creatorMarket.sell(creatorOf[token], amount, minFlk, deadline);
        emit FeesBurned(token, amount, burned);
        flk.burn(burned);
    }

    // ---------------------------------------------------------------- views

    /// @notice The EIP-712 digest a caller signs for voucher `v`.
    /// @param v the voucher
    function voucherDigest(Voucher calldata v) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(VOUCHER_TYPEHASH, v.caller, v.agentId, v.nodeId, v.token, v.cumulative)));
    }

    /// @notice The channel of `caller`'s calls of agent `agentId` on node `nodeId` paid in `token`.
    /// @param caller the payer
    /// @param agentId the agent
    /// @param nodeId the serving node
    /// @param token the creator token
    function channelId(address caller, uint256 agentId, uint32 nodeId, address token) public pure returns (bytes32) {
        return keccak256(abi.encode(caller, agentId, nodeId, token));
    }

    // ---------------------------------------------------------------- internal

    /// @dev Credits the shares of `amount` (owner and protocol round down, the rest is the node's).
    function _split(Voucher calldata v, uint256 amount) private {
        (, uint16 ownerBps, uint16 protocolBps) = marketplace.split();
        Payout memory p;
        p.amount = amount;
        p.toOwner = (amount * ownerBps) / BPS;
        p.toProtocol = (amount * protocolBps) / BPS;
        p.toNode = amount - p.toOwner - p.toProtocol;
        address operator = registry.getNode(v.nodeId).owner;
        address creator = creatorOf[v.token];
        earnings[v.token][operator] += p.toNode;
        earnings[v.token][creator] += p.toOwner;
        protocolFees[v.token] += p.toProtocol;
        emit VoucherRedeemed(v.caller, v.agentId, v.nodeId, v.token, v.cumulative, p.amount, operator, creator, p.toNode, p.toOwner, p.toProtocol);
    }
}
