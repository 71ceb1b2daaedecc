// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {NodeStaking} from "./NodeStaking.sol";

/// @title Selection: the committee draw and the active set of the epoch change
/// @notice A linked library (public functions run by DELEGATECALL from NodeRegistry): its code
/// lives in its own deployment, which keeps NodeRegistry under the contract size limit. `draw`
/// and `sortDesc` are pure, so anyone can call the deployed library to check a committee.
/// @dev `draw` is mirrored bit for bit by `protocol/committee.ts`.
library Selection {
    /// @notice Same event as NodeStaking's: emitted from the registry's address (DELEGATECALL).
    event NodeStatusChanged(uint32 indexed nodeId, NodeStaking.Status status, uint64 epoch);

    /// @notice The active set of epoch `next` (NodeRegistry's epoch change; runs on its storage).
    /// Candidates: the active nodes still active, then the queued nodes, each with at least the
    /// minimum stake (the others exit). If more than {NodeStaking.MAX_ACTIVE}, the members of the
    /// next committee (marked in `nextCommittee`) stay first, so a newcomer cannot push a drawn
    /// member out, then the top by stake (ties: the earlier candidate), in that order; the rest exit.
    /// @return selected the active set
    /// @return weights each one's draw weight for the committee after next: whole FLK staked, at least 1
    function selectActiveSet(
        mapping(uint32 => NodeStaking.Node) storage nodes,
        uint32[] storage activeSet,
        uint32[] storage pending,
        mapping(uint256 => uint256) storage nextCommittee,
        uint64 next,
        uint256 minStake
    ) public returns (uint32[] memory selected, uint32[] memory weights) {
        uint256 maxActive = 100; // NodeStaking.MAX_ACTIVE (a contract constant a library cannot read)
        uint256 nActive = activeSet.length;
        uint256 total = nActive + pending.length;
        selected = new uint32[](total);
        uint256[] memory keys = new uint256[](total);
        uint256 count;
        for (uint256 i = 0; i < total; ++i) {
            (uint32 id, NodeStaking.Status expected) =
                i < nActive ? (activeSet[i], NodeStaking.Status.Active) : (pending[i - nActive], NodeStaking.Status.Pending);
            NodeStaking.Node storage n = nodes[id];
            if (n.status != expected) continue;
            uint256 stake = n.stake;
            if (stake < minStake) {
                _setStatus(n, id, NodeStaking.Status.Exited, next);
                continue;
            }
            selected[count] = id;
            // Sort key, descending: next committee first, then stake (< 2^88), then the earlier candidate.
            bool member = (nextCommittee[id >> 8] >> (id & 255)) & 1 == 1;
            keys[count] = (member ? uint256(1) << 255 : 0) | (stake << 32) | (type(uint32).max - count);
            ++count;
        }
        assembly ("memory-safe") {
            mstore(selected, count)
            mstore(keys, count)
        }
        if (count > maxActive) {
            keys = sortDesc(keys);
            uint32[] memory candidates = selected;
            selected = new uint32[](maxActive);
            for (uint256 i = 0; i < count; ++i) {
                // The low 32 bits hold the inverted candidate index (a deliberate truncation).
                uint32 id = candidates[type(uint32).max - uint32(keys[i])];
                if (i < maxActive) selected[i] = id;
                else _setStatus(nodes[id], id, NodeStaking.Status.Exited, next);
            }
        }
        weights = new uint32[](selected.length);
        for (uint256 i = 0; i < selected.length; ++i) {
            NodeStaking.Node storage n = nodes[selected[i]];
            uint256 w = n.stake / 1 ether;
            weights[i] = w == 0 ? 1 : SafeCast.toUint32(w);
            if (n.status == NodeStaking.Status.Pending) _setStatus(n, selected[i], NodeStaking.Status.Active, next);
        }
    }

    function _setStatus(NodeStaking.Node storage n, uint32 id, NodeStaking.Status status, uint64 epoch) private {
        n.status = status;
        emit NodeStatusChanged(id, status, epoch);
    }

    /// @notice Weighted sampling without replacement: draw `k` (0 ≤ k < size) takes
    /// `r = uint256(keccak256(abi.encode(seed, k))) % remaining weight` and picks the first
    /// candidate, in `ids` order, whose cumulative remaining weight exceeds `r`; the picked
    /// candidate's weight drops to zero. Each draw picks a candidate with probability its weight
    /// over the weight not yet drawn, so seats follow stake, not the number of nodes.
    /// @param ids the candidates (NodeRegistry: the previous epoch's active set, in its event's order)
    /// @param weights their weights, each at least 1 (NodeRegistry: whole FLK staked at that set's selection)
    /// @param size seats to draw (less than `ids.length`)
    /// @param seed the beacon seed of the ending epoch
    /// @return members the drawn ids, in draw order
    function draw(uint32[] memory ids, uint256[] memory weights, uint256 size, bytes32 seed) public pure returns (uint32[] memory members) {
        uint256 total;
        for (uint256 i = 0; i < weights.length; ++i) total += weights[i];
        members = new uint32[](size);
        for (uint256 k = 0; k < size; ++k) {
            uint256 r = uint256(keccak256(abi.encode(seed, k))) % total;
            uint256 i = 0;
            while (r >= weights[i]) r -= weights[i++];
            members[k] = ids[i];
            total -= weights[i];
            weights[i] = 0;
        }
    }

    /// @notice `a` sorted descending, by heapsort: O(n log n) whatever the input, so no choice of
    /// stakes can make the epoch change's ranking quadratic.
    /// @param a the keys
    /// @return a, sorted in place
    function sortDesc(uint256[] memory a) public pure returns (uint256[] memory) {
        uint256 n = a.length;
        // A min-heap; popping the minimum to the back leaves the array in descending order.
        for (uint256 i = n / 2; i > 0; --i) _siftDown(a, i - 1, n);
        for (uint256 end = n; end > 1; --end) {
            (a[0], a[end - 1]) = (a[end - 1], a[0]);
            _siftDown(a, 0, end - 1);
        }
        return a;
    }

    function _siftDown(uint256[] memory a, uint256 i, uint256 n) private pure {
        uint256 v = a[i];
        for (;;) {
            uint256 c = 2 * i + 1;
            if (c >= n) break;
            if (c + 1 < n && a[c + 1] < a[c]) ++c;
            if (a[c] >= v) break;
            a[i] = a[c];
            i = c;
        }
        a[i] = v;
    }
}
