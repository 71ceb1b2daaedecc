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
import {EmissionSchedule} from "../token/EmissionSchedule.sol";
import {PackedCheckpoints} from "./PackedCheckpoints.sol";

/// @title Staking: staked FLK earns the stakers' half of emission and carries the votes of governance
/// @notice Stake FLK (optionally with a permit in the same call); unstake into an unbonding queue and
/// withdraw once the unbonding period has passed. Staked FLK earns emission through a reward-per-token
/// accumulator (claim it, or compound it into stake) and carries voting power, checkpointed per
/// delegate on a timestamp clock (ERC-5805 / ERC-6372). A first stake self-delegates so the staker
/// can vote at once. Unbonding FLK earns and votes nothing.
/// @dev Emission accrues virtually: every update computes the staking half of the emission schedule
/// due now (`EmissionSchedule`, the formula {Emission} mints by, from the same immutable start) and
/// spreads what streamed in since the last update over the stake of that moment. The FLK itself arrives only when
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

    /// @notice Global reward accounting and the unbonding period (which every unstake reads after
    /// accruing), one slot.
    struct RewardState {
        // Reward per staked FLK-wei since deployment, times SCALE. Never decreases. Bounded by the
        // whole staking emission times SCALE per wei (8.25e42 < 2^144).
        uint144 rewardPerToken;
        // Staking emission already spread over stakers (rounded up so the spread is always covered;
        // at most the 8.25M FLK of staking emission < 2^88 wei).
        uint88 distributed;
        // Seconds between {unstake} and the earliest {withdraw} (at most 90 days < 2^24).
        uint24 unbondingPeriod;
    }

    /// @notice Stake totals and the head of the total-stake history, one slot.
    struct Totals {
        uint96 staked;
        uint32 lastKey;
        uint32 length;
        uint96 unbonding;
    }

    /// @notice One account's stake, the accumulator value it was last settled at, and its
    /// delegation flags, one slot. A staker who votes for itself touches only this slot and its
    /// {VoteHead} when staking, unstaking or claiming.
    struct StakeInfo {
        uint96 staked;
        // Bounded by the whole staking emission times SCALE per wei (8.25e42 < 2^144).
        uint144 rewardPerTokenPaid;
        // Votes go to `_accounts[account].delegatee` instead of the account itself.
        bool delegated;
        // The account has staked or delegated before (its self-delegation was announced).
        bool initialized;
    }

    /// @notice An account's votes as a delegate, the head of its vote history, and its own settled
    /// unclaimed rewards, one slot (so a self-delegated staker writes votes and rewards together).
    struct VoteHead {
        uint96 votes;
        uint32 lastKey;
        uint32 length;
        uint96 rewards;
    }

    /// @notice An account's unbonding queue, one slot. Requests `queueHead .. queueTail - 1` are
    /// pending; the last one (`lastRelease`, `lastAmount`) is kept here and the earlier ones in
    /// `_queues`, so a first unstake writes this slot only.
    struct AccountInfo {
        uint32 queueHead;
        uint32 queueTail;
        uint32 lastRelease;
        uint96 lastAmount;
    }

    /// @notice One unbonding request, as returned by {unbondingRequests}.
    struct Unbonding {
        uint96 amount;
        uint32 releaseTime;
    }

    /// @notice The staked token (FLK).
    IERC20 public immutable token;
    /// @notice The emission contract whose staking half pays the rewards.
    Emission public immutable emission;
    // Emission's start (immutable there too): the staking half due at any time follows from it.
    uint256 private immutable _emissionStart;

    RewardState private _reward;
    Totals private _totals;

    mapping(address account => StakeInfo) private _stakes;
    mapping(address account => VoteHead) private _heads;
    mapping(address account => AccountInfo) private _accounts;
    // The delegate of an account whose `StakeInfo.delegated` is set.
    mapping(address account => address) private _delegatees;
    mapping(address delegatee => PackedCheckpoints.History) private _voteHistory;
    PackedCheckpoints.History private _totalHistory;
    // Unbonding requests: key = release time, value = amount.
    mapping(address account => PackedCheckpoints.History) private _queues;

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
        _emissionStart = emission_.start();
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
        (StakeInfo memory s, VoteHead memory v) = _settle(msg.sender, _accrue(t.staked));
        if (amount > s.staked) revert StakingInsufficientStake(amount, s.staked);
        uint96 delta = uint96(amount);
        s.staked -= delta;
        _store(msg.sender, s, v, delta, false);
        uint96 previousTotal = t.staked;
        t.staked -= delta;
        t.unbonding += delta;
        _writeTotals(t, previousTotal);

        // Release no earlier than the previous request, so the queue stays in release order; a
        // request releasing at the same second as the last pending one joins it.
        AccountInfo memory a = _accounts[msg.sender];
        uint32 releaseTime = uint32(Math.max(block.timestamp + _reward.unbondingPeriod, a.lastRelease));
        PackedCheckpoints.History storage queue = _queues[msg.sender];
        if (a.queueTail > a.queueHead && releaseTime == a.lastRelease) {
            requestId = a.queueTail - 1;
            a.lastAmount += delta;
            queue.replaceLast(requestId, releaseTime, a.lastAmount);
        } else {
            requestId = a.queueTail;
            queue.append(requestId, a.lastRelease, a.lastAmount, releaseTime, delta);
            a.queueTail += 1;
            (a.lastRelease, a.lastAmount) = (releaseTime, delta);
        }
        _accounts[msg.sender] = a;
        emit Unstaked(msg.sender, requestId, amount, releaseTime, s.staked);
    }

    /// @notice Pays the caller every unbonding request that has matured.
    /// @return amount wei of FLK paid
    function withdraw() external nonReentrant returns (uint256 amount) {
        AccountInfo storage a = _accounts[msg.sender];
        uint32 id;
        (amount, id) = _matured(msg.sender);
        if (amount == 0) revert StakingNothingToWithdraw();
        a.queueHead = id;
        _totals.unbonding -= uint96(amount);
        emit Withdrawn(msg.sender, amount, id);
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice Pays the caller all its rewards.
    /// @return amount wei of FLK paid
    function claim() external nonReentrant returns (uint256 amount) {
        Totals memory t = _totals;
        (StakeInfo memory s, VoteHead memory v) = _settle(msg.sender, _accrue(t.staked));
        amount = v.rewards;
        if (amount == 0) revert StakingNothingToClaim();
        v.rewards = 0;
        _store(msg.sender, s, v, 0, true);
        _ensureBacked(uint256(t.staked) + t.unbonding + amount);
        emit RewardClaimed(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice Turns all the caller's rewards into stake (votes follow to its delegate).
    /// @return amount wei of FLK compounded
    function compound() external nonReentrant returns (uint256 amount) {
        Totals memory t = _totals;
        (StakeInfo memory s, VoteHead memory v) = _settle(msg.sender, _accrue(t.staked));
        amount = v.rewards;
        if (amount == 0) revert StakingNothingToClaim();
        v.rewards = 0;
        _addStake(msg.sender, amount, t, s, v);
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
    /// @dev Every account delegates to itself until it chooses another delegate.
    function delegates(address account) public view returns (address) {
        return _stakes[account].delegated ? _delegatees[account] : account;
    }

    /// @inheritdoc IVotes
    function getVotes(address account) external view returns (uint256) {
        return _heads[account].votes;
    }

    /// @inheritdoc IVotes
    function getPastVotes(address account, uint256 timepoint) external view returns (uint256) {
        _checkPast(timepoint);
        VoteHead memory head = _heads[account];
        if (head.lastKey <= timepoint) return head.votes;
        return _voteHistory[account].upperLookup(head.length - 1, timepoint);
    }

    /// @notice Total staked FLK at a past `timepoint` (the quorum base of governance).
    /// @inheritdoc IVotes
    function getPastTotalSupply(uint256 timepoint) external view returns (uint256) {
        _checkPast(timepoint);
        Totals memory t = _totals;
        if (t.lastKey <= timepoint) return t.staked;
        return _totalHistory.upperLookup(t.length - 1, timepoint);
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

    /// @notice Seconds between {unstake} and the earliest {withdraw} of that amount.
    function unbondingPeriod() external view returns (uint64) {
        return _reward.unbondingPeriod;
    }

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
        return _heads[account].rewards + (uint256(s.staked) * (index - s.rewardPerTokenPaid)) / SCALE;
    }

    /// @notice Staking emission that streamed in while nothing was staked (or too little to spread)
    /// and waits for the next staker.
    function waitingRewards() external view returns (uint256) {
        (, uint256 distributed) = rewardState();
        return _stakingEmission() - distributed;
    }

    /// @notice The pending unbonding requests of `account`, oldest first, with the id of the first.
    /// @param account any address
    function unbondingRequests(address account) external view returns (uint256 firstId, Unbonding[] memory requests) {
        AccountInfo memory a = _accounts[account];
        firstId = a.queueHead;
        requests = new Unbonding[](a.queueTail - a.queueHead);
        for (uint256 i = 0; i < requests.length; ++i) {
            (uint32 releaseTime, uint96 amount) = _request(account, a, firstId + i);
            requests[i] = Unbonding(amount, releaseTime);
        }
    }

    /// @notice FLK `account` could withdraw now.
    /// @param account any address
    function withdrawable(address account) external view returns (uint256 amount) {
        (amount, ) = _matured(account);
    }

    // ---------------------------------------------------------------- internals

    function _stake(address account, uint256 amount) private {
        if (amount == 0) revert StakingZeroAmount();
        Totals memory t = _totals;
        (StakeInfo memory s, VoteHead memory v) = _settle(account, _accrue(t.staked));
        _addStake(account, amount, t, s, v);
        emit Staked(account, amount, s.staked);
        token.safeTransferFrom(account, address(this), amount);
    }

    /// @dev Adds settled `amount` to the stake, the totals and the votes of the account's delegate.
    function _addStake(address account, uint256 amount, Totals memory t, StakeInfo memory s, VoteHead memory v) private {
        uint96 delta = SafeCast.toUint96(amount);
        s.staked += delta;
        if (!s.initialized) {
            s.initialized = true;
            emit DelegateChanged(account, address(0), account);
        }
        _store(account, s, v, delta, true);
        uint96 previousTotal = t.staked;
        t.staked += delta;
        _writeTotals(t, previousTotal);
    }

    /// @dev Spreads the staking emission streamed since the last update over `total` staked wei and
    /// returns the accumulator. With nothing staked the emission waits. The spread amount is rounded
    /// up, so the accumulator never promises more than streamed in.
    function _accrue(uint256 total) private returns (uint256 index) {
        RewardState memory r = _reward;
        if (total == 0) return r.rewardPerToken;
        uint256 increment = ((_stakingEmission() - r.distributed) * SCALE) / total;
        if (increment == 0) return r.rewardPerToken;
        // Fits: see {RewardState} (and {_settle} casts the index with a check).
        index = r.rewardPerToken + increment;
        r.rewardPerToken = uint144(index);
        r.distributed = uint88(r.distributed + Math.mulDiv(increment, total, SCALE, Math.Rounding.Ceil));
        _reward = r;
    }

    /// @dev The same computation as {_accrue}, without writing.
    function _preview(uint256 total) private view returns (uint256 index, uint256 distributed) {
        RewardState memory r = _reward;
        (index, distributed) = (r.rewardPerToken, r.distributed);
        if (total == 0) return (index, distributed);
        uint256 increment = ((_stakingEmission() - distributed) * SCALE) / total;
        index += increment;
        distributed += Math.mulDiv(increment, total, SCALE, Math.Rounding.Ceil);
    }

    /// @dev Loads an account and moves its rewards earned up to accumulator `index` into its settled
    /// rewards (in memory; {_store} writes them).
    function _settle(address account, uint256 index) private view returns (StakeInfo memory s, VoteHead memory v) {
        s = _stakes[account];
        v = _heads[account];
        v.rewards += SafeCast.toUint96((uint256(s.staked) * (index - s.rewardPerTokenPaid)) / SCALE);
        s.rewardPerTokenPaid = SafeCast.toUint144(index);
    }

    /// @dev Stores a settled account and adds (or removes) `votes` at its delegate: in the same slot as
    /// its rewards when it votes for itself.
    function _store(address account, StakeInfo memory s, VoteHead memory v, uint96 votes, bool add) private {
        _stakes[account] = s;
        if (s.delegated) {
            _heads[account] = v;
            if (votes != 0) {
                address delegatee = _delegatees[account];
                _changeVotes(delegatee, _heads[delegatee], votes, add);
            }
        } else if (votes != 0) {
            _changeVotes(account, v, votes, add);
        } else {
            _heads[account] = v;
        }
    }

    /// @dev Makes sure this contract holds at least `needed` FLK (principal plus what is about to be
    /// paid), minting due emission when it does not: rewards are never paid out of principal.
    function _ensureBacked(uint256 needed) private {
        if (token.balanceOf(address(this)) >= needed) return;
        emission.mint();
        uint256 balance = token.balanceOf(address(this));
        if (balance < needed) revert StakingRewardsUnfunded(needed, balance);
    }

    /// @dev Stores totals after recording the new total (the previous one was `previous`) in its history.
    function _writeTotals(Totals memory t, uint96 previous) private {
        uint32 key = uint32(clock());
        t.length = uint32(_totalHistory.push(t.length, t.lastKey, previous, key, t.staked));
        t.lastKey = key;
        _totals = t;
    }

    /// @dev The staking half of the emission due now (what {Emission.stakingEmission} answers).
    function _stakingEmission() private view returns (uint256) {
        return EmissionSchedule.stakingHalf(_emissionStart, block.timestamp);
    }

    /// @dev Unbonding request `id` of `account`, whose queue is `a`: the last one is kept in `a`.
    function _request(address account, AccountInfo memory a, uint256 id) private view returns (uint32 releaseTime, uint96 amount) {
        if (id == a.queueTail - 1) return (a.lastRelease, a.lastAmount);
        return _queues[account].at(id);
    }

    /// @dev The FLK of `account`'s matured unbonding requests, and the id of the first one not matured.
    function _matured(address account) private view returns (uint256 amount, uint32 next) {
        AccountInfo memory a = _accounts[account];
        for (next = a.queueHead; next < a.queueTail; ++next) {
            (uint32 releaseTime, uint96 pending) = _request(account, a, next);
            if (releaseTime > block.timestamp) break;
            amount += pending;
        }
    }

    function _delegate(address account, address delegatee) private {
        if (delegatee == address(0)) revert StakingZeroDelegate();
        StakeInfo memory s = _stakes[account];
        address previous = s.delegated ? _delegatees[account] : account;
        if (!s.initialized) previous = address(0); // never announced: this is the first delegation
        s.initialized = true;
        s.delegated = delegatee != account;
        _stakes[account] = s;
        if (s.delegated) _delegatees[account] = delegatee;
        emit DelegateChanged(account, previous, delegatee);
        if (s.staked != 0 && previous != delegatee) {
            _changeVotes(previous, _heads[previous], s.staked, false);
            _changeVotes(delegatee, _heads[delegatee], s.staked, true);
        }
    }

    /// @dev Writes `delegatee`'s head (given in `head`, with any other change already made) with its
    /// votes changed by `amount`, and appends the new total to its vote history.
    function _changeVotes(address delegatee, VoteHead memory head, uint96 amount, bool add) private {
        uint96 previous = head.votes;
        head.votes = add ? previous + amount : previous - amount;
        uint32 key = uint32(clock());
        head.length = uint32(_voteHistory[delegatee].push(head.length, head.lastKey, previous, key, head.votes));
        head.lastKey = key;
        _heads[delegatee] = head;
        emit DelegateVotesChanged(delegatee, previous, head.votes);
    }

    function _checkPast(uint256 timepoint) private view {
        uint48 now_ = clock();
        if (timepoint >= now_) revert ERC5805FutureLookup(timepoint, now_);
    }

    function _setUnbondingPeriod(uint64 period) private {
        if (period > MAX_UNBONDING_PERIOD) revert StakingUnbondingPeriodTooLong(period);
        emit UnbondingPeriodSet(_reward.unbondingPeriod, period);
        _reward.unbondingPeriod = uint24(period);
    }
}
