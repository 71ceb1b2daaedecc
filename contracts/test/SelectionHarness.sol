// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Selection} from "../registry/Selection.sol";

/// @notice Exposes the registry's committee shuffle to the tests of its TypeScript mirror.
contract SelectionHarness {
    /// @notice See {Selection.shuffle}.
    function shuffle(uint32[] memory ids, uint256 size, bytes32 seed) external pure returns (uint32[] memory) {
        return Selection.shuffle(ids, size, seed);
    }
}
