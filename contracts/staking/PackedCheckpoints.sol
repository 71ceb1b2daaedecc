// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice The head of a history, one word: its last entry's value (96 bits), the last entry's key
/// (32 bits, from bit 96), the number of entries (32 bits, from bit 128), and 96 bits (from bit
/// 160) its owner uses for an amount of its own. The owner keeps it in a slot it writes anyway.
type Head is uint256;

using PackedCheckpoints for Head global;

/// @title PackedCheckpoints: a list of (timestamp, amount) pairs, two per storage slot, whose last
/// entry the caller keeps
/// @notice Entry `i` lives in slot `i / 2`: even entries in the low 128 bits, odd ones in the high
/// 128 bits, each as `uint32 key << 96 | uint96 value`. The caller keeps the length and the last
/// entry (its key and value) in a slot it writes anyway (a {Head} for histories looked up by
/// time, its own fields for unbonding queues), and the list stores complete pairs only:
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
    uint256 private constant EXTRA_SHIFT = 160;

    /// @notice Records `value` at `key` in the history whose head is `head`: replaces the last entry
    /// when it has the same key, else appends. Returns the new head (with the same extra amount).
    function record(History storage h, Head head, uint32 key, uint96 value) internal returns (Head) {
        uint256 word = Head.unwrap(head);
        uint32 previousKey = uint32(word >> 96);
        uint256 length = uint32(word >> 128);
        if (length != 0 && previousKey == key) {
            replaceLast(h, length - 1, key, value);
        } else {
            append(h, length, previousKey, uint96(word), key, value);
            ++length;
        }
        return Head.wrap(((word >> EXTRA_SHIFT) << EXTRA_SHIFT) | (length << 128) | (uint256(key) << 96) | value);
    }

    /// @notice The value at time `key` of the history whose head is `head`, for a `key` before the
    /// head's last key (later times are answered by {latest}); zero before the first entry.
    function lookupBefore(History storage h, Head head, uint256 key) internal view returns (uint256) {
        return upperLookup(h, uint32(Head.unwrap(head) >> 128) - 1, key);
    }

    /// @notice The key of the last entry (zero for an empty history).
    function lastKey(Head head) internal pure returns (uint32) {
        return uint32(Head.unwrap(head) >> 96);
    }

    /// @notice The value of the last entry (the current value).
    function latest(Head head) internal pure returns (uint96) {
        return uint96(Head.unwrap(head));
    }

    /// @notice The owner's own amount kept in the head.
    function extra(Head head) internal pure returns (uint96) {
        return uint96(Head.unwrap(head) >> EXTRA_SHIFT);
    }

    /// @notice `head` with the owner's own amount set to `amount`.
    function withExtra(Head head, uint96 amount) internal pure returns (Head) {
        uint256 word = Head.unwrap(head);
        return Head.wrap((word & ((1 << EXTRA_SHIFT) - 1)) | (uint256(amount) << EXTRA_SHIFT));
    }

    /// @notice Appends entry `index` (the current length) after the last entry (`previousKey`, `previousValue`).
    function append(History storage h, uint256 index, uint32 previousKey, uint96 previousValue, uint32 key, uint96 value) internal {
        if (index & 1 == 1) h.slots[index >> 1] = _pack(previousKey, previousValue) | (_pack(key, value) << 128);
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
