// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// Compiles OpenZeppelin's TimelockController into an artifact the Ignition modules can deploy.
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
