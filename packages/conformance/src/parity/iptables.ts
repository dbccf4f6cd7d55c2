/**
 * Comparing iptables rulesets the way kube-proxy's own tests mean them: kube-proxy's goldens are
 * the iptables-restore input it writes (`-m tcp -p tcp -d 172.30.0.41 --dport 80`), kpb renders
 * what iptables-save prints back (`-d 172.30.0.41/32 -p tcp -m tcp --dport 80`). Both are reduced
 * to one form: per table, the chains declared and, per chain, its rules in order, each rule a
 * sorted list of its matches and options with iptables' defaults written out. Nothing else is
 * forgiven here; what kpb leaves out on purpose is in omissions.ts.
 */
import { normaliseProbability, tokenize } from '@kpb/backend-iptables';

/** One rule: its atoms, matches sorted, then the target and its options. */
export type NormalRule = string[];

/** One table: declared chains (sorted), and each chain's rules in order. */
interface NormalTable {
  chains: string[];
  readonly rules: Map<string, NormalRule[]>;
}

export type NormalRuleset = Map<string, NormalTable>;

/** Options that take no value (all others take exactly one, or a `!`-negated one). */
const FLAGS = new Set(['--set', '--rcheck', '--reap', '--rsource', '--random-fully', '--update', '--remove']);
/** Options iptables-save prints although they are the default when left out. */
const DEFAULTS = new Set(['--mask 255.255.255.255', '--rsource', '--reject-with icmp-port-unreachable']);

/** Split the words after `-A CHAIN` into atoms: `-m tcp`, `-d 1.2.3.4/32`, `! -s 10.0.0.0/8`. */
function atoms(words: string[]): string[] {
  const out: string[] = [];
  let negate = false;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '!') {
      negate = true;
      continue;
    }
    const takesValue = w.startsWith('-') && !FLAGS.has(w) && i + 1 < words.length && words[i + 1] !== '!' && !words[i + 1]!.startsWith('--');
    const atom = takesValue ? `${w} ${normalValue(w, words[++i]!)}` : w;
    out.push(negate ? `! ${atom}` : atom);
    negate = false;
  }
  return out;
}

function normalValue(option: string, value: string): string {
  if ((option === '-s' || option === '-d') && !value.includes('/')) return `${value}/32`;
  if (option === '--probability') return normaliseProbability(value);
  return value;
}

/** The target and its options, rewritten to iptables-save's spelling of the same thing. */
function normalTarget(target: string[]): string[] {
  const [jump, name, ...opts] = target;
  if (name === 'MARK' && opts[0] === '--or-mark') return [`${jump} MARK`, `--set-xmark ${opts[1]}/${opts[1]}`];
  if (name === 'MARK' && opts[0] === '--xor-mark') return [`${jump} MARK`, `--set-xmark ${opts[1]}/0x0`];
  return [`${jump} ${name}`, ...atoms(opts).filter((a) => !DEFAULTS.has(a))];
}

/** One `-A` line in normal form (the chain left off). */
function normalRule(line: string): NormalRule {
  const words = tokenize(line).slice(2);
  const j = words.findIndex((w) => w === '-j' || w === '-g');
  const matches = atoms(j < 0 ? words : words.slice(0, j)).filter((a) => !DEFAULTS.has(a)).sort();
  return j < 0 ? matches : [...matches, ...normalTarget(words.slice(j))];
}

/** Parse iptables-restore or iptables-save text into normal form. */
export function normalRuleset(text: string): NormalRuleset {
  const out: NormalRuleset = new Map();
  let table: NormalTable | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      table = { chains: [], rules: new Map() };
      out.set(line.slice(1), table);
    } else if (table && line.startsWith(':')) {
      table.chains.push(line.slice(1).split(' ')[0]!);
    } else if (table && line.startsWith('-A ')) {
      const chain = line.split(' ')[1]!;
      const rules = table.rules.get(chain) ?? [];
      rules.push(normalRule(line));
      table.rules.set(chain, rules);
    }
  }
  for (const t of out.values()) t.chains.sort();
  return out;
}

/** Every difference between two normal rulesets, one line each (empty when they agree). */
export function diffNormal(want: NormalRuleset, got: NormalRuleset): string[] {
  const out: string[] = [];
  for (const name of new Set([...want.keys(), ...got.keys()])) {
    const w = want.get(name) ?? { chains: [], rules: new Map<string, NormalRule[]>() };
    const g = got.get(name) ?? { chains: [], rules: new Map<string, NormalRule[]>() };
    for (const c of w.chains) if (!g.chains.includes(c)) out.push(`${name}: chain ${c} missing`);
    for (const c of g.chains) if (!w.chains.includes(c)) out.push(`${name}: chain ${c} not expected`);
    for (const chain of new Set([...w.rules.keys(), ...g.rules.keys()])) {
      const wr = (w.rules.get(chain) ?? []).map((r) => r.join(' '));
      const gr = (g.rules.get(chain) ?? []).map((r) => r.join(' '));
      for (let i = 0; i < Math.max(wr.length, gr.length); i++) {
        if (wr[i] !== gr[i]) out.push(`${name} ${chain} rule ${i + 1}: want ${wr[i] ?? '(none)'}\n    got  ${gr[i] ?? '(none)'}`);
      }
    }
  }
  return out;
}
