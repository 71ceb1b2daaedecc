// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {FLK} from "./FLK.sol";
import {EmissionSchedule} from "./EmissionSchedule.sol";

/// @title Emission: FLK inflation minted per second on a fixed five-year schedule
/// @notice Year 1 mints 5,000,000 FLK, year 2 4,000,000, year 3 3,000,000, year 4 2,500,000, year 5
/// 2,000,000, then nothing (16,500,000 in all). Each year's amount accrues linearly per second and
/// is exact to the wei at the year's end. Anyone may call {mint}: half goes to the staking-rewards
/// recipient, half to the node-rewards recipient. The owner (the timelock) may redirect the two
/// halves but can never change the schedule.
/// @dev This contract deploys the FLK token, so it is the token's only minter by construction.
contract Emission is Ownable {
    /// @notice Length of an emission year.
    uint256 public constant YEAR = EmissionSchedule.YEAR;
    /// @notice Total emission over the whole schedule.
    uint256 public constant TOTAL_EMISSION = EmissionSchedule.TOTAL_EMISSION;

    /// @notice The FLK token, created by this contract's constructor.
    FLK public immutable token;
    /// @notice Start of emission (the token generation event).
    uint256 public immutable start;

    /// @notice Emission minted so far (both halves).
    uint256 public minted;
    /// @notice Receives the stakers' half of emission.
    address public stakingRecipient;
    /// @notice Receives the node operators' half of emission.
    address public nodeRecipient;

    /// @notice Emitted on every mint with the two halves.
    event EmissionMinted(address indexed stakingRecipient, uint256 stakingAmount, address indexed nodeRecipient, uint256 nodeAmount, uint256 totalMinted);
    /// @notice Emitted when the owner redirects the two halves.
    event RecipientsSet(address stakingRecipient, address nodeRecipient);

    /// @notice A recipient was the zero address.
    error EmissionZeroAddress();
    /// @notice {mint} before the owner has named the recipients.
    error EmissionRecipientsNotSet();

    /// @dev Recipients start unset: emission accrues from the TGE and the first {setRecipients}
    /// decides where it goes, so the deployer never receives any.
    /// @param genesisHolder receives the 100,000,000 FLK genesis supply
    /// @param owner_ sets the recipients (hand it to the timelock)
    constructor(address genesisHolder, address owner_) Ownable(owner_) {
        token = new FLK(genesisHolder);
        start = block.timestamp;
    }

    /// @notice FLK minted in emission year `year` (0-based); zero from the sixth year on.
    /// @param year 0 for the first year after the token generation event
    function yearlyEmission(uint256 year) public pure returns (uint256) {
        return EmissionSchedule.yearly(year);
    }

    /// @notice The whole schedule: the amount of each of the five emission years.
    function schedule() external pure returns (uint256[5] memory amounts) {
        for (uint256 y = 0; y < 5; ++y) amounts[y] = yearlyEmission(y);
    }

    /// @notice Emission due from the start up to `timestamp` (minted or not), rounded down.
    /// @param timestamp any unix time; before the start the answer is zero
    function cumulativeEmission(uint256 timestamp) public view returns (uint256) {
        return EmissionSchedule.cumulative(start, timestamp);
    }

    /// @notice The stakers' half of {cumulativeEmission} at `timestamp` (rounded down).
    /// @param timestamp any unix time
    function stakingEmission(uint256 timestamp) external view returns (uint256) {
        return EmissionSchedule.stakingHalf(start, timestamp);
    }

    /// @notice The node operators' half of {cumulativeEmission} at `timestamp` (gets the odd wei).
    /// @param timestamp any unix time
    function nodeEmission(uint256 timestamp) external view returns (uint256) {
        uint256 total = cumulativeEmission(timestamp);
        return total - total / 2;
    }

    /// @notice Emission due now and not yet minted.
    function mintable() external view returns (uint256) {
        return cumulativeEmission(block.timestamp) - minted;
    }

    /// @notice Mints everything due up to now to the two recipients. Anyone may call it.
    /// @return amount total minted by this call (zero when nothing is due)
    function mint() public returns (uint256 amount) {
        if (stakingRecipient == address(0)) revert EmissionRecipientsNotSet();
        uint256 before = minted;
        uint256 due = cumulativeEmission(block.timestamp);
        amount = due - before;
        if (amount == 0) return 0;
        minted = due;
        // Split cumulative totals, not increments, so each half stays exact over any call pattern.
        uint256 toStaking = due / 2 - before / 2;
        uint256 toNodes = amount - toStaking;
        address staking = stakingRecipient;
        address nodes = nodeRecipient;
        token.mint(staking, toStaking);
        token.mint(nodes, toNodes);
        emit EmissionMinted(staking, toStaking, nodes, toNodes, due);
    }

    /// @notice Names (or redirects) the recipients of the two halves of emission. What is due so far
    /// goes to the old recipients, or, the first time, to the new ones.
    /// @param stakingRecipient_ new recipient of the stakers' half
    /// @param nodeRecipient_ new recipient of the node operators' half
    function setRecipients(address stakingRecipient_, address nodeRecipient_) external onlyOwner {
        if (stakingRecipient_ == address(0) || nodeRecipient_ == address(0)) revert EmissionZeroAddress();
        if (stakingRecipient != address(0)) mint();
        stakingRecipient = stakingRecipient_;
        nodeRecipient = nodeRecipient_;
        emit RecipientsSet(stakingRecipient_, nodeRecipient_);
    }
}
