// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @title BuybackBurner: USDC revenue sold for FLK in back-to-back Dutch auctions; the FLK is burned
/// @notice USDC sent here (plain transfers, or {deposit} which also emits an event) accumulates as
/// the pot. One auction runs at a time and sells the whole pot at a price per USDC: FLK per 1 USDC
/// falls linearly from the start price to the floor over the period, then stays at the floor, and
/// the pot costs `price × pot / 1e6` FLK (rounded up). The first buyer burns that from its FLK
/// (total supply falls), receives the whole pot, and a new auction starts at once at
/// `max(price paid × multiplier, floor)`. Revenue that arrives while an auction runs and at least
/// doubles the pot (any revenue into an empty pot) restarts the auction's decay from its start
/// price: a lump is never sold at a price that decayed while there was nothing to buy. Buyers name
/// the auction id, a maximum payment and a deadline, so a buy can never fill in a later auction or
/// at a worse price than agreed. No oracle and no keeper: the price finds the market by decaying.
/// @dev After Euler's fee-flow controller (back-to-back Dutch auctions of accumulated revenue),
/// with four changes: the FLK is burned; the price stops at a floor rather than at zero; it is a
/// price per USDC, so lumpy revenue does not change what a unit of it sells for; and new revenue
/// restarts the decay (docs/buyback.md). The owner (the timelock) sets the period, multiplier and
/// floor within hard caps; a new period applies from the next auction or restart, a new floor at once.
contract BuybackBurner is Ownable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Shortest auction period.
    uint256 public constant MIN_PERIOD = 1 hours;
    /// @notice Longest auction period.
    uint256 public constant MAX_PERIOD = 30 days;
    /// @notice Smallest next-start multiplier (1e18 = 1×): 1.1×.
    uint256 public constant MIN_MULTIPLIER = 1.1e18;
    /// @notice Largest next-start multiplier: 3×.
    uint256 public constant MAX_MULTIPLIER = 3e18;
    /// @notice Lowest floor price: 0.000001 FLK per USDC (a zero floor could pin every later start
    /// price at zero).
    uint256 public constant MIN_FLOOR = 1e12;
    /// @notice Highest floor price: 1,000,000 FLK per USDC.
    uint256 public constant MAX_FLOOR = 1_000_000 ether;
    /// @notice USDC units in one USDC: prices are FLK wei per `USDC_UNIT` of the pot.
    uint256 public constant USDC_UNIT = 1e6;

    /// @notice The token paid and burned.
    ERC20Burnable public immutable flk;
    /// @notice The revenue sold.
    IERC20 public immutable usdc;

    /// @dev The running auction, in one slot.
    struct Auction {
        uint64 id;
        uint40 start;
        // Period of this auction, fixed when it starts.
        uint32 period;
        // FLK wei per USDC at `start`.
        uint120 startPrice;
    }

    /// @dev The parameters, in one slot.
    struct Params {
        uint32 period;
        // Next start price = paid × multiplier / 1e18.
        uint64 multiplier;
        // Lowest price of any auction (FLK wei per USDC).
        uint128 floor;
    }

    Auction private _auction;
    Params private _params;
    /// @notice All FLK burned by this contract.
    uint256 public totalBurned;
    /// @notice The pot as of the last sale or restart check: revenue beyond it is new.
    uint256 public accountedPot;

    /// @notice `from` deposited `amount` USDC of revenue through {deposit}.
    event RevenueDeposited(address indexed from, uint256 amount);
    /// @notice Auction `auctionId` sold `usdcAmount` USDC to `buyer` (sent to `recipient`) for
    /// `flkBurned` FLK; auction `auctionId + 1` starts now at `nextStartPrice`.
    event AuctionBought(
        uint256 indexed auctionId,
        address indexed buyer,
        address recipient,
        uint256 usdcAmount,
        uint256 flkBurned,
        uint256 nextStartPrice
    );
    /// @notice Revenue arrived that at least doubled the pot: auction `auctionId` decays again
    /// from `startPrice`, starting now, over `period`.
    event AuctionRestarted(uint256 indexed auctionId, uint256 startPrice, uint256 period, uint256 pot);
    /// @notice The owner set the parameters.
    event ParamsSet(uint256 period, uint256 multiplier, uint256 floor);

    /// @notice The deadline of a buy has passed.
    error BuybackExpired(uint256 deadline);
    /// @notice The buy names an auction that is not the running one.
    error BuybackWrongAuction(uint256 auctionId, uint256 current);
    /// @notice The current price is above the buyer's maximum.
    error BuybackMaxPayment(uint256 price, uint256 maxPayment);
    /// @notice There is no USDC to sell.
    error BuybackEmptyPot();
    /// @notice A parameter outside its hard bounds.
    error BuybackInvalidParams();
    /// @notice A zero recipient or deposit.
    error BuybackZeroInput();

    /// @param flk_ the FLK token
    /// @param usdc_ the USDC token
    /// @param owner_ sets the parameters (the timelock)
    /// @param period seconds for the price to fall from the start price to the floor
    /// @param multiplier next start price per price paid (1e18 = 1×)
    /// @param floor lowest price, FLK wei per USDC
    /// @param firstStartPrice start price of the first auction, FLK wei per USDC (at least `floor`)
    constructor(
        ERC20Burnable flk_,
        IERC20 usdc_,
        address owner_,
        uint256 period,
        uint256 multiplier,
        uint256 floor,
        uint256 firstStartPrice
    ) Ownable(owner_) {
        flk = flk_;
        usdc = usdc_;
        _setParams(period, multiplier, floor);
        if (firstStartPrice < floor) revert BuybackInvalidParams();
        _auction = Auction(0, SafeCast.toUint40(block.timestamp), uint32(period), SafeCast.toUint120(firstStartPrice));
    }

    /// @notice Adds `amount` USDC of revenue to the pot (approve this contract first). Plain USDC
    /// transfers to this contract count as revenue too; this adds an event for indexers and
    /// applies the restart rule at once (see {sync}).
    /// @param amount USDC units (6 decimals)
    function deposit(uint256 amount) external nonReentrant {
        if (amount == 0) revert BuybackZeroInput();
        usdc.safeTransferFrom(msg.sender, address(this), amount);
        emit RevenueDeposited(msg.sender, amount);
        _sync();
    }

    /// @notice Counts revenue that arrived by plain transfer: if it at least doubles the pot, the
    /// running auction's decay restarts now from its start price ({AuctionRestarted}). Every buy
    /// does this first; anyone may call it so the decay starts without waiting for a buyer.
    /// @return restarted whether the auction restarted
    function sync() external nonReentrant returns (bool restarted) {
        return _sync();
    }

    /// @notice Buys the whole USDC pot of auction `auctionId` at the current price, burning that
    /// much of the caller's FLK (approve this contract first), and starts the next auction. If new
    /// revenue restarts the auction first (see {sync}), the call buys nothing and returns zeros:
    /// the restart stands and the caller reads the new price.
    /// @param auctionId the running auction's id (see {auction}); any other reverts
    /// @param maxPayment most FLK the caller will burn
    /// @param deadline last timestamp at which the buy may execute
    /// @param recipient receives the USDC
    /// @return paid FLK burned
    /// @return usdcAmount USDC sent to `recipient` (the whole pot)
    function buy(uint256 auctionId, uint256 maxPayment, uint256 deadline, address recipient)
        external
        nonReentrant
        returns (uint256 paid, uint256 usdcAmount)
    {
        if (block.timestamp > deadline) revert BuybackExpired(deadline);
        if (recipient == address(0)) revert BuybackZeroInput();
        Auction memory a = _auction;
        if (auctionId != a.id) revert BuybackWrongAuction(auctionId, a.id);
        if (_sync()) return (0, 0);
        usdcAmount = accountedPot;
        if (usdcAmount == 0) revert BuybackEmptyPot();
        Params memory p = _params;
        uint256 price = _price(a, p.floor);
        paid = _potPrice(price, usdcAmount);
        if (paid > maxPayment) revert BuybackMaxPayment(paid, maxPayment);

        uint256 next = price * p.multiplier / 1e18;
        if (next < p.floor) next = p.floor;
        _auction = Auction(a.id + 1, SafeCast.toUint40(block.timestamp), p.period, SafeCast.toUint120(next));
        accountedPot = 0;
        totalBurned += paid;

        flk.burnFrom(msg.sender, paid);
        usdc.safeTransfer(recipient, usdcAmount);
        emit AuctionBought(auctionId, msg.sender, recipient, usdcAmount, paid, next);
    }

    /// @notice Sets the parameters. The period applies from the next auction; the floor and the
    /// multiplier at once.
    /// @param period seconds, within [{MIN_PERIOD}, {MAX_PERIOD}]
    /// @param multiplier within [{MIN_MULTIPLIER}, {MAX_MULTIPLIER}]
    /// @param floor FLK wei, within [{MIN_FLOOR}, {MAX_FLOOR}]
    function setParams(uint256 period, uint256 multiplier, uint256 floor) external onlyOwner {
        _setParams(period, multiplier, floor);
    }

    /// @notice The running auction: its id, start time, period and start price.
    function auction() external view returns (uint256 id, uint256 start, uint256 period, uint256 startPrice) {
        Auction memory a = _auction;
        return (a.id, a.start, a.period, a.startPrice);
    }

    /// @notice The parameters for the next auctions.
    function params() external view returns (uint256 period, uint256 multiplier, uint256 floor) {
        Params memory p = _params;
        return (p.period, p.multiplier, p.floor);
    }

    /// @notice FLK per USDC now (the auction's price; a buy pays it for every USDC of the pot).
    function currentPrice() external view returns (uint256) {
        return _price(_auction, _params.floor);
    }

    /// @notice FLK a buy would burn now for the whole pot, if no new revenue restarts the auction.
    function currentPotPrice() external view returns (uint256) {
        return _potPrice(_price(_auction, _params.floor), accountedPot);
    }

    /// @notice USDC for sale (including revenue not yet counted by {sync}).
    function pot() external view returns (uint256) {
        return usdc.balanceOf(address(this));
    }

    /// @dev Linear from the start price down to `floor` over the auction's period, rounded up (the
    /// buyer burns at least the exact price); the floor afterwards, and whenever it is above the
    /// start price (a floor raised mid-auction). protocol/buyback.ts `auctionPrice` is the mirror.
    function _price(Auction memory a, uint256 floor) private view returns (uint256) {
        uint256 elapsed = block.timestamp - a.start;
        if (elapsed >= a.period || a.startPrice <= floor) return floor;
        uint256 span = a.startPrice - floor;
        uint256 remaining = a.period - elapsed;
        return floor + (span * remaining + a.period - 1) / a.period;
    }

    /// @dev `price × pot / USDC_UNIT`, rounded up: a pot of any size costs at least 1 wei.
    function _potPrice(uint256 price, uint256 potAmount) private pure returns (uint256) {
        return (price * potAmount + USDC_UNIT - 1) / USDC_UNIT;
    }

    /// @dev The restart rule: revenue at least as large as the pot counted so far restarts the decay.
    function _sync() private returns (bool restarted) {
        uint256 balance = usdc.balanceOf(address(this));
        uint256 counted = accountedPot;
        if (balance <= counted) return false;
        accountedPot = balance;
        if (balance - counted < counted) return false;
        Auction storage a = _auction;
        uint32 period = _params.period;
        a.start = SafeCast.toUint40(block.timestamp);
        a.period = period;
        emit AuctionRestarted(a.id, a.startPrice, period, balance);
        return true;
    }

    function _setParams(uint256 period, uint256 multiplier, uint256 floor) private {
        if (
            period < MIN_PERIOD || period > MAX_PERIOD || multiplier < MIN_MULTIPLIER || multiplier > MAX_MULTIPLIER
                || floor < MIN_FLOOR || floor > MAX_FLOOR
        ) revert BuybackInvalidParams();
        // Bounded above by the checks: the casts cannot truncate.
        _params = Params(uint32(period), uint64(multiplier), uint128(floor));
        emit ParamsSet(period, multiplier, floor);
    }
}
