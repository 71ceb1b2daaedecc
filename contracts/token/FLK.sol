// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title FLK, the Fleek Network token
/// @notice ERC-20 with EIP-2612 permit, burnable by holders. The genesis supply is minted once at
/// construction; afterwards only the emission contract (the deployer of this token) may mint, and
/// never past {MAX_MINTED}. Burns reduce supply for good: they never free room under the cap.
/// @dev No vote tracking here: voting power is staked FLK, so transfers cost what a plain ERC-20 costs.
contract FLK is ERC20, ERC20Burnable, ERC20Permit {
    /// @notice Supply minted at the token generation event: 100,000,000 FLK.
    uint256 public constant GENESIS_SUPPLY = 100_000_000 ether;
    /// @notice Hard cap on everything ever minted (genesis plus 16,500,000 FLK of emission).
    uint256 public constant MAX_MINTED = 116_500_000 ether;

    /// @notice The only account allowed to mint after genesis: the emission contract.
    address public immutable minter;
    /// @notice Everything ever minted, burns not subtracted.
    uint256 public totalMinted;

    /// @notice The caller is not the emission contract.
    error FLKUnauthorizedMinter(address caller);
    /// @notice Minting `amount` would take the total ever minted past {MAX_MINTED}.
    error FLKCapExceeded(uint256 amount, uint256 room);

    /// @param genesisHolder receives the whole genesis supply (the deployment moves it into vesting).
    constructor(address genesisHolder) ERC20("Fleek", "FLK") ERC20Permit("Fleek") {
        minter = msg.sender;
        totalMinted = GENESIS_SUPPLY;
        _mint(genesisHolder, GENESIS_SUPPLY);
    }

    /// @notice Mints emission. Only the emission contract may call it.
    /// @param to recipient of the new tokens
    /// @param amount wei of FLK to mint
    function mint(address to, uint256 amount) external {
        if (msg.sender != minter) revert FLKUnauthorizedMinter(msg.sender);
        uint256 minted = totalMinted;
        if (amount > MAX_MINTED - minted) revert FLKCapExceeded(amount, MAX_MINTED - minted);
        totalMinted = minted + amount;
        _mint(to, amount);
    }
}
