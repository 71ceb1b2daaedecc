// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title MockUSDC: a 6-decimal stand-in for USDC on local chains (tests and devnet only)
/// @notice Anyone may mint. Never deployed to Base or Base Sepolia, which use the real USDC (SPEC §9).
contract MockUSDC is ERC20 {
    constructor() ERC20("USD Coin (mock)", "USDC") {}

    /// @notice USDC has 6 decimals.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` to `to`; open to anyone (test token).
    /// @param to recipient
    /// @param amount units of 10^-6 USDC
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
