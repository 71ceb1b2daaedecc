// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title BenchTransfers: many real FLK transfers per transaction, to seed the indexer bench
/// @notice Test-only. Holds FLK and sends 1 wei to `recipients` rotating addresses per call, so a
/// local chain gets hundreds of thousands of Transfer events in a few hundred transactions.
contract BenchTransfers {
    /// @notice Sends 1 wei of `token` `count` times, to addresses 0x10000 + (offset + i) % recipients.
    function spray(IERC20 token, uint256 count, uint256 offset, uint256 recipients) external {
        for (uint256 i = 0; i < count; ++i) {
            token.transfer(address(uint160(0x10000 + ((offset + i) % recipients))), 1);
        }
    }
}
