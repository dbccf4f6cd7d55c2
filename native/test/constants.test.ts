// lib/constants.ts against the installed headers (the addon exports the C values).
import { describe, it, expect } from 'vitest';
import {
  EXPR, nativeConstants, TABLE_ATTR, CHAIN_ATTR, RULE_ATTR, SET_ATTR, SET_ELEM_ATTR, NFT_MSG, NFT_SET_F,
  NFT_VERDICT, NF_VERDICT, NFT_META_KEY, NFT_PAYLOAD_BASE, NF_NAT_RANGE, NFPROTO, HOOK, NLM_F, NFT_CMP_OP,
  NFT_NAT_TYPE, NFT_NG, NFT_DATA_VERDICT, NFT_REG32_00, NFT_CT_KEY, NFT_REG, NFT_LOOKUP_F_INV, NFT_BITWISE_OP,
  NFT_FIB_RESULT, NFT_FIB_F, NFT_REJECT, NFT_DYNSET_OP, NFT_SET_ELEM_INTERVAL_END, NF_CT_STATE_NEW_BIT, RTN_LOCAL,
  ICMP_PORT_UNREACH, ICMPV6_PORT_UNREACH, IPPROTO, IP_HEADER_OFFSET, TH_DPORT_OFFSET, NFTNL_UDATA_COMMENT,
  NFTNL_UDATA_SET, NFTNL_UDATA_SET_ELEM_FLAGS, NFTNL_SET_ELEM_F_INTERVAL_OPEN,
} from '../index.ts';

type Pairs = Array<[cname: string, value: number]>;

/** `{ foo: 1 }` → [[`${prefix}FOO${suffix}`, 1]]. */
const each = (prefix: string, values: Readonly<Record<string, number>>, suffix = ''): Pairs =>
  Object.entries(values).map(([k, v]) => [`${prefix}${k.toUpperCase()}${suffix}`, v]);

const HOOK_C = { prerouting: 'PRE_ROUTING', input: 'LOCAL_IN', forward: 'FORWARD', output: 'LOCAL_OUT', postrouting: 'POST_ROUTING' };

/** Every constant of lib/constants.ts with the name of the C constant (or offsetof) it must equal. */
const GROUPS: Record<string, Pairs> = {
  'expression attribute ids': Object.values(EXPR).flatMap((attrs) =>
    Object.values(attrs as Record<string, { id: number; c: string }>).map((spec): [string, number] => [spec.c, spec.id]),
  ),
  'object attribute ids': [
    ...each('NFTNL_TABLE_', TABLE_ATTR), ...each('NFTNL_CHAIN_', CHAIN_ATTR), ...each('NFTNL_RULE_', RULE_ATTR),
    ...each('NFTNL_SET_', SET_ATTR), ...each('NFTNL_SET_ELEM_', SET_ELEM_ATTR),
  ],
  'kernel constants': [
    ...Object.entries(NFT_MSG).filter(([k]) => !k.startsWith('DESTROY')).map(([k, v]): [string, number] => [`NFT_MSG_${k}`, v]),
    ...each('NFT_SET_', NFT_SET_F), ...each('NFT_', NFT_VERDICT), ...each('NF_', NF_VERDICT),
    ...each('NFT_META_', NFT_META_KEY), ...each('NFT_PAYLOAD_', NFT_PAYLOAD_BASE, '_HEADER'),
    ...each('NF_NAT_RANGE_', NF_NAT_RANGE), ...each('NFT_CMP_', NFT_CMP_OP), ...each('NFT_NAT_', NFT_NAT_TYPE),
    ...each('NFT_NG_', NFT_NG), ...each('NFT_CT_', NFT_CT_KEY), ...each('NLM_F_', NLM_F),
    ...each('NFT_FIB_RESULT_', NFT_FIB_RESULT), ...each('NFTA_FIB_F_', NFT_FIB_F), ...each('NFT_REJECT_', NFT_REJECT),
    ...each('NFT_DYNSET_OP_', NFT_DYNSET_OP), ...each('NFT_BITWISE_', NFT_BITWISE_OP),
    ['NFT_REG_VERDICT', NFT_REG.verdict], ['NFT_REG_1', NFT_REG.r1], ['NFT_REG_2', NFT_REG.r2], ['NFT_REG_3', NFT_REG.r3],
    ['NFT_REG_4', NFT_REG.r4], ['NFT_REG32_00', NFT_REG32_00], ['NFT_LOOKUP_F_INV', NFT_LOOKUP_F_INV],
    ['NFT_DATA_VERDICT', NFT_DATA_VERDICT], ['NFT_SET_ELEM_INTERVAL_END', NFT_SET_ELEM_INTERVAL_END],
    ['NFPROTO_INET', NFPROTO.inet], ['NFPROTO_IPV4', NFPROTO.ip], ['NFPROTO_IPV6', NFPROTO.ip6],
    ...Object.entries(HOOK).map(([k, v]): [string, number] => [`NF_INET_${HOOK_C[k as keyof typeof HOOK]}`, v]),
  ],
  'protocol constants: conntrack, routing, ICMP, IP protocols, header offsets': [
    ['NF_CT_STATE_NEW_BIT', NF_CT_STATE_NEW_BIT], ['RTN_LOCAL', RTN_LOCAL],
    ['ICMP_PORT_UNREACH', ICMP_PORT_UNREACH], ['ICMPV6_PORT_UNREACH', ICMPV6_PORT_UNREACH], ...each('IPPROTO_', IPPROTO),
    ['IPHDR_SADDR_OFFSET', IP_HEADER_OFFSET.ip.saddr], ['IPHDR_DADDR_OFFSET', IP_HEADER_OFFSET.ip.daddr],
    ['IPV6HDR_SADDR_OFFSET', IP_HEADER_OFFSET.ip6.saddr], ['IPV6HDR_DADDR_OFFSET', IP_HEADER_OFFSET.ip6.daddr],
    ['TCPHDR_DEST_OFFSET', TH_DPORT_OFFSET], ['UDPHDR_DEST_OFFSET', TH_DPORT_OFFSET],
  ],
  'libnftnl USERDATA types': [
    ...each('NFTNL_UDATA_', NFTNL_UDATA_COMMENT, '_COMMENT'), ...each('NFTNL_UDATA_SET_', NFTNL_UDATA_SET),
    ['NFTNL_UDATA_SET_ELEM_FLAGS', NFTNL_UDATA_SET_ELEM_FLAGS], ['NFTNL_SET_ELEM_F_INTERVAL_OPEN', NFTNL_SET_ELEM_F_INTERVAL_OPEN],
  ],
};

describe('constants match the installed headers', () => {
  const c = nativeConstants();

  for (const [title, pairs] of Object.entries(GROUPS)) {
    it(title, () => {
      for (const [cname, value] of pairs) expect(c[cname], cname).toBe(value);
    });
  }

  it('the addon exports exactly the constants checked here (src/constants.cc and lib/constants.ts in step)', () => {
    const names = Object.values(GROUPS).flatMap((pairs) => pairs.map(([cname]) => cname));
    expect(names.length).toBeGreaterThan(200);
    expect(Object.keys(c).sort()).toEqual([...new Set(names)].sort());
  });
});
