/** Units the contracts count in: token wei and seconds. */

/** One FLK in wei (18 decimals). */
export const FLK = 10n ** 18n;
/** One USDC in units (6 decimals). */
export const USDC = 10n ** 6n;
/** One day in seconds. */
export const DAY = 24n * 3600n;
/** One emission / vesting year in seconds: 365 days, as `EmissionSchedule.YEAR`. */
export const YEAR = 365n * DAY;
/** One vesting month: a twelfth of {@link YEAR}. */
export const MONTH = YEAR / 12n;
