/**
 * Values written the way iptables-save prints them back, so that rendered text and read-back
 * text compare as strings.
 */

/**
 * A comment as iptables' xtables_save_string prints it: always in double quotes, with `"`, `'`
 * and `\` escaped by a backslash.
 */
export function quote(text: string): string {
  let needs = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 || c === 39 || c === 92) {
      needs = true;
      break;
    }
  }
  if (!needs) return '"' + text + '"';
  let out = '"';
  for (const ch of text) out += ch === '"' || ch === "'" || ch === '\\' ? '\\' + ch : ch;
  return out + '"';
}

/** A host address in iptables-save form: `10.0.0.1/32`, `fd00::1/128`. */
export function hostCIDR(ip: string): string {
  return ip.includes(':') ? ip + '/128' : ip + '/32';
}

const probabilities: string[] = [];

/** kube-proxy's probability for the rule that picks 1 of n: 1/n with 10 decimals. */
export function probability(n: number): string {
  let p = probabilities[n];
  if (p === undefined) {
    p = (1 / n).toFixed(10);
    if (n < 100_000) probabilities[n] = p;
  }
  return p;
}

/** The 31-bit fraction xt_statistic stores for a probability (what iptables hands the kernel). */
function statisticFraction(p: number): number {
  return Math.round(p * 0x80000000);
}

/**
 * iptables-save prints a probability as the stored fraction of 2^31 with 11 decimals. Map that
 * back to kube-proxy's 10-decimal 1/n form when it is one; otherwise leave it as printed.
 */
export function normaliseProbability(printed: string): string {
  const v = Number(printed);
  if (!(v > 0) || v > 1) return printed;
  const stored = statisticFraction(v);
  const n = Math.round(1 / v);
  for (const m of [n, n - 1, n + 1]) {
    if (m < 1) continue;
    const candidate = probability(m);
    if (statisticFraction(Number(candidate)) === stored) return candidate;
  }
  return printed;
}

/** A mark value as iptables prints it (`0x4000`). */
export function hexMark(value: number): string {
  return '0x' + (value >>> 0).toString(16);
}
