// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

/// @notice What a creator token reads from its market.
interface ICreatorSupply {
    /// @notice Tokens of the creator token `token` in circulation.
    function tokenSupply(address token) external view returns (uint256);
}

/// @title CreatorToken: the ERC-20 of one account, minted and burned only by its bonding-curve market
/// @notice 18 decimals. Transfers, approvals and allowances behave as OpenZeppelin's ERC-20
/// (same events and custom errors; an allowance of `type(uint256).max` is never spent).
/// @dev Deployed once as the implementation by {CreatorMarket}; every creator's token is a plain
/// 45-byte EIP-1167 clone of it, salted with the creator's address, so a clone needs no
/// initializer and no storage write at creation. Nothing here names the creator: carrying it as an
/// immutable argument would lengthen every clone by 20 bytes (4,000 gas of code deposit on each
/// first buy); {CreatorMarket.tokenOf} and the market's `CreatorTokenCreated` event link the two.
/// The total supply is not stored here either: the market keeps it in the token's curve slot,
/// which saves a storage write (20,000 gas from zero) on every first buy.
contract CreatorToken is IERC20Metadata, IERC20Errors {
    /// @notice The market that created this token: the only account that mints and burns.
    address public immutable market;

    /// @inheritdoc IERC20
    mapping(address account => uint256) public balanceOf;
    /// @inheritdoc IERC20
    mapping(address owner => mapping(address spender => uint256)) public allowance;

    /// @notice Only the market mints and burns.
    error CreatorTokenUnauthorized(address caller);

    /// @dev Runs once, for the implementation: `market` is an immutable of the shared code.
    constructor() {
        market = msg.sender;
    }

    /// @notice "Fleek Creator Token" (the same for every creator: see the contract's notes).
    function name() external pure returns (string memory) {
        return "Fleek Creator Token";
    }

    /// @notice "FCT".
    function symbol() external pure returns (string memory) {
        return "FCT";
    }

    /// @notice 18, as FLK.
    function decimals() external pure returns (uint8) {
        return 18;
    }

    /// @notice Tokens in circulation, as the market accounts them.
    function totalSupply() external view returns (uint256) {
        return ICreatorSupply(market).tokenSupply(address(this));
    }

    /// @notice Moves `value` from the caller to `to`.
    /// @param to recipient (not the zero address)
    /// @param value wei of this token
    function transfer(address to, uint256 value) external returns (bool) {
        _transfer(msg.sender, to, value);
        return true;
    }

    /// @notice Moves `value` from `from` to `to`, spending the caller's allowance.
    /// @param from owner of the tokens
    /// @param to recipient (not the zero address)
    /// @param value wei of this token
    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            if (allowed < value) revert ERC20InsufficientAllowance(msg.sender, allowed, value);
            unchecked {
                allowance[from][msg.sender] = allowed - value;
            }
        }
        _transfer(from, to, value);
        return true;
    }

    /// @notice Lets `spender` move up to `value` of the caller's tokens.
    /// @param spender not the zero address
    /// @param value allowance; `type(uint256).max` is never spent
    function approve(address spender, uint256 value) external returns (bool) {
        if (spender == address(0)) revert ERC20InvalidSpender(address(0));
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    /// @notice Mints `value` to `to` (the market, on a buy).
    /// @param to buyer
    /// @param value wei of this token
    function mint(address to, uint256 value) external {
        if (msg.sender != market) revert CreatorTokenUnauthorized(msg.sender);
        // The market caps the supply far below 2^256, and every balance is part of the supply.
        unchecked {
            balanceOf[to] += value;
        }
        emit Transfer(address(0), to, value);
    }

    /// @notice Burns `value` from `from` (the market, on a sell by `from`).
    /// @param from seller
    /// @param value wei of this token
    function burn(address from, uint256 value) external {
        if (msg.sender != market) revert CreatorTokenUnauthorized(msg.sender);
        uint256 balance = balanceOf[from];
        if (balance < value) revert ERC20InsufficientBalance(from, balance, value);
        unchecked {
            balanceOf[from] = balance - value;
        }
        emit Transfer(from, address(0), value);
    }

    function _transfer(address from, address to, uint256 value) private {
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        uint256 balance = balanceOf[from];
        if (balance < value) revert ERC20InsufficientBalance(from, balance, value);
        unchecked {
            balanceOf[from] = balance - value;
            balanceOf[to] += value;
        }
        emit Transfer(from, to, value);
    }
}
