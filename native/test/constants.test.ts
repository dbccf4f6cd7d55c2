// lib/constants.ts against the installed headers (the addon exports the C values).
import { describe, it, expect } from 'vitest';
import {
  EXPR, nativeConstants, TABLE_ATTR, CHAIN_ATTR, RULE_ATTR, SET_ATTR, SET_ELEM_ATTR, NFT_MSG, NFT_SET_F,
  NFT_VERDICT, NF_VERDICT, NFT_META_KEY, NFT_PAYLOAD_BASE, NF_NAT_RANGE, NFPROTO, HOOK, NLM_F, NFT_CMP_OP,
  NFT_NAT_TYPE, NFT_NG, NFT_DATA_VERDICT, NFT_REG32_00, NFT_CT_KEY,
} from '../index.ts';

describe('constants match the installed headers', () => {
  const c = nativeConstants();
  const check = (cname: string, value: number) => expect(c[cname], cname).toBe(value);

  it('expression attribute ids', () => {
    let n = 0;
    for (const attrs of Object.values(EXPR)) {
      for (const spec of Object.values(attrs as Record<string, { id: number; c: string }>)) {
        check(spec.c, spec.id);
        n++;
      }
    }
    expect(n).toBeGreaterThan(100);
  });

  it('object attribute ids', () => {
    const objs: Array<[string, Record<string, number>]> = [
      ['NFTNL_TABLE_', TABLE_ATTR], ['NFTNL_CHAIN_', CHAIN_ATTR], ['NFTNL_RULE_', RULE_ATTR],
      ['NFTNL_SET_', SET_ATTR], ['NFTNL_SET_ELEM_', SET_ELEM_ATTR],
    ];
    for (const [prefix, attrs] of objs) for (const [k, v] of Object.entries(attrs)) check(prefix + k.toUpperCase(), v);
  });

  it('kernel constants', () => {
    for (const [k, v] of Object.entries(NFT_MSG)) if (!k.startsWith('DESTROY')) check(`NFT_MSG_${k}`, v);
    for (const [k, v] of Object.entries(NFT_SET_F)) check(`NFT_SET_${k.toUpperCase()}`, v);
    for (const [k, v] of Object.entries(NFT_VERDICT)) check(`NFT_${k.toUpperCase()}`, v);
    for (const [k, v] of Object.entries(NF_VERDICT)) check(`NF_${k.toUpperCase()}`, v);
    for (const [k, v] of Object.entries(NFT_META_KEY)) check(`NFT_META_${k.toUpperCase()}`, v);
    for (const [k, v] of Object.entries(NFT_PAYLOAD_BASE)) check(`NFT_PAYLOAD_${k.toUpperCase()}_HEADER`, v);
    for (const [k, v] of Object.entries(NF_NAT_RANGE)) check(`NF_NAT_RANGE_${k.toUpperCase()}`, v);
    for (const [k, v] of Object.entries(NFT_CMP_OP)) check(`NFT_CMP_${k.toUpperCase()}`, v);
    for (const [k, v] of Object.entries(NFT_NAT_TYPE)) check(`NFT_NAT_${k.toUpperCase()}`, v);
    for (const [k, v] of Object.entries(NFT_NG)) check(`NFT_NG_${k.toUpperCase()}`, v);
    for (const [k, v] of Object.entries(NFT_CT_KEY)) check(`NFT_CT_${k.toUpperCase()}`, v);
    for (const [k, v] of Object.entries(NLM_F)) check(`NLM_F_${k}`, v);
    check('NFPROTO_INET', NFPROTO.inet);
    check('NFPROTO_IPV4', NFPROTO.ip);
    check('NFPROTO_IPV6', NFPROTO.ip6);
    const hooks = { prerouting: 'PRE_ROUTING', input: 'LOCAL_IN', forward: 'FORWARD', output: 'LOCAL_OUT', postrouting: 'POST_ROUTING' };
    for (const [k, v] of Object.entries(HOOK)) check(`NF_INET_${hooks[k as keyof typeof hooks]}`, v);
    check('NFT_DATA_VERDICT', NFT_DATA_VERDICT);
    check('NFT_REG32_00', NFT_REG32_00);
  });
});
