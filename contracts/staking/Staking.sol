// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC5805} from "@openzeppelin/contracts/interfaces/IERC5805.sol";
import {IERC6372} from "@openzeppelin/contracts/interfaces/IERC6372.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Emission} from "../token/Emission.sol";
import {PackedCheckpoints} from "./PackedCheckpoints.sol";

/// @title Staking: staked FLK earns the stakers' half of emission and carries the votes of governance
/// @notice Stake FLK (optionally with a permit in the same call); unstake into an unbonding queue and
/// withdraw once the unbonding period has passed. Staked FLK earns emission through a reward-per-token
/// accumulator (claim it, or compound it into stake) and carries voting power, checkpointed per
/// delegate on a timestamp clock (ERC-5805 / ERC-6372). A first stake self-delegates so the staker
/// can vote at once. Unbonding FLK earns and votes nothing.
/// @dev Emission accrues virtually: every update reads `Emission.stakingEmission(now)` and spreads what
/// streamed in since the last update over the stake of that moment. The FLK itself arrives only when
/// someone calls `Emission.mint()`, which {claim} and {compound} do when the reward reserve (balance
/// minus principal) cannot cover them. Emission that streams while nothing is staked is not spread:
/// it waits and goes to the stake present at the next update. Rewards are never paid out of
/// principal: if governance redirected the stakers' half away from this contract, claims revert with
/// {StakingRewardsUnfunded} until the gap is funded (see docs/staking.md).
contract Staking is IERC5805, Ownable, EIP712, Nonces, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using PackedCheckpoints for PackedCheckpoints.History;

    /// @notice Scale of the reward-per-token accumulator.
    uint256 public constant SCALE = 1e18;
    /// @notice Hard cap on the unbonding period.
    uint64 public constant MAX_UNBONDING_PERIOD = 90 days;
    /// @notice EIP-712 type of a delegation signature (same as OpenZeppelin's `Votes`).
    bytes32 public constant DELEGATION_TYPEHASH = keccak256("Delegation(address delegatee,uint256 nonce,uint256 expiry)");

    /// @notice Global reward accounting, one slot.
    struct RewardState {
        // Reward per staked FLK-wei since deployment, times SCALE. Never decreases.
        uint160 rewardPerToken;
        // Staking emission already spread over stakers (rounded up so the spread is always covered).
        uint96 distributed;
    }

    /// @notice Stake totals and the head of the total-stake history, one slot.
    struct Totals {
        uint96 staked;
        uint32 lastKey;
        uint32 length;
        uint96 unbonding;
    }

    /// @notice One account's stake and the accumulator value it was last settled at, one slot.
    struct StakeInfo {
        uint96 staked;
        uint160 rewardPerTokenPaid;
    }

    /// @notice One account's delegate and settled unclaimed rewards, one slot (non-zero after a first
    /// stake, so later reward updates are cheap rewrites).
    struct AccountInfo {
        address delegatee;
        uint96 rewards;
    }

    /// @notice A delegate's current votes and the head of its vote history, one slot.
    struct VoteHead {
        uint96 votes;
        uint32 lastKey;
        uint32 length;
    }

    /// @notice One unbonding request.
    struct Unbonding {
        uint96 amount;
        uint64 releaseTime;
    }

    /// @notice An account's unbonding queue: requests `head .. tail - 1` are pending.
    struct Queue {
        uint64 head;
        uint64 tail;
        // Release time of the last request: later requests never release earlier (keeps the queue ordered).
        uint64 lastRelease;
    }

    /// @notice The staked token (FLK).
    IERC20 public immutable token;
    /// @notice The emission contract whose staking half pays the rewards.
    Emission public immutable emission;

    RewardState private _reward;
    Totals private _totals;
    /// @notice Seconds between {unstake} and the earliest {withdraw} of that amount.
    uint64 public unbondingPeriod;

    mapping(address account => StakeInfo) private _stakes;
    mapping(address account => AccountInfo) private _accounts;
    mapping(address delegatee => VoteHead) private _voteHeads;
    mapping(address delegatee => PackedCheckpoints.History) private _voteHistory;
    PackedCheckpoints.History private _totalHistory;
    mapping(address account => Queue) private _queues;
    mapping(address account => mapping(uint256 requestId => Unbonding)) private _unbondings;

    /// @notice `account` staked `amount`; its stake is now `newStake`.
    event Staked(address indexed account, uint256 amount, uint256 newStake);
    /// @notice `account` unstaked `amount` into unbonding request `requestId`, withdrawable from `releaseTime`.
    event Unstaked(address indexed account, uint256 indexed requestId, uint256 amount, uint64 releaseTime, uint256 newStake);
    /// @notice `account` withdrew `amount` of matured unbonding requests; requests before `nextRequestId` are done.
    event Withdrawn(address indexed account, uint256 amount, uint256 nextRequestId);
    /// @notice `account` was paid `amount` of rewards.
    event RewardClaimed(address indexed account, uint256 amount);
    /// @notice `account` turned `amount` of rewards into stake; its stake is now `newStake`.
    event RewardCompounded(address indexed account, uint256 amount, uint256 newStake);
    /// @notice The owner changed the unbonding period (affects later unstakes only).
    event UnbondingPeriodSet(uint64 previousPeriod, uint64 newPeriod);

    /// @notice A zero amount.
    error StakingZeroAmount();
    /// @notice Unstaking more than the account has staked.
    error StakingInsufficientStake(uint256 requested, uint256 staked);
    /// @notice No unbonding request of the account has matured.
    error StakingNothingToWithdraw();
    /// @notice The account has no rewards.
    error StakingNothingToClaim();
    /// @notice This contract's FLK cannot cover principal plus a payout even after minting due emission.
    error StakingRewardsUnfunded(uint256 needed, uint256 balance);
    /// @notice An unbonding period above {MAX_UNBONDING_PERIOD}.
    error StakingUnbondingPeriodTooLong(uint64 period);
    /// @notice Delegation to the zero address (votes must always sit with someone: total votes = total staked).
    error StakingZeroDelegate();
    /// @notice A past-votes lookup at or after the current clock.
    error ERC5805FutureLookup(uint256 timepoint, uint48 clock);

    /// @param emission_ the emission contract (its token is the staked token)
    /// @param owner_ sets the unbonding period (the timelock)
    /// @param unbondingPeriod_ initial unbonding period in seconds
    constructor(Emission emission_, address owner_, uint64 unbondingPeriod_) Ownable(owner_) EIP712("Fleek Staking", "1") {
        emission = emission_;
        token = IERC20(address(emission_.token()));
        _setUnbondingPeriod(unbondingPeriod_);
    }

    // ---------------------------------------------------------------- staking

    /// @notice Stakes `amount` FLK from the caller (approve first). A first stake self-delegates.
    /// @param amount wei of FLK
    function stake(uint256 amount) external nonReentrant {
        _stake(msg.sender, amount);
    }

    /// @notice Stakes with an EIP-2612 permit in the same call. A permit that fails (for example
    /// because someone submitted it first) is ignored: the transfer then needs an allowance anyway.
    /// @param amount wei of FLK (also the permit's value)
    /// @param deadline permit deadline
    /// @param v signature v
    /// @param r signature r
    /// @param s signature s
    function stakeWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external nonReentrant {
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _stake(msg.sender, amount);
    }

    /// @notice Moves `amount` of the caller's stake into the unbonding queue. It stops earning and
    /// voting now and can be withdrawn after the unbonding period (never before earlier requests).
    /// @param amount wei of FLK
    /// @return requestId id of the new unbonding request
    function unstake(uint256 amount) external nonReentrant returns (uint256 requestId) {
        if (amount == 0) revert StakingZeroAmount();
        Totals memory t = _totals;
        (StakeInfo memory s, AccountInfo memory a) = _settle(msg.sender, _accrue(t.staked));
        if (amount > s.staked) revert StakingInsufficientStake(amount, s.staked);
        uint96 delta = uint96(amount);
        s.staked -= delta;
        _stakes[msg.sender] = s;
        _accounts[msg.sender] = a;
        t.staked -= delta;
        t.unbonding += delta;
        _writeTotals(t);
        _moveVotes(a.delegatee, address(0), delta);

        Queue memory q = _queues[msg.sender];
        uint64 releaseTime = uint64(Math.max(block.timestamp + unbondingPeriod, q.lastRelease));
        requestId = q.tail;
        _unbondings[msg.sender][requestId] = Unbonding(delta, releaseTime);
        _queues[msg.sender] = Queue(q.head, q.tail + 1, releaseTime);
        emit Unstaked(msg.sender, requestId, amount, releaseTime, s.staked);
    }

    /// @notice Pays the caller every unbonding request that has matured.
    /// @return amount wei of FLK paid
    function withdraw() external nonReentrant returns (uint256 amount) {
        Queue memory q = _queues[msg.sender];
        uint64 id = q.head;
        for (; id < q.tail; ++id) {
            Unbonding memory u = _unbondings[msg.sender][id];
            if (u.releaseTime > block.timestamp) break;
            amount += u.amount;
            delete _unbondings[msg.sender][id];
        }
        if (amount == 0) revert StakingNothingToWithdraw();
        _queues[msg.sender].head = id;
        _totals.unbonding -= uint96(amount);
        emit Withdrawn(msg.sender, amount, id);
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice Pays the caller all its rewards.
    /// @return amount wei of FLK paid
    function claim() external nonReentrant returns (uint256 amount) {
        Totals memory t = _totals;
        (StakeInfo memory s, AccountInfo memory a) = _settle(msg.sender, _accrue(t.staked));
        amount = a.rewards;
        if (amount == 0) revert StakingNothingToClaim();
        a.rewards = 0;
        _stakes[msg.sender] = s;
        _accounts[msg.sender] = a;
        _ensureBacked(uint256(t.staked) + t.unbonding + amount);
        emit RewardClaimed(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice Turns all the caller's rewards into stake (votes follow to its delegate).
    /// @return amount wei of FLK compounded
    function compound() external nonReentrant returns (uint256 amount) {
        Totals memory t = _totals;
        (StakeInfo memory s, AccountInfo memory a) = _settle(msg.sender, _accrue(t.staked));
        amount = a.rewards;
        if (amount == 0) revert StakingNothingToClaim();
        a.rewards = 0;
        _addStake(msg.sender, amount, t, s, a);
        // The compounded FLK is principal now: it must be in the contract.
        _ensureBacked(uint256(t.staked) + t.unbonding);
        emit RewardCompounded(msg.sender, amount, s.staked);
    }

    /// @notice Sets the unbonding period for later unstakes. Only the owner (the timelock).
    /// @param period seconds, at most {MAX_UNBONDING_PERIOD}
    function setUnbondingPeriod(uint64 period) external onlyOwner {
        _setUnbondingPeriod(period);
    }

    // ---------------------------------------------------------------- votes (ERC-5805)

    /// @inheritdoc IVotes
    function delegate(address delegatee) external {
        _delegate(msg.sender, delegatee);
    }

    /// @inheritdoc IVotes
    function delegateBySig(address delegatee, uint256 nonce, uint256 expiry, uint8 v, bytes32 r, bytes32 s) external {
        if (block.timestamp > expiry) revert VotesExpiredSignature(expiry);
        address signer = ECDSA.recover(_hashTypedDataV4(keccak256(abi.encode(DELEGATION_TYPEHASH, delegatee, nonce, expiry))), v, r, s);
        _useCheckedNonce(signer, nonce);
        _delegate(signer, delegatee);
    }

    /// @inheritdoc IVotes
    function delegates(address account) external view returns (address) {
        return _accounts[account].delegatee;
    }

    /// @inheritdoc IVotes
    function getVotes(address account) external view returns (uint256) {
        return _voteHeads[account].votes;
    }

    /// @inheritdoc IVotes
    function getPastVotes(address account, uint256 timepoint) external view returns (uint256) {
        _checkPast(timepoint);
        VoteHead memory head = _voteHeads[account];
        if (head.lastKey <= timepoint) return head.votes;
        return _voteHistory[account].upperLookup(head.length, timepoint);
    }

    /// @notice Total staked FLK at a past `timepoint` (the quorum base of governance).
    /// @inheritdoc IVotes
    function getPastTotalSupply(uint256 timepoint) external view returns (uint256) {
        _checkPast(timepoint);
        Totals memory t = _totals;
        if (t.lastKey <= timepoint) return t.staked;
        return _totalHistory.upperLookup(t.length, timepoint);
    }

    /// @inheritdoc IERC6372
    function clock() public view returns (uint48) {
        return SafeCast.toUint48(block.timestamp);
    }

    /// @inheritdoc IERC6372
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() external pure returns (string memory) {
        return "mode=timestamp";
    }

    // ---------------------------------------------------------------- views

    /// @notice Total staked FLK now (= total votes).
    function totalStaked() external view returns (uint256) {
        return _totals.staked;
    }

    /// @notice Total FLK in unbonding requests not yet withdrawn.
    function totalUnbonding() external view returns (uint256) {
        return _totals.unbonding;
    }

    /// @notice FLK staked by `account` now.
    /// @param account any address
    function stakeOf(address account) external view returns (uint256) {
        return _stakes[account].staked;
    }

    /// @notice The accumulator as of now (including emission not yet accounted): reward per staked
    /// wei times {SCALE}, and the staking emission spread so far.
    function rewardState() public view returns (uint256 rewardPerToken, uint256 distributed) {
        (rewardPerToken, distributed) = _preview(_totals.staked);
    }

    /// @notice Rewards `account` could claim now.
    /// @param account any address
    function earned(address account) external view returns (uint256) {
        (uint256 index, ) = rewardState();
        StakeInfo memory s = _stakes[account];
        return _accounts[account].rewards + (uint256(s.staked) * (index - s.rewardPerTokenPaid)) / SCALE;
    }

    /// @notice Staking emission that streamed in while nothing was staked (or too little to spread)
    /// and waits for the next staker.
    function waitingRewards() external view returns (uint256) {
        (, uint256 distributed) = rewardState();
        return emission.stakingEmission(block.timestamp) - distributed;
    }

    /// @notice The pending unbonding requests of `account`, oldest first, with their ids.
    /// @param account any address
    function unbondingRequests(address account) external view returns (uint256 firstId, Unbonding[] memory requests) {
        Queue memory q = _queues[account];
        firstId = q.head;
        requests = new Unbonding[](q.tail - q.head);
        for (uint256 i = 0; i < requests.length; ++i) requests[i] = _unbondings[account][q.head + i];
    }

    /// @notice FLK `account` could withdraw now.
    /// @param account any address
    function withdrawable(address account) external view returns (uint256 amount) {
        Queue memory q = _queues[account];
        for (uint256 id = q.head; id < q.tail; ++id) {
            Unbonding memory u = _unbondings[account][id];
            if (u.releaseTime > block.timestamp) break;
            amount += u.amount;
        }
    }

    // ---------------------------------------------------------------- internals

    function _stake(address account, uint256 amount) private {
        if (amount == 0) revert StakingZeroAmount();
        Totals memory t = _totals;
        (StakeInfo memory s, AccountInfo memory a) = _settle(account, _accrue(t.staked));
        _addStake(account, amount, t, s, a);
        emit Staked(account, amount, s.staked);
        token.safeTransferFrom(account, address(this), amount);
    }

    /// @dev Adds settled `amount` to the stake and votes; self-delegates an account without a delegate.
    function _addStake(address account, uint256 amount, Totals memory t, StakeInfo memory s, AccountInfo memory a) private {
        uint96 delta = SafeCast.toUint96(amount);
        s.staked += delta;
        if (a.delegatee == address(0)) {
            a.delegatee = account;
            emit DelegateChanged(account, address(0), account);
        }
        _stakes[account] = s;
        _accounts[account] = a;
        t.staked += delta;
        _writeTotals(t);
        _moveVotes(address(0), a.delegatee, delta);
    }

    /// @dev Spreads the staking emission streamed since the last update over `total` staked wei and
    /// returns the accumulator. With nothing staked the emission waits. The spread amount is rounded
    /// up, so the accumulator never promises more than streamed in.
    function _accrue(uint256 total) private returns (uint256 index) {
        RewardState memory r = _reward;
        if (total == 0) return r.rewardPerToken;
        uint256 streamed = emission.stakingEmission(block.timestamp);
        uint256 increment = ((streamed - r.distributed) * SCALE) / total;
        if (increment == 0) return r.rewardPerToken;
        index = r.rewardPerToken + increment;
        _reward = RewardState(uint160(index), uint96(r.distributed + Math.mulDiv(increment, total, SCALE, Math.Rounding.Ceil)));
    }

    /// @dev The same computation as {_accrue}, without writing.
    function _preview(uint256 total) private view returns (uint256 index, uint256 distributed) {
        RewardState memory r = _reward;
        (index, distributed) = (r.rewardPerToken, r.distributed);
        if (total == 0) return (index, distributed);
        uint256 increment = ((emission.stakingEmission(block.timestamp) - distributed) * SCALE) / total;
        index += increment;
        distributed += Math.mulDiv(increment, total, SCALE, Math.Rounding.Ceil);
    }

    /// @dev Moves `account`'s rewards earned up to accumulator `index` into its settled rewards (in memory).
    function _settle(address account, uint256 index) private view returns (StakeInfo memory s, AccountInfo memory a) {
        s = _stakes[account];
        a = _accounts[account];
        a.rewards += SafeCast.toUint96((uint256(s.staked) * (index - s.rewardPerTokenPaid)) / SCALE);
        s.rewardPerTokenPaid = uint160(index);
    }

    /// @dev Makes sure this contract holds at least `needed` FLK (principal plus what is about to be
    /// paid), minting due emission when it does not: rewards are never paid out of principal.
    function _ensureBacked(uint256 needed) private {
        if (token.balanceOf(address(this)) >= needed) return;
        emission.mint();
        uint256 balance = token.balanceOf(address(this));
        if (balance < needed) revert StakingRewardsUnfunded(needed, balance);
    }

    /// @dev Stores totals after appending the new total to its history.
    function _writeTotals(Totals memory t) private {
        uint32 key = uint32(clock());
        t.length = uint32(_totalHistory.push(t.length, t.lastKey, key, t.staked));
        t.lastKey = key;
        _totals = t;
    }

    function _delegate(address account, address delegatee) private {
        if (delegatee == address(0)) revert StakingZeroDelegate();
        address previous = _accounts[account].delegatee;
        _accounts[account].delegatee = delegatee;
        emit DelegateChanged(account, previous, delegatee);
        // An account that never staked has no votes to move (and `previous` may be zero).
        uint96 staked = _stakes[account].staked;
        if (previous != delegatee && staked != 0) _moveVotes(previous, delegatee, staked);
    }

    /// @dev Removes `amount` votes from `from` (unless zero) and adds them to `to` (unless zero).
    function _moveVotes(address from, address to, uint96 amount) private {
        if (from != address(0)) _writeVotes(from, _voteHeads[from].votes - amount);
        if (to != address(0)) _writeVotes(to, _voteHeads[to].votes + amount);
    }

    function _writeVotes(address delegatee, uint96 votes) private {
        VoteHead memory head = _voteHeads[delegatee];
        uint32 key = uint32(clock());
        uint256 length = _voteHistory[delegatee].push(head.length, head.lastKey, key, votes);
        _voteHeads[delegatee] = VoteHead(votes, key, uint32(length));
        emit DelegateVotesChanged(delegatee, head.votes, votes);
    }

    function _checkPast(uint256 timepoint) private view {
        uint48 now_ = clock();
        if (timepoint >= now_) revert ERC5805FutureLookup(timepoint, now_);
    }

    function _setUnbondingPeriod(uint64 period) private {
        if (period > MAX_UNBONDING_PERIOD) revert StakingUnbondingPeriodTooLong(period);
        emit UnbondingPeriodSet(unbondingPeriod, period);
        unbondingPeriod = period;
    }
}
