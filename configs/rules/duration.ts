/**
 * Prometheus durations ("30s", "1h30m", "2d") as seconds and back, so rule test cases can place
 * their evaluation times relative to the configured `for` durations.
 */

const UNIT_SECONDS: Readonly<Record<string, number>> = {
  y: 365 * 24 * 3600,
  w: 7 * 24 * 3600,
  d: 24 * 3600,
  h: 3600,
  m: 60,
  s: 1,
  ms: 0.001,
};

const DURATION_PATTERN = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const UNITS_IN_ORDER = ["y", "w", "d", "h", "m", "s", "ms"] as const;

/** Seconds in a Prometheus duration; throws on anything Prometheus would reject. */
export function durationSeconds(duration: string): number {
  if (duration === "0") return 0;
  const match = DURATION_PATTERN.exec(duration);
  if (!match || duration === "") {
    throw new RangeError(`"${duration}" is not a Prometheus duration (e.g. 30s, 5m, 1h30m)`);
  }
  let seconds = 0;
  UNITS_IN_ORDER.forEach((unit, index) => {
    const amount = match[index + 1];
    if (amount !== undefined) seconds += Number(amount) * (UNIT_SECONDS[unit] ?? 0);
  });
  return seconds;
}

/** Whole seconds as a Prometheus duration, largest units first: 5400 -> "1h30m", 0 -> "0s". */
export function formatDuration(totalSeconds: number): string {
  if (!Number.isInteger(totalSeconds) || totalSeconds < 0) {
    throw new RangeError(`cannot format ${totalSeconds} seconds as a Prometheus duration`);
  }
  if (totalSeconds === 0) return "0s";
  let rest = totalSeconds;
  let text = "";
  for (const unit of ["h", "m", "s"] as const) {
    const size = UNIT_SECONDS[unit] ?? 1;
    const amount = Math.floor(rest / size);
    if (amount > 0) text += `${amount}${unit}`;
    rest -= amount * size;
  }
  return text;
}

/** Whole minutes covering a duration (rule tests step in minutes). */
export function minutesCovering(duration: string): number {
  return Math.ceil(durationSeconds(duration) / 60);
}
