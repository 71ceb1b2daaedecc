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
import {Emission} from "../token/Emission.sol";
import {EmissionSchedule} from "../token/EmissionSchedule.sol";
import {Head, PackedCheckpoints} from "./PackedCheckpoints.sol";

/// @title Staking: staked FLK earns the stakers' half of emission and carries the votes of governance
/// @notice Stake FLK (optionally with a permit in the same call); unstake into an unbonding queue and
/// withdraw once the unbonding period has passed. Staked FLK earns emission through a reward-per-token
/// accumulator (claim it, or compound it into stake) and carries voting power, checkpointed per
/// delegate on a timestamp clock (ERC-5805 / ERC-6372). A first stake self-delegates so the staker
/// can vote at once. Unbonding FLK earns and votes nothing.
/// @dev Emission accrues virtually: every update computes the staking half of the emission schedule
/// due now (`EmissionSchedule`, the formula {Emission} mints by, from the same immutable start) and
/// spreads what streamed in since the last update over the stake of that moment. The FLK itself
/// arrives only when someone calls `Emission.mint()`, which {claim} and {compound} do when the reward
/// reserve (balance minus principal) cannot cover them. Emission that streams while nothing is staked is not spread:
/// it waits and goes to the stake present at the next update. Rewards are never paid out of
/// principal: if governance redirected the stakers' half away from this contract, claims revert with
/// {StakingRewardsUnfunded} until the gap is funded (see docs/staking.md).
/// No reentrancy guard: every external call goes to FLK or {Emission}, which are created together
/// (Emission deploys FLK, and this contract takes the token from it), have no hooks or callbacks,
/// and so cannot call back. Each call also comes after the state it depends on is written (the permit
/// in {stakeWithPermit} comes first, but only touches FLK allowances).
contract Staking is IERC5805, Ownable, EIP712, Nonces {
    using SafeERC20 for IERC20;
    using PackedCheckpoints for PackedCheckpoints.History;

    /// @notice Scale of the reward-per-token accumulator.
    uint256 public constant SCALE = 1e18;
    /// @notice Hard cap on the unbonding period.
    uint64 public constant MAX_UNBONDING_PERIOD = 90 days;
    /// @notice EIP-712 type of a delegation signature (same as OpenZeppelin's `Votes`).
    bytes32 public constant DELEGATION_TYPEHASH = keccak256("Delegation(address delegatee,uint256 nonce,uint256 expiry)");

    // Layout of `_reward`, the global reward accounting and the unbonding period (which every unstake
    // reads after accruing), one word: the reward per staked FLK-wei since deployment times SCALE
    // (144 bits; never decreases; bounded by the whole staking emission times SCALE per wei,
    // 8.25e42 < 2^144), then the staking emission already spread over stakers (88 bits; rounded up
    // so the spread is always covered; at most the 8.25M FLK of staking emission < 2^88 wei), then
    // the unbonding period in seconds (24 bits; at most 90 days < 2^24).
    uint256 private constant DISTRIBUTED_SHIFT = 144;
    uint256 private constant PERIOD_SHIFT = 232;
    // Layout of an account's stake word: its stake (96 bits), the accumulator value it was last
    // settled at (144 bits, bounded as above), and two flags. A staker who votes for itself touches
    // only this word and its vote {Head} (which keeps its settled rewards as the extra amount) when
    // staking, unstaking or claiming.
    uint256 private constant PAID_SHIFT = 96;
    // Votes go to `_delegatees[account]` instead of the account itself.
    uint256 private constant DELEGATED = 1 << 240;
    // The account has staked or delegated before (its self-delegation was announced).
    uint256 private constant INITIALIZED = 1 << 241;

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

    uint256 private _reward;
    // Head of the total-stake history (the total staked now); its extra amount is the total unbonding.
    Head private _totals;

    mapping(address account => uint256) private _stakes;
    // Head of each delegate's vote history (its votes now); the extra amount is the account's own
    // settled unclaimed rewards, so a self-delegated staker writes votes and rewards together.
    mapping(address account => Head) private _heads;
    mapping(address account => AccountInfo) private _accounts;
    // The delegate of an account whose stake word has DELEGATED set.
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
    function stake(uint256 amount) external {
        _stake(msg.sender, amount);
    }

    /// @notice Stakes with an EIP-2612 permit in the same call. A permit that fails (for example
    /// because someone submitted it first) is ignored: the transfer then needs an allowance anyway.
    /// @param amount wei of FLK (also the permit's value)
    /// @param deadline permit deadline
    /// @param v signature v
    /// @param r signature r
    /// @param s signature s
    function stakeWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external {
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _stake(msg.sender, amount);
    }

    /// @notice Moves `amount` of the caller's stake into the unbonding queue. It stops earning and
    /// voting now and can be withdrawn after the unbonding period (never before earlier requests).
    /// @param amount wei of FLK
    /// @return requestId id of the new unbonding request
    function unstake(uint256 amount) external returns (uint256 requestId) {
        if (amount == 0) revert StakingZeroAmount();
        Head totals = _totals;
        uint256 index = _accrue(totals.latest());
        (uint96 staked, uint256 flags, Head head, uint96 rewards) = _settle(msg.sender, index);
        if (amount > staked) revert StakingInsufficientStake(amount, staked);
        uint96 delta = uint96(amount);
        staked -= delta;
        _store(msg.sender, staked, flags, index, head, rewards, delta, false);
        totals = _totalHistory.record(totals, _now(), totals.latest() - delta);
        _totals = totals.withExtra(totals.extra() + delta);

        // Release no earlier than the previous request, so the queue stays in release order; a
        // request releasing at the same second as the last pending one joins it.
        AccountInfo memory a = _accounts[msg.sender];
        uint32 releaseTime = uint32(Math.max(block.timestamp + (_reward >> PERIOD_SHIFT), a.lastRelease));
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
        emit Unstaked(msg.sender, requestId, amount, releaseTime, staked);
    }

    /// @notice Pays the caller every unbonding request that has matured.
    /// @return amount wei of FLK paid
    function withdraw() external returns (uint256 amount) {
        uint32 next;
        (amount, next) = _matured(msg.sender);
        if (amount == 0) revert StakingNothingToWithdraw();
        _accounts[msg.sender].queueHead = next;
        Head totals = _totals;
        _totals = totals.withExtra(totals.extra() - uint96(amount));
        emit Withdrawn(msg.sender, amount, next);
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice Pays the caller all its rewards.
    /// @return amount wei of FLK paid
    function claim() external returns (uint256 amount) {
        Head totals = _totals;
        uint256 index = _accrue(totals.latest());
        (uint96 staked, uint256 flags, Head head, uint96 rewards) = _settle(msg.sender, index);
        amount = rewards;
        if (amount == 0) revert StakingNothingToClaim();
        _store(msg.sender, staked, flags, index, head, 0, 0, false);
        _ensureBacked(uint256(totals.latest()) + totals.extra() + amount);
        emit RewardClaimed(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice Turns all the caller's rewards into stake (votes follow to its delegate).
    /// @return amount wei of FLK compounded
    function compound() external returns (uint256 amount) {
        Head totals = _totals;
        uint256 index = _accrue(totals.latest());
        (uint96 staked, uint256 flags, Head head, uint96 rewards) = _settle(msg.sender, index);
        amount = rewards;
        if (amount == 0) revert StakingNothingToClaim();
        staked = _addStake(msg.sender, amount, totals, index, staked, flags, head, 0);
        // The compounded FLK is principal now: it must be in the contract.
        totals = _totals;
        _ensureBacked(uint256(totals.latest()) + totals.extra());
        emit RewardCompounded(msg.sender, amount, staked);
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
        return _stakes[account] & DELEGATED != 0 ? _delegatees[account] : account;
    }

    /// @inheritdoc IVotes
    function getVotes(address account) external view returns (uint256) {
        return _heads[account].latest();
    }

    /// @inheritdoc IVotes
    function getPastVotes(address account, uint256 timepoint) external view returns (uint256) {
        _checkPast(timepoint);
        Head head = _heads[account];
        return head.lastKey() <= timepoint ? head.latest() : _voteHistory[account].lookupBefore(head, timepoint);
    }

    /// @notice Total staked FLK at a past `timepoint` (the quorum base of governance).
    /// @inheritdoc IVotes
    function getPastTotalSupply(uint256 timepoint) external view returns (uint256) {
        _checkPast(timepoint);
        Head totals = _totals;
        return totals.lastKey() <= timepoint ? totals.latest() : _totalHistory.lookupBefore(totals, timepoint);
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
        return uint64(_reward >> PERIOD_SHIFT);
    }

    /// @notice Total staked FLK now (= total votes).
    function totalStaked() external view returns (uint256) {
        return _totals.latest();
    }

    /// @notice Total FLK in unbonding requests not yet withdrawn.
    function totalUnbonding() external view returns (uint256) {
        return _totals.extra();
    }

    /// @notice FLK staked by `account` now.
    /// @param account any address
    function stakeOf(address account) external view returns (uint256) {
        return uint96(_stakes[account]);
    }

    /// @notice The accumulator as of now (including emission not yet accounted): reward per staked
    /// wei times {SCALE}, and the staking emission spread so far.
    function rewardState() public view returns (uint256 rewardPerToken, uint256 distributed) {
        uint256 r = _reward;
        (rewardPerToken, distributed) = (uint144(r), uint88(r >> DISTRIBUTED_SHIFT));
        uint256 total = _totals.latest();
        if (total == 0) return (rewardPerToken, distributed);
        uint256 increment = ((_stakingEmission() - distributed) * SCALE) / total;
        rewardPerToken += increment;
        distributed += _spread(increment, total);
    }

    /// @notice Rewards `account` could claim now.
    /// @param account any address
    function earned(address account) external view returns (uint256) {
        (uint256 index, ) = rewardState();
        return _heads[account].extra() + _earnedSince(_stakes[account], index);
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
        Head totals = _totals;
        uint256 index = _accrue(totals.latest());
        (uint96 staked, uint256 flags, Head head, uint96 rewards) = _settle(account, index);
        staked = _addStake(account, amount, totals, index, staked, flags, head, rewards);
        emit Staked(account, amount, staked);
        token.safeTransferFrom(account, address(this), amount);
    }

    /// @dev Adds `amount` to a settled account's stake (see {_store} for the other arguments), to the
    /// total and to the votes of its delegate; returns the new stake.
    function _addStake(address account, uint256 amount, Head totals, uint256 index, uint96 staked, uint256 flags, Head head, uint96 rewards) private returns (uint96) {
        uint96 delta = SafeCast.toUint96(amount);
        // No overflow: every amount here is FLK that the call moves in (or reverts), and all FLK
        // ever minted is below 2^87.
        unchecked {
            staked += delta;
        }
        if (flags & INITIALIZED == 0) {
            flags |= INITIALIZED;
            emit DelegateChanged(account, address(0), account);
        }
        _store(account, staked, flags, index, head, rewards, delta, true);
        unchecked {
            _totals = _totalHistory.record(totals, _now(), totals.latest() + delta);
        }
        return staked;
    }

    /// @dev Spreads the staking emission streamed since the last update over `total` staked wei and
    /// returns the accumulator. With nothing staked the emission waits. The spread amount is rounded
    /// up, so the accumulator never promises more than streamed in.
    function _accrue(uint256 total) private returns (uint256 index) {
        uint256 r = _reward;
        index = uint144(r);
        if (total == 0) return index;
        uint256 distributed = uint88(r >> DISTRIBUTED_SHIFT);
        uint256 increment = ((_stakingEmission() - distributed) * SCALE) / total;
        if (increment == 0) return index;
        // No overflow: both stay within the bounds of the layout above.
        unchecked {
            index += increment;
            distributed += _spread(increment, total);
        }
        // Both fit: see the layout.
        _reward = index | (distributed << DISTRIBUTED_SHIFT) | ((r >> PERIOD_SHIFT) << PERIOD_SHIFT);
    }

    /// @dev Loads an account and moves its rewards earned up to accumulator `index` into its settled
    /// rewards: returns its stake, its flags, its vote head and its settled rewards.
    function _settle(address account, uint256 index) private view returns (uint96 staked, uint256 flags, Head head, uint96 rewards) {
        uint256 word = _stakes[account];
        staked = uint96(word);
        flags = word & (DELEGATED | INITIALIZED);
        head = _heads[account];
        // Fits: an account's rewards are part of the staking emission (below 2^83 wei).
        rewards = uint96(head.extra() + _earnedSince(word, index));
    }

    /// @dev Rewards of the stake in stake word `word` since it was settled, up to accumulator `index`.
    function _earnedSince(uint256 word, uint256 index) private pure returns (uint256) {
        // No overflow: the accumulator never decreases, and a stake (< 2^87) times it (< 2^144) fits.
        unchecked {
            return (uint256(uint96(word)) * (index - uint144(word >> PAID_SHIFT))) / SCALE;
        }
    }

    /// @dev Stores a settled account (`staked`, `flags`, settled at `index`, with `rewards` settled
    /// and `head` its vote head as loaded) and adds (or removes) `votes` at its delegate: in the same
    /// slot as its rewards when it votes for itself.
    function _store(address account, uint96 staked, uint256 flags, uint256 index, Head head, uint96 rewards, uint96 votes, bool add) private {
        _stakes[account] = uint256(staked) | (index << PAID_SHIFT) | flags; // index < 2^144: see the layout
        head = head.withExtra(rewards);
        if (flags & DELEGATED != 0) {
            _heads[account] = head;
            if (votes != 0) {
                address delegatee = _delegatees[account];
                _changeVotes(delegatee, _heads[delegatee], votes, add);
            }
        } else if (votes != 0) {
            _changeVotes(account, head, votes, add);
        } else {
            _heads[account] = head;
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

    /// @dev What an accumulator `increment` over `total` staked wei hands out, rounded up. No overflow:
    /// the increment is below 2^144 and the total below 2^88.
    function _spread(uint256 increment, uint256 total) private pure returns (uint256) {
        unchecked {
            return (increment * total + (SCALE - 1)) / SCALE;
        }
    }

    /// @dev The staking half of the emission due now (what {Emission.stakingEmission} answers).
    function _stakingEmission() private view returns (uint256) {
        return EmissionSchedule.stakingHalf(_emissionStart, block.timestamp);
    }

    /// @dev The clock as a history key (unix seconds fit 32 bits until 2106).
    function _now() private view returns (uint32) {
        return uint32(block.timestamp);
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
        uint256 word = _stakes[account];
        address previous = word & DELEGATED != 0 ? _delegatees[account] : account;
        if (word & INITIALIZED == 0) previous = address(0); // never announced: this is the first delegation
        bool elsewhere = delegatee != account;
        _stakes[account] = (word & ~DELEGATED) | INITIALIZED | (elsewhere ? DELEGATED : 0);
        if (elsewhere) _delegatees[account] = delegatee;
        emit DelegateChanged(account, previous, delegatee);
        uint96 staked = uint96(word);
        if (staked != 0 && previous != delegatee) {
            _changeVotes(previous, _heads[previous], staked, false);
            _changeVotes(delegatee, _heads[delegatee], staked, true);
        }
    }

    /// @dev Writes `delegatee`'s vote head (given in `head`, with any other change already made) with
    /// its votes changed by `amount`, recording the new votes in its history.
    function _changeVotes(address delegatee, Head head, uint96 amount, bool add) private {
        uint96 previous = head.latest();
        // Votes are a part of the total staked (below 2^87) and `amount` is part of them when removed.
        uint96 votes;
        unchecked {
            votes = add ? previous + amount : previous - amount;
        }
        _heads[delegatee] = _voteHistory[delegatee].record(head, _now(), votes);
        emit DelegateVotesChanged(delegatee, previous, votes);
    }

    function _checkPast(uint256 timepoint) private view {
        if (timepoint >= block.timestamp) revert ERC5805FutureLookup(timepoint, clock());
    }

    function _setUnbondingPeriod(uint64 period) private {
        if (period > MAX_UNBONDING_PERIOD) revert StakingUnbondingPeriodTooLong(period);
        uint256 r = _reward;
        emit UnbondingPeriodSet(uint64(r >> PERIOD_SHIFT), period);
        _reward = (r & ((1 << PERIOD_SHIFT) - 1)) | (uint256(period) << PERIOD_SHIFT);
    }
}
