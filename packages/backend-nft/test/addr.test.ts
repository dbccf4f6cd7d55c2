// Addresses in the renderer: checked with the model's net module, sorted and merged as numbers.
import { describe, expect, it } from 'vitest';
import { formatRule, isAddrOrCidr, mergeAddrs, normalizeRuleText, RenderError, sortAddrs } from '../src/index.ts';

describe('isAddrOrCidr (what the renderer writes)', () => {
  it('accepts addresses and CIDRs of the family', () => {
    for (const ok of ['10.0.0.1', '10.0.0.0/8', '0.0.0.0/0', '255.255.255.255/32']) expect(isAddrOrCidr(ok, 'ip'), ok).toBe(true);
    for (const ok of ['fd00::1', 'fd00::/64', '::/0', '2001:db8::8:800:200c:417a/128']) expect(isAddrOrCidr(ok, 'ip6'), ok).toBe(true);
  });
  it('rejects what the model rejects, and the other family', () => {
    const bad: [string, 'ip' | 'ip6'][] = [
      ['010.0.0.1', 'ip'], ['10.0.0.1/8', 'ip'], ['10.0.0.0/33', 'ip'], ['10.0.0.0/08', 'ip'], ['10.0.0.0/8/8', 'ip'],
      ['fd00::1', 'ip'], ['10.0.0.1', 'ip6'], ['::ffff:10.0.0.1', 'ip6'], ['::ffff:a00:1', 'ip6'], [':::', 'ip6'], ['fd00::1/129', 'ip6'],
    ];
    for (const [value, family] of bad) expect(isAddrOrCidr(value, family), `${value} (${family})`).toBe(false);
    expect(() => formatRule({ statements: [{ kind: 'match-addr', field: 'saddr', op: '==', value: '10.0.0.1/8' }] }, 'ip')).toThrow(RenderError);
  });
});

describe('sorting and merging', () => {
  it('sorts by address value, prefixes by their network', () => {
    expect(sortAddrs(['10.0.0.10', '10.0.0.9', '9.255.255.255/32', '10.0.0.0/24'])).toEqual(['9.255.255.255/32', '10.0.0.0/24', '10.0.0.9', '10.0.0.10']);
    expect(sortAddrs(['fd00::10', 'fd00::9', 'fc00::/7'])).toEqual(['fc00::/7', 'fd00::9', 'fd00::10']);
  });
  it('merges overlapping and adjacent intervals into prefixes and ranges', () => {
    expect(mergeAddrs(['10.0.0.0/8', '11.0.0.0/8', '10.1.0.0/16'], 'ip')).toEqual(['10.0.0.0/7']);
    expect(mergeAddrs(['1.2.3.5-1.2.3.6', '1.2.3.7'], 'ip')).toEqual(['1.2.3.5-1.2.3.7']);
    expect(mergeAddrs(['fd00::1', 'fd00::0'], 'ip6')).toEqual(['fd00::/127']);
  });
  it('leaves a set with a value that is not an address of the family as listed', () => {
    expect(mergeAddrs(['10.0.0.1', 'fd00::1'], 'ip')).toBeUndefined();
    expect(mergeAddrs(['10.0.0.0/40'], 'ip')).toBeUndefined();
    const foreign = 'ip6 saddr { ::ffff:1.2.3.4, fd00::1 } drop';
    expect(normalizeRuleText(foreign)).toBe(foreign);
  });
});

describe('an anonymous set of one value', () => {
  it('is written with braces (as kube-proxy writes it) and compared without (as nft lists it)', () => {
    const rule = { statements: [{ kind: 'match-addr-anon', field: 'saddr', op: '!=', values: ['203.0.113.0/25'] }, { kind: 'verdict', verdict: { kind: 'drop' } }] } as const;
    expect(formatRule(rule, 'ip')).toBe('ip saddr != { 203.0.113.0/25 } drop');
    expect(normalizeRuleText(formatRule(rule, 'ip'))).toBe('ip saddr != 203.0.113.0/25 drop');
    // Values that merge into one interval compare the same way.
    expect(normalizeRuleText('ip daddr { 10.0.0.0/9, 10.128.0.0/9 } drop')).toBe('ip daddr 10.0.0.0/8 drop');
    expect(normalizeRuleText('ip daddr { 10.0.0.0/9, 11.0.0.0/9 } drop')).toBe('ip daddr { 10.0.0.0/9, 11.0.0.0/9 } drop');
  });
});
