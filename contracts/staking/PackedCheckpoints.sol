// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title PackedCheckpoints: a list of (timestamp, amount) pairs, two per storage slot
/// @notice Entry `i` lives in slot `i / 2`: even entries in the low 128 bits, odd ones in the high
/// 128 bits, each as `uint32 key << 96 | uint96 value`. Every second append reuses a slot that is
/// already non-zero, so a history costs about half of OpenZeppelin's one-slot-per-checkpoint
/// `Trace208` to extend. The caller keeps the length and the last key (in a slot it writes anyway),
/// which saves reading them here. Used for vote and total-stake histories (ascending keys, looked
/// up by time) and for unbonding queues (keys are release times).
/// @dev 96-bit values hold any FLK amount (116.5M FLK < 2^87 wei); 32-bit keys hold unix seconds
/// until 2106.
library PackedCheckpoints {
    /// @notice Storage of one history.
    struct History {
        mapping(uint256 slot => uint256 word) slots;
    }

    uint256 private constant LOW_HALF = type(uint128).max;

    /// @notice Records `value` at `key`: overwrites the last entry when it has the same key, else appends.
    /// @param length number of entries before the call
    /// @param lastKey key of the last entry (ignored when `length` is zero)
    /// @return newLength number of entries after the call
    function push(History storage h, uint256 length, uint32 lastKey, uint32 key, uint96 value) internal returns (uint256 newLength) {
        if (length != 0 && lastKey == key) {
            set(h, length - 1, key, value);
            return length;
        }
        set(h, length, key, value);
        return length + 1;
    }

    /// @notice Writes entry `index`, which must be the last entry or the one just after it.
    function set(History storage h, uint256 index, uint32 key, uint96 value) internal {
        uint256 entry = (uint256(key) << 96) | value;
        uint256 slot = index >> 1;
        // An even entry is always the last one in its slot, so the high half is empty: no read needed.
        if (index & 1 == 0) h.slots[slot] = entry;
        else h.slots[slot] = (h.slots[slot] & LOW_HALF) | (entry << 128);
    }

    /// @notice The value of the last entry whose key is at most `key`, or zero if there is none.
    /// @param length number of entries in the history
    function upperLookup(History storage h, uint256 length, uint256 key) internal view returns (uint256) {
        uint256 low = 0;
        uint256 high = length;
        while (low < high) {
            uint256 mid = (low + high) >> 1;
            if (_entry(h, mid) >> 96 > key) high = mid;
            else low = mid + 1;
        }
        return high == 0 ? 0 : uint96(_entry(h, high - 1));
    }

    /// @notice The entry at `index` as (key, value).
    function at(History storage h, uint256 index) internal view returns (uint32 key, uint96 value) {
        uint256 entry = _entry(h, index);
        return (uint32(entry >> 96), uint96(entry));
    }

    function _entry(History storage h, uint256 index) private view returns (uint256) {
        uint256 word = h.slots[index >> 1];
        return index & 1 == 0 ? word & LOW_HALF : word >> 128;
    }
}
