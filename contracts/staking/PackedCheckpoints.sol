// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title PackedCheckpoints: a list of (timestamp, amount) pairs, two per storage slot, whose last
/// entry the caller keeps
/// @notice Entry `i` lives in slot `i / 2`: even entries in the low 128 bits, odd ones in the high
/// 128 bits, each as `uint32 key << 96 | uint96 value`. The caller keeps the length and the last
/// entry (its key and value) in a slot it writes anyway, and the list stores complete pairs only:
/// appending an odd entry writes its slot once, together with the even entry before it (taken from
/// the caller's copy); appending an even entry writes nothing, the caller's copy is all there is.
/// So an append costs one fresh slot every other time and nothing in between, never a read and a
/// rewrite of a half-full slot. Used for vote and total-stake histories (ascending keys, looked up
/// by time) and for unbonding queues (keys are release times).
/// @dev Every entry but the last is exact in storage. The last one is stored only when its index
/// is odd, and {replaceLast} keeps that stored copy exact, because it becomes an ordinary entry
/// when the next one (even, not stored) is appended. 96-bit values hold any FLK amount (116.5M FLK
/// < 2^87 wei); 32-bit keys hold unix seconds until 2106.
library PackedCheckpoints {
    /// @notice Storage of one history.
    struct History {
        mapping(uint256 slot => uint256 word) slots;
    }

    uint256 private constant LOW_HALF = type(uint128).max;

    /// @notice Records `value` at `key`: replaces the last entry when it has the same key, else appends.
    /// @param length number of entries before the call
    /// @param lastKey key of the last entry (ignored when `length` is zero)
    /// @param lastValue value of the last entry (ignored when `length` is zero)
    /// @return newLength number of entries after the call
    function push(History storage h, uint256 length, uint32 lastKey, uint96 lastValue, uint32 key, uint96 value) internal returns (uint256 newLength) {
        if (length != 0 && lastKey == key) {
            replaceLast(h, length - 1, key, value);
            return length;
        }
        append(h, length, lastKey, lastValue, key, value);
        return length + 1;
    }

    /// @notice Appends entry `index` (the current length) after the last entry (`lastKey`, `lastValue`).
    function append(History storage h, uint256 index, uint32 lastKey, uint96 lastValue, uint32 key, uint96 value) internal {
        if (index & 1 == 1) h.slots[index >> 1] = _pack(lastKey, lastValue) | (_pack(key, value) << 128);
    }

    /// @notice Replaces the last entry, `index`, with (`key`, `value`).
    function replaceLast(History storage h, uint256 index, uint32 key, uint96 value) internal {
        if (index & 1 == 0) return; // an even last entry is not stored: the caller's copy is all there is
        uint256 slot = index >> 1;
        h.slots[slot] = (h.slots[slot] & LOW_HALF) | (_pack(key, value) << 128);
    }

    /// @notice The value of the last entry among the first `count` whose key is at most `key`, or
    /// zero if there is none. `count` must not include the caller's last entry.
    function upperLookup(History storage h, uint256 count, uint256 key) internal view returns (uint256) {
        uint256 low = 0;
        uint256 high = count;
        while (low < high) {
            uint256 mid = (low + high) >> 1;
            if (_entry(h, mid) >> 96 > key) high = mid;
            else low = mid + 1;
        }
        return high == 0 ? 0 : uint96(_entry(h, high - 1));
    }

    /// @notice The stored entry at `index` (not the caller's last entry) as (key, value).
    function at(History storage h, uint256 index) internal view returns (uint32 key, uint96 value) {
        uint256 entry = _entry(h, index);
        return (uint32(entry >> 96), uint96(entry));
    }

    function _pack(uint32 key, uint96 value) private pure returns (uint256) {
        return (uint256(key) << 96) | value;
    }

    function _entry(History storage h, uint256 index) private view returns (uint256) {
        uint256 word = h.slots[index >> 1];
        return index & 1 == 0 ? word & LOW_HALF : word >> 128;
    }
}
