// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title Vesting: every genesis allocation of FLK, one schedule per beneficiary
/// @notice Allocations (team, early supporters, ecosystem, sale, foundation, incentives) and their
/// beneficiaries are fixed at construction. Each allocation has one shape: a share unlocked at the
/// token generation event (TGE), a cliff before which nothing more unlocks, and a linear duration
/// counted from the TGE (so a 1-year cliff on a 3-year schedule unlocks one third at the cliff).
/// Anyone may release a schedule's vested tokens; they always go to its beneficiary.
/// @dev There is no admin: nothing can be changed after construction.
contract Vesting {
    using SafeERC20 for IERC20;

    /// @notice Constructor input for one allocation.
    struct AllocationInit {
        string name;
        uint256 total;
        uint16 tgeBps;
        uint32 cliff;
        uint32 duration;
        address[] beneficiaries;
        uint96[] amounts;
    }

    /// @notice The shape shared by all schedules of one allocation.
    struct Allocation {
        uint16 tgeBps; // share unlocked at the TGE, in basis points
        uint32 cliff; // seconds after the TGE before anything beyond the TGE share unlocks
        uint32 duration; // seconds after the TGE at which everything is unlocked
        uint96 total; // sum of the allocation's schedules
    }

    /// @notice One beneficiary's schedule. Packed so a release rewrites a single slot.
    struct Schedule {
        address beneficiary;
        uint96 released;
        uint96 amount;
        uint8 allocation;
    }

    uint16 private constant BPS = 10_000;

    /// @notice The vested token (FLK).
    IERC20 public immutable token;
    /// @notice The token generation event: every schedule counts from here.
    uint64 public immutable start;

    Allocation[] private _allocations;
    // A mapping, not an array: release() finds an unknown id by its zero beneficiary, with no
    // extra read of an array length.
    mapping(uint256 scheduleId => Schedule) private _schedules;
    mapping(address beneficiary => uint256[]) private _scheduleIds;
    /// @notice Number of schedules (ids are 0 .. scheduleCount - 1).
    uint256 public immutable scheduleCount;
    /// @notice Sum of all schedules.
    uint256 public immutable totalAllocated;

    /// @notice An allocation was created.
    event AllocationCreated(uint256 indexed allocationId, string name, uint256 total, uint16 tgeBps, uint32 cliff, uint32 duration);
    /// @notice A beneficiary's schedule was created.
    event ScheduleCreated(uint256 indexed scheduleId, uint256 indexed allocationId, address indexed beneficiary, uint256 amount);
    /// @notice Vested tokens were released to a beneficiary.
    event Released(uint256 indexed scheduleId, address indexed beneficiary, uint256 amount);

    /// @notice The beneficiary and amount lists of an allocation differ in length.
    error VestingLengthMismatch(uint256 allocationId);
    /// @notice The schedules of an allocation do not sum to its declared total.
    error VestingTotalMismatch(uint256 allocationId, uint256 declared, uint256 scheduled);
    /// @notice A TGE share above 100%, or a cliff after the end of the schedule.
    error VestingInvalidShape(uint256 allocationId);
    /// @notice A schedule with the zero address or a zero amount.
    error VestingInvalidSchedule(uint256 allocationId, uint256 index);
    /// @notice More than 256 allocations.
    error VestingTooManyAllocations();
    /// @notice No schedule has this id.
    error VestingUnknownSchedule(uint256 scheduleId);
    /// @notice Nothing is releasable for this schedule now.
    error VestingNothingToRelease(uint256 scheduleId);

    /// @param token_ the vested token; the deployment transfers {totalAllocated} of it here
    /// @param start_ the token generation event (unix seconds)
    /// @param allocations the allocations with their beneficiaries
    constructor(IERC20 token_, uint64 start_, AllocationInit[] memory allocations) {
        if (allocations.length > 256) revert VestingTooManyAllocations();
        token = token_;
        start = start_;
        uint256 all;
        uint256 id;
        for (uint256 a = 0; a < allocations.length; ++a) {
            AllocationInit memory init = allocations[a];
            if (init.beneficiaries.length != init.amounts.length) revert VestingLengthMismatch(a);
            if (init.tgeBps > BPS || init.cliff > init.duration) revert VestingInvalidShape(a);
            uint256 sum;
            for (uint256 i = 0; i < init.amounts.length; ++i) {
                address beneficiary = init.beneficiaries[i];
                uint96 amount = init.amounts[i];
                if (beneficiary == address(0) || amount == 0) revert VestingInvalidSchedule(a, i);
                _schedules[id] = Schedule(beneficiary, 0, amount, uint8(a));
                _scheduleIds[beneficiary].push(id);
                sum += amount;
                emit ScheduleCreated(id, a, beneficiary, amount);
                ++id;
            }
            if (sum != init.total) revert VestingTotalMismatch(a, init.total, sum);
            _allocations.push(Allocation(init.tgeBps, init.cliff, init.duration, uint96(sum)));
            all += sum;
            emit AllocationCreated(a, init.name, sum, init.tgeBps, init.cliff, init.duration);
        }
        totalAllocated = all;
        scheduleCount = id;
    }

    /// @notice Number of allocations.
    function allocationCount() external view returns (uint256) {
        return _allocations.length;
    }

    /// @notice The shape and total of an allocation.
    /// @param allocationId index in creation order
    function allocation(uint256 allocationId) external view returns (Allocation memory) {
        return _allocations[allocationId];
    }

    /// @notice A schedule by id.
    /// @param scheduleId index in creation order
    function schedule(uint256 scheduleId) external view returns (Schedule memory) {
        return _schedule(scheduleId);
    }

    /// @notice The ids of every schedule of `beneficiary`.
    /// @param beneficiary the account the schedules pay
    function scheduleIdsOf(address beneficiary) external view returns (uint256[] memory) {
        return _scheduleIds[beneficiary];
    }

    /// @notice Tokens of a schedule vested at `timestamp` (released or not).
    /// @param scheduleId the schedule
    /// @param timestamp any unix time
    function vestedAmount(uint256 scheduleId, uint256 timestamp) public view returns (uint256) {
        Schedule memory s = _schedule(scheduleId);
        return _vested(_allocations[s.allocation], s.amount, timestamp);
    }

    /// @notice Tokens of a schedule already released.
    /// @param scheduleId the schedule
    function released(uint256 scheduleId) external view returns (uint256) {
        return _schedule(scheduleId).released;
    }

    /// @notice Tokens of a schedule releasable at `timestamp` given what is released now.
    /// @param scheduleId the schedule
    /// @param timestamp any unix time
    function releasableAt(uint256 scheduleId, uint256 timestamp) public view returns (uint256) {
        uint256 vested = vestedAmount(scheduleId, timestamp);
        uint256 done = _schedules[scheduleId].released;
        return vested > done ? vested - done : 0;
    }

    /// @notice Tokens of a schedule releasable now.
    /// @param scheduleId the schedule
    function releasable(uint256 scheduleId) external view returns (uint256) {
        return releasableAt(scheduleId, block.timestamp);
    }

    /// @notice Tokens of the whole contract still locked at `timestamp` (allocated, not vested).
    /// @dev Loops over every schedule: a view for indexers and dashboards, not for other contracts.
    /// @param timestamp any unix time
    function lockedAt(uint256 timestamp) external view returns (uint256 locked) {
        for (uint256 id = 0; id < scheduleCount; ++id) {
            Schedule storage s = _schedules[id];
            locked += s.amount - _vested(_allocations[s.allocation], s.amount, timestamp);
        }
    }

    /// @notice Sends a schedule's releasable tokens to its beneficiary. Anyone may call it.
    /// @param scheduleId the schedule
    /// @return amount tokens released
    function release(uint256 scheduleId) external returns (uint256 amount) {
        Schedule storage s = _schedules[scheduleId];
        address beneficiary = s.beneficiary;
        if (beneficiary == address(0)) revert VestingUnknownSchedule(scheduleId);
        uint96 done = s.released;
        uint256 vested = _vested(_allocations[s.allocation], s.amount, block.timestamp);
        if (vested <= done) revert VestingNothingToRelease(scheduleId);
        amount = vested - done;
        s.released = uint96(vested);
        emit Released(scheduleId, beneficiary, amount);
        token.safeTransfer(beneficiary, amount);
    }

    function _vested(Allocation memory a, uint256 amount, uint256 timestamp) private view returns (uint256) {
        if (timestamp < start) return 0;
        uint256 elapsed = timestamp - start;
        if (elapsed >= a.duration) return amount;
        uint256 atTge = (amount * a.tgeBps) / BPS;
        if (elapsed < a.cliff) return atTge;
        return atTge + ((amount - atTge) * elapsed) / a.duration;
    }

    function _schedule(uint256 scheduleId) private view returns (Schedule memory) {
        Schedule memory s = _schedules[scheduleId];
        if (s.beneficiary == address(0)) revert VestingUnknownSchedule(scheduleId);
        return s;
    }
}
