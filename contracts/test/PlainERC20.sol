// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice OpenZeppelin's plain ERC-20, the baseline FLK transfers are measured against (bench/gas).
contract PlainERC20 is ERC20 {
    constructor(address holder, uint256 supply) ERC20("Plain", "PLN") {
        _mint(holder, supply);
    }
}
