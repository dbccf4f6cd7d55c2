/**
 * Everything kpb's rules leave out of kube-proxy's, or add to them, in one place with the
 * reason. The parity tests take these out of the normalised rulesets before comparing, and fail
 * when one of them no longer takes anything out (then it is stale and must go).
 */
import type { NormalRule, NormalRuleset } from './iptables.ts';

export interface Omission {
  readonly id: string;
  /** Which side holds what the other lacks. */
  readonly side: 'kube-proxy' | 'kpb';
  /** `deliberate`: kpb will not model it; `not yet`: kpb should, and does not today. */
  readonly status: 'deliberate' | 'not yet';
  readonly what: string;
  readonly why: string;
  /** Remove it from a normalised ruleset in place; the number of things removed. */
  readonly remove: (rs: NormalRuleset) => number;
}

const BUILTIN = new Set(['INPUT', 'FORWARD', 'OUTPUT', 'PREROUTING', 'POSTROUTING']);

function dropRules(rs: NormalRuleset, test: (chain: string, rule: NormalRule) => boolean): number {
  let n = 0;
  for (const t of rs.values()) {
    for (const [chain, rules] of t.rules) {
      const kept = rules.filter((r) => !test(chain, r));
      n += rules.length - kept.length;
      if (kept.length > 0) t.rules.set(chain, kept);
      else t.rules.delete(chain);
    }
  }
  return n;
}

function dropAtoms(rs: NormalRuleset, test: (atom: string) => boolean): number {
  let n = 0;
  for (const t of rs.values()) {
    for (const rules of t.rules.values()) {
      for (let i = 0; i < rules.length; i++) {
        const kept = rules[i]!.filter((a) => !test(a));
        n += rules[i]!.length - kept.length;
        rules[i] = kept;
      }
    }
  }
  return n;
}

export const IPTABLES_OMISSIONS: readonly Omission[] = [
  {
    id: 'builtin-jumps',
    side: 'kpb',
    status: 'deliberate',
    what: 'the rules in built-in chains (INPUT, FORWARD, OUTPUT, PREROUTING, POSTROUTING) that jump to KUBE- chains',
    why: 'kube-proxy adds these with separate `iptables -I` calls before its restore, so its goldens do not show them; kpb puts them in the same iptables-restore input so that one apply is one transaction',
    remove: (rs) => dropRules(rs, (chain) => BUILTIN.has(chain)),
  },
  {
    id: 'random-fully',
    side: 'kpb',
    status: 'deliberate',
    what: '`--random-fully` on the MASQUERADE rule',
    why: "kube-proxy adds it whenever iptables supports it (every iptables kpb runs with); the goldens lack it only because kube-proxy's fake iptables reports no support",
    remove: (rs) => dropAtoms(rs, (a) => a === '--random-fully'),
  },
  {
    id: 'nfacct',
    side: 'kube-proxy',
    status: 'deliberate',
    what: '`-m nfacct --nfacct-name …` counters (ct_state_invalid_dropped_pkts, localhost_nps_accepted_pkts)',
    why: 'they only count packets for kube-proxy metrics and need nfacct objects made outside the ruleset; they never change where a packet goes',
    remove: (rs) => dropAtoms(rs, (a) => a === '-m nfacct' || a.startsWith('--nfacct-name ')),
  },
  {
    id: 'localhost-nodeport-counters',
    side: 'kube-proxy',
    status: 'deliberate',
    what: 'the nat KUBE-NODEPORTS copy of each NodePort rule for `-d 127.0.0.0/8` (NodePorts reached on localhost)',
    why: 'kube-proxy writes it only to count localhost NodePort packets with its nfacct counter (localhost_nps_accepted_pkts), and only when that counter exists; without the counter it is the next rule again, which already sends localhost NodePort traffic to the same chain',
    remove: (rs) => dropRules(rs, (chain, rule) => chain === 'KUBE-NODEPORTS' && rule.includes('-d 127.0.0.0/8')),
  },
];
