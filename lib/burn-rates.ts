/**
 * Multiwindow, multi-burn-rate alerting as the SRE workbook sets it out ("Alerting on SLOs",
 * table 5-8): an alert fires when the error budget burns faster than `factor` times the rate that
 * would spend exactly the whole budget over the SLO window, over both a long and a short window
 * (the short one makes the alert stop soon after the burn stops). The settings reader refuses an
 * SLO window shorter than the longest alert window; the rule renderer reads the same table.
 */

export interface BurnRateWindow {
  /** How many times the budget rate the errors must be burning. */
  readonly factor: number;
  readonly long: string;
  readonly short: string;
}

export interface BurnRateAlert {
  /** `page`: someone is woken; `ticket`: dealt with in working hours. */
  readonly kind: "page" | "ticket";
  readonly windows: readonly BurnRateWindow[];
}

/** Page: 2% of a 30-day budget in 1h, or 5% in 6h. Ticket: 10% in 1d, or 10% in 3d. */
export const BURN_RATE_ALERTS: readonly BurnRateAlert[] = [
  {
    kind: "page",
    windows: [
      { factor: 14.4, long: "1h", short: "5m" },
      { factor: 6, long: "6h", short: "30m" },
    ],
  },
  {
    kind: "ticket",
    windows: [
      { factor: 3, long: "1d", short: "2h" },
      { factor: 1, long: "3d", short: "6h" },
    ],
  },
];

/** Every window an error ratio is recorded over, shortest first. */
export const BURN_RATE_WINDOWS: readonly string[] = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"];

/** The longest alert window: an SLO window shorter than this cannot hold the slow ticket's burn. */
export const LONGEST_BURN_WINDOW = "3d";
