// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Selection: the committee shuffle and the stake sort of the epoch change
/// @dev `shuffle` is mirrored bit for bit by `protocol/committee.ts`.
library Selection {
    /// @notice The committee shuffle: a partial Fisher-Yates over `ids` driven by `seed`; position
    /// `i` swaps with `i + uint256(keccak256(abi.encode(seed, i))) % (n - i)`. Returns the first `size`.
    /// @param ids the active set, in the order of NodeRegistry's ActiveSetSelected event
    /// @param size committee size (less than `ids.length`)
    /// @param seed keccak256(abi.encode(epoch, beaconMix[epoch])) of the ending epoch
    function shuffle(uint32[] memory ids, uint256 size, bytes32 seed) internal pure returns (uint32[] memory members) {
        uint256 n = ids.length;
        uint32[] memory a = new uint32[](n);
        for (uint256 i = 0; i < n; ++i) a[i] = ids[i];
        members = new uint32[](size);
        for (uint256 i = 0; i < size; ++i) {
            uint256 j = i + (uint256(keccak256(abi.encode(seed, i))) % (n - i));
            (a[i], a[j]) = (a[j], a[i]);
            members[i] = a[i];
        }
    }

    /// @notice Sorts `a[lo..hi]` in place, descending (quicksort; recursion depth stays logarithmic).
    function sortDesc(uint256[] memory a, int256 lo, int256 hi) internal pure {
        while (lo < hi) {
            uint256 pivot = a[uint256(lo + (hi - lo) / 2)];
            int256 i = lo;
            int256 j = hi;
            while (i <= j) {
                while (a[uint256(i)] > pivot) ++i;
                while (a[uint256(j)] < pivot) --j;
                if (i <= j) {
                    (a[uint256(i)], a[uint256(j)]) = (a[uint256(j)], a[uint256(i)]);
                    ++i;
                    --j;
                }
            }
            // Recurse into the smaller half, loop on the larger: stack depth stays logarithmic.
            if (j - lo < hi - i) {
                sortDesc(a, lo, j);
                lo = i;
            } else {
                sortDesc(a, i, hi);
                hi = j;
            }
        }
    }
}
