/** The script written one service port at a time is `renderScript`'s, line for line. */
import { describe, expect, it } from 'vitest';
import { generateCluster, GENERATED_CLUSTER_CIDR, GENERATED_LOCAL_NODE } from '@kpb/model';
import { compile, nodeSettings } from '@kpb/compiler';
import type { Plan } from '@kpb/compiler';
import { buildRuleset, renderScript, streamRuleset } from '../src/index.ts';
import { renderStreamScript } from '../src/render.ts';
import { smallPlan } from './fixtures.ts';

const generated = compile(generateCluster({ services: 300, endpointsPerService: 3, seed: 7 }), nodeSettings({ nodeName: GENERATED_LOCAL_NODE, clusterCIDR: GENERATED_CLUSTER_CIDR }));

/** The plan with NodePorts on one node address (a `nodeport-ips` set) and a service CIDR. */
const withNodePortIPs = (plan: Plan): Plan => ({ ...plan, nodePortIPs: [plan.nodeIPs[0] ?? '192.168.0.2'], serviceCIDRs: ['10.96.0.0/12'] });

describe('renderStreamScript', () => {
  for (const layout of ['flat', 'kube-proxy'] as const) {
    it(`writes renderScript's script (${layout})`, () => {
      for (const plan of [smallPlan(), generated, withNodePortIPs(smallPlan()), withNodePortIPs(generated)]) {
        expect(renderStreamScript(streamRuleset(plan, layout))).toBe(renderScript(buildRuleset(plan, layout)));
      }
    });
  }
});
