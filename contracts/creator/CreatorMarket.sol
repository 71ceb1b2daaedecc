// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {CreatorToken, ICreatorSupply} from "./CreatorToken.sol";

/// @title CreatorMarket: every account's creator token, on one linear bonding curve priced in FLK
/// @notice Anyone buys or sells the creator token of any account. The token is created on its
/// first buy as a clone at an address known in advance ({tokenOf}). The price of one whole token
/// is `START_PRICE + SLOPE × supply / 1e18` FLK wei; the FLK paid for tokens stays here as the
/// curve's reserve, which always equals {reserveAt}(supply): the exact integral of the price from
/// zero to the supply, rounded up. Buying `n` costs `reserveAt(s + n) − reserveAt(s)` and selling
/// `n` returns `reserveAt(s) − reserveAt(s − n)`, so the reserve always covers selling the whole
/// supply back and a round trip returns exactly what the curve took. Fees on top (buys) or taken
/// from the proceeds (sells), each a share of the curve amount in basis points: the creator's
/// share accrues to the creator (claimed, never pushed), the burn share is burned at once and the
/// treasury share accrues until anyone sends it to the treasury. The owner (the timelock) sets
/// the fee shares within hard caps and the treasury.
/// @dev Curve state (supply and the creator's unclaimed fees) lives here in one storage slot per
/// token, not in the token, so a trade writes one slot of curve state and the creation of a
/// token costs only the clone. Slots are keyed by the token's address (which the token knows, for
/// {tokenSupply}); a creator's token address is computed, never stored.
contract CreatorMarket is ICreatorSupply, Ownable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Price of one whole token at zero supply: 0.01 FLK.
    uint256 public constant START_PRICE = 0.01 ether;
    /// @notice Price increase per whole token of supply: 0.001 FLK per token.
    uint256 public constant SLOPE = 0.001 ether;
    /// @notice Supply cap per creator, 10^12 tokens: buying it would take ~5×10^20 FLK (far more
    /// than will ever exist), so it only bounds the arithmetic of {reserveAt}.
    uint256 public constant MAX_SUPPLY = 1e30;
    /// @notice Cap on each fee share: 5%.
    uint16 public constant MAX_FEE_SHARE_BPS = 500;
    /// @notice Cap on the three shares together: 10% per trade.
    uint16 public constant MAX_TOTAL_FEE_BPS = 1000;

    /// @notice The base currency, burned by the burn share.
    ERC20Burnable public immutable flk;
    /// @notice The code every creator token clones.
    address public immutable tokenImplementation;

    /// @dev One slot per token.
    struct Curve {
        // Tokens in circulation (wei), at most MAX_SUPPLY.
        uint128 supply;
        // The creator's unclaimed fees (FLK wei): at most the FLK held here, so below 2^120.
        uint120 creatorFees;
        // Whether the token clone exists.
        bool created;
    }

    /// @dev One slot for everything every trade reads or writes besides the creator's curve.
    struct Global {
        uint16 creatorFeeBps;
        uint16 burnFeeBps;
        uint16 treasuryFeeBps;
        // Number of creator tokens created.
        uint32 tokenCount;
        // Treasury fees not yet sent (FLK wei, at most the FLK held here).
        uint168 treasuryFees;
    }

    /// @dev The fee shares of one trade, in FLK wei.
    struct Fees {
        uint256 creator;
        uint256 burn;
        uint256 treasury;
    }

    mapping(address token => Curve) private _curves;
    Global private _global;
    /// @notice Receives the treasury share of fees.
    address public treasury;

    /// @notice The creator token of `creator` was created (on its first buy), as the `index`-th.
    event CreatorTokenCreated(address indexed creator, address indexed token, uint256 index);
    /// @notice `trader` bought `amount` tokens of `creator`: `cost` FLK went into the reserve and
    /// the fees were paid on top; the supply is now `newSupply`.
    event Buy(
        address indexed creator,
        address indexed trader,
        uint256 amount,
        uint256 cost,
        uint256 creatorFee,
        uint256 burnFee,
        uint256 treasuryFee,
        uint256 newSupply
    );
    /// @notice `trader` sold `amount` tokens of `creator`: the reserve paid out `value` FLK, the
    /// fees were deducted from it; the supply is now `newSupply`.
    event Sell(
        address indexed creator,
        address indexed trader,
        uint256 amount,
        uint256 value,
        uint256 creatorFee,
        uint256 burnFee,
        uint256 treasuryFee,
        uint256 newSupply
    );
    /// @notice `creator` claimed `amount` FLK of fees.
    event CreatorFeesClaimed(address indexed creator, uint256 amount);
    /// @notice The treasury share accrued so far, `amount`, was sent to `treasury`.
    event TreasuryFeesWithdrawn(address indexed treasury, uint256 amount);
    /// @notice The owner set the fee shares (basis points of the curve amount).
    event FeesSet(uint16 creatorFeeBps, uint16 burnFeeBps, uint16 treasuryFeeBps);
    /// @notice The owner set the treasury.
    event TreasurySet(address treasury);

    /// @notice The deadline of a trade has passed.
    error CreatorMarketExpired(uint256 deadline);
    /// @notice A trade of zero tokens.
    error CreatorMarketZeroAmount();
    /// @notice A trade too small to carry its fees: its curve amount is zero, or (a sell) below the fees.
    error CreatorMarketDustTrade(uint256 curveAmount);
    /// @notice A buy would take the supply past {MAX_SUPPLY}.
    error CreatorMarketSupplyCap(uint256 amount, uint256 room);
    /// @notice A sell of more than the supply.
    error CreatorMarketExceedsSupply(uint256 amount, uint256 supply);
    /// @notice A buy would cost more than the buyer's maximum.
    error CreatorMarketMaxCost(uint256 cost, uint256 maxCost);
    /// @notice A sell would return less than the seller's minimum.
    error CreatorMarketMinReturn(uint256 proceeds, uint256 minReturn);
    /// @notice Nothing to claim or withdraw.
    error CreatorMarketNothingToClaim();
    /// @notice A fee share above {MAX_FEE_SHARE_BPS} or shares summing above {MAX_TOTAL_FEE_BPS}.
    error CreatorMarketFeeTooHigh();
    /// @notice The treasury or a creator may not be the zero address.
    error CreatorMarketZeroAddress();

    /// @param flk_ the FLK token
    /// @param owner_ sets fees and the treasury (the timelock)
    /// @param treasury_ receives the treasury share
    /// @param creatorFeeBps creator share, basis points of the curve amount
    /// @param burnFeeBps burned share
    /// @param treasuryFeeBps treasury share
    constructor(
        ERC20Burnable flk_,
        address owner_,
        address treasury_,
        uint16 creatorFeeBps,
        uint16 burnFeeBps,
        uint16 treasuryFeeBps
    ) Ownable(owner_) {
        flk = flk_;
        tokenImplementation = address(new CreatorToken());
        _setTreasury(treasury_);
        _setFees(creatorFeeBps, burnFeeBps, treasuryFeeBps);
    }

    // ---------------------------------------------------------------- trading

    /// @notice Buys `amount` tokens of `creator` for the caller, paying the curve cost plus fees in
    /// FLK (approve this contract first). Creates the token if this is its first buy.
    /// @param creator whose token to buy
    /// @param amount wei of the creator token
    /// @param maxCost most FLK (curve cost plus fees) the caller will pay
    /// @param deadline last timestamp at which the trade may execute
    /// @return total FLK paid
    function buy(address creator, uint256 amount, uint256 maxCost, uint256 deadline)
        external
        nonReentrant
        returns (uint256 total)
    {
        if (block.timestamp > deadline) revert CreatorMarketExpired(deadline);
        if (amount == 0) revert CreatorMarketZeroAmount();
        // The zero address could never claim its fees.
        if (creator == address(0)) revert CreatorMarketZeroAddress();
        address token = tokenOf(creator);
        Curve memory curve = _curves[token];
        uint256 supply = curve.supply;
        if (amount > MAX_SUPPLY - supply) revert CreatorMarketSupplyCap(amount, MAX_SUPPLY - supply);
        uint256 newSupply = supply + amount;
        uint256 cost = reserveAt(newSupply) - reserveAt(supply);
        if (cost == 0) revert CreatorMarketDustTrade(cost);
        Global memory g = _global;
        Fees memory fees = _fees(cost, g);
        total = cost + fees.creator + fees.burn + fees.treasury;
        if (total > maxCost) revert CreatorMarketMaxCost(total, maxCost);

        if (!curve.created) {
            Clones.cloneDeterministic(tokenImplementation, _salt(creator));
            emit CreatorTokenCreated(creator, token, g.tokenCount);
            ++g.tokenCount;
        }
        _record(token, curve, newSupply, g, fees);

        IERC20(address(flk)).safeTransferFrom(msg.sender, address(this), total);
        if (fees.burn != 0) flk.burn(fees.burn);
        CreatorToken(token).mint(msg.sender, amount);
        emit Buy(creator, msg.sender, amount, cost, fees.creator, fees.burn, fees.treasury, newSupply);
    }

    /// @notice Sells `amount` of the caller's tokens of `creator` back to the curve for FLK, fees
    /// deducted from the proceeds.
    /// @param creator whose token to sell
    /// @param amount wei of the creator token
    /// @param minReturn least FLK (after fees) the caller will accept
    /// @param deadline last timestamp at which the trade may execute
    /// @return proceeds FLK paid to the caller
    function sell(address creator, uint256 amount, uint256 minReturn, uint256 deadline)
        external
        nonReentrant
        returns (uint256 proceeds)
    {
        if (block.timestamp > deadline) revert CreatorMarketExpired(deadline);
        if (amount == 0) revert CreatorMarketZeroAmount();
        address token = tokenOf(creator);
        Curve memory curve = _curves[token];
        uint256 supply = curve.supply;
        if (amount > supply) revert CreatorMarketExceedsSupply(amount, supply);
        uint256 newSupply = supply - amount;
        uint256 value = reserveAt(supply) - reserveAt(newSupply);
        Global memory g = _global;
        Fees memory fees = _fees(value, g);
        // Fees round up: on a dust sell they could exceed the value, which is refused.
        uint256 feeTotal = fees.creator + fees.burn + fees.treasury;
        if (value == 0 || feeTotal > value) revert CreatorMarketDustTrade(value);
        proceeds = value - feeTotal;
        if (proceeds < minReturn) revert CreatorMarketMinReturn(proceeds, minReturn);
        _record(token, curve, newSupply, g, fees);

        // Reverts unless the caller holds `amount` (a positive supply means the token exists).
        CreatorToken(token).burn(msg.sender, amount);
        if (fees.burn != 0) flk.burn(fees.burn);
        IERC20(address(flk)).safeTransfer(msg.sender, proceeds);
        emit Sell(creator, msg.sender, amount, value, fees.creator, fees.burn, fees.treasury, newSupply);
    }

    // ---------------------------------------------------------------- fees

    /// @notice Sends the caller's accrued creator fees to the caller.
    /// @return amount FLK claimed
    function claimCreatorFees() external nonReentrant returns (uint256 amount) {
        Curve storage curve = _curves[tokenOf(msg.sender)];
        amount = curve.creatorFees;
        if (amount == 0) revert CreatorMarketNothingToClaim();
        curve.creatorFees = 0;
        IERC20(address(flk)).safeTransfer(msg.sender, amount);
        emit CreatorFeesClaimed(msg.sender, amount);
    }

    /// @notice Sends the accrued treasury share to {treasury}. Anyone may call it.
    /// @return amount FLK sent
    function withdrawTreasuryFees() external nonReentrant returns (uint256 amount) {
        amount = _global.treasuryFees;
        if (amount == 0) revert CreatorMarketNothingToClaim();
        _global.treasuryFees = 0;
        address to = treasury;
        IERC20(address(flk)).safeTransfer(to, amount);
        emit TreasuryFeesWithdrawn(to, amount);
    }

    /// @notice Sets the three fee shares, in basis points of the curve amount of each trade.
    /// @param creatorFeeBps at most {MAX_FEE_SHARE_BPS}
    /// @param burnFeeBps at most {MAX_FEE_SHARE_BPS}
    /// @param treasuryFeeBps at most {MAX_FEE_SHARE_BPS}; the three at most {MAX_TOTAL_FEE_BPS}
    function setFees(uint16 creatorFeeBps, uint16 burnFeeBps, uint16 treasuryFeeBps) external onlyOwner {
        _setFees(creatorFeeBps, burnFeeBps, treasuryFeeBps);
    }

    /// @notice Sets the account that receives the treasury share.
    /// @param treasury_ not the zero address
    function setTreasury(address treasury_) external onlyOwner {
        _setTreasury(treasury_);
    }

    // ---------------------------------------------------------------- views

    /// @notice FLK the reserve holds for a supply of `supply`: the integral of the price from 0 to
    /// `supply`, `(START_PRICE × s + SLOPE × s² / 2e18) / 1e18`, rounded up.
    /// @param supply wei of a creator token, at most {MAX_SUPPLY}
    function reserveAt(uint256 supply) public pure returns (uint256) {
        // Below MAX_SUPPLY the product stays under 2^256: 1e30 × (2e34 + 1e45) < 1.2e75.
        uint256 numerator = supply * (2e18 * START_PRICE + SLOPE * supply);
        return (numerator + 2e36 - 1) / 2e36;
    }

    /// @notice The marginal price of one whole token of `creator` at its current supply (FLK wei).
    /// @param creator the token's account
    function spotPrice(address creator) external view returns (uint256) {
        return START_PRICE + (SLOPE * _curves[tokenOf(creator)].supply) / 1e18;
    }

    /// @notice What {buy} of `amount` tokens of `creator` would cost now, fees included.
    /// @param creator the token's account
    /// @param amount wei of the creator token
    /// @return total FLK to pay (compare with `maxCost`)
    /// @return curveCost the part that goes into the reserve
    function buyCost(address creator, uint256 amount) external view returns (uint256 total, uint256 curveCost) {
        uint256 supply = _curves[tokenOf(creator)].supply;
        if (amount > MAX_SUPPLY - supply) revert CreatorMarketSupplyCap(amount, MAX_SUPPLY - supply);
        curveCost = reserveAt(supply + amount) - reserveAt(supply);
        Fees memory fees = _fees(curveCost, _global);
        total = curveCost + fees.creator + fees.burn + fees.treasury;
    }

    /// @notice What {sell} of `amount` tokens of `creator` would return now, fees deducted.
    /// @param creator the token's account
    /// @param amount wei of the creator token
    /// @return proceeds FLK paid to the seller (compare with `minReturn`)
    /// @return curveValue what the reserve pays out before fees
    function sellReturn(address creator, uint256 amount) external view returns (uint256 proceeds, uint256 curveValue) {
        uint256 supply = _curves[tokenOf(creator)].supply;
        if (amount > supply) revert CreatorMarketExceedsSupply(amount, supply);
        curveValue = reserveAt(supply) - reserveAt(supply - amount);
        Fees memory fees = _fees(curveValue, _global);
        uint256 feeTotal = fees.creator + fees.burn + fees.treasury;
        // A dust sell, which {sell} refuses, returns nothing.
        proceeds = feeTotal < curveValue ? curveValue - feeTotal : 0;
    }

    /// @notice Tokens of `creator` in circulation.
    /// @param creator the token's account
    function supplyOf(address creator) external view returns (uint256) {
        return _curves[tokenOf(creator)].supply;
    }

    /// @inheritdoc ICreatorSupply
    function tokenSupply(address token) external view returns (uint256) {
        return _curves[token].supply;
    }

    /// @notice FLK held in the reserve of `creator`'s curve.
    /// @param creator the token's account
    function reserveOf(address creator) external view returns (uint256) {
        return reserveAt(_curves[tokenOf(creator)].supply);
    }

    /// @notice Fees accrued to `creator` and not yet claimed.
    /// @param creator the token's account
    function creatorFeesOf(address creator) external view returns (uint256) {
        return _curves[tokenOf(creator)].creatorFees;
    }

    /// @notice Whether `creator`'s token has been created.
    /// @param creator the token's account
    function tokenExists(address creator) external view returns (bool) {
        return _curves[tokenOf(creator)].created;
    }

    /// @notice The address of `creator`'s token, whether or not it exists yet.
    /// @param creator the token's account
    function tokenOf(address creator) public view returns (address) {
        return Clones.predictDeterministicAddress(tokenImplementation, _salt(creator));
    }

    /// @notice The current fee shares in basis points, the number of tokens created and the
    /// treasury fees accrued.
    function globalState()
        external
        view
        returns (uint16 creatorFeeBps, uint16 burnFeeBps, uint16 treasuryFeeBps, uint256 tokenCount, uint256 treasuryFees)
    {
        Global memory g = _global;
        return (g.creatorFeeBps, g.burnFeeBps, g.treasuryFeeBps, g.tokenCount, g.treasuryFees);
    }

    // ---------------------------------------------------------------- internal

    /// @dev The three fee shares of a curve amount, each rounded down (see {sell}).
    function _fees(uint256 value, Global memory g) private pure returns (Fees memory) {
        return Fees(_feeShare(value, g.creatorFeeBps), _feeShare(value, g.burnFeeBps), _feeShare(value, g.treasuryFeeBps));
    }

    /// @dev One fee share, rounded up: a dust trade pays at least 1 wei of every share that is set
    /// (rounded down, trades below 10,000 / bps wei paid none).
    /// Curve amounts are at most reserveAt(MAX_SUPPLY) < 6e38 and bps ≤ 10^4: the product cannot
    /// overflow, so no mulDiv and no overflow checks (the buy stays within its gas anchor).
    function _feeShare(uint256 value, uint256 bps) private pure returns (uint256) {
        unchecked {
            return (value * bps + 9_999) / 10_000;
        }
    }

    /// @dev The CREATE2 salt of `creator`'s token.
    function _salt(address creator) private pure returns (bytes32) {
        return bytes32(uint256(uint160(creator)));
    }

    /// @dev Writes a trade's new supply and accrued fees: one slot for the curve, one global.
    function _record(address token, Curve memory curve, uint256 newSupply, Global memory g, Fees memory fees) private {
        // Unclaimed fees are bounded by the FLK this contract holds, far below the field sizes.
        _curves[token] = Curve(SafeCast.toUint128(newSupply), SafeCast.toUint120(curve.creatorFees + fees.creator), true);
        g.treasuryFees = SafeCast.toUint168(g.treasuryFees + fees.treasury);
        _global = g;
    }

    function _setFees(uint16 creatorFeeBps, uint16 burnFeeBps, uint16 treasuryFeeBps) private {
        if (
            creatorFeeBps > MAX_FEE_SHARE_BPS || burnFeeBps > MAX_FEE_SHARE_BPS || treasuryFeeBps > MAX_FEE_SHARE_BPS
                || uint256(creatorFeeBps) + burnFeeBps + treasuryFeeBps > MAX_TOTAL_FEE_BPS
        ) revert CreatorMarketFeeTooHigh();
        Global memory g = _global;
        (g.creatorFeeBps, g.burnFeeBps, g.treasuryFeeBps) = (creatorFeeBps, burnFeeBps, treasuryFeeBps);
        _global = g;
        emit FeesSet(creatorFeeBps, burnFeeBps, treasuryFeeBps);
    }

    function _setTreasury(address treasury_) private {
        if (treasury_ == address(0)) revert CreatorMarketZeroAddress();
        treasury = treasury_;
        emit TreasurySet(treasury_);
    }
}
