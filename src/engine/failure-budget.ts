/**
 * `--max-failures`: a fleet-wide budget of failed sites, as a count ("5") or a share of the fleet
 * ("10%"). Crossing it (more failures than the budget) stops new sites from starting.
 *
 * @example parseFailureBudget('10%', 12) === 2   // the 3rd failure halts the run
 */
export function parseFailureBudget(spec: string, total: number): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(spec);
  if (!m?.[1]) throw new RangeError(`--max-failures must be a number of sites (5) or a percentage (10%), got "${spec}"`);
  const n = Number(m[1]);
  if (m[2] === '%') {
    if (n > 100) throw new RangeError(`--max-failures cannot exceed 100%, got "${spec}"`);
    return Math.ceil((n / 100) * total);
  }
  if (!Number.isInteger(n)) throw new RangeError(`--max-failures must be a whole number of sites, got "${spec}"`);
  return n;
}
