/** The script written one service port at a time is `renderScript`'s, line for line. */
import { describe, expect, it } from 'vitest';
import { generateCluster, GENERATED_CLUSTER_CIDR, GENERATED_LOCAL_NODE } from '@kpb/model';
import { compile, nodeSettings } from '@kpb/compiler';
import { buildRuleset, renderScript, streamRuleset } from '../src/index.ts';
import { renderStreamScript } from '../src/render.ts';
import { smallPlan } from './fixtures.ts';

const generated = compile(generateCluster({ services: 300, endpointsPerService: 3, seed: 7 }), nodeSettings({ nodeName: GENERATED_LOCAL_NODE, clusterCIDR: GENERATED_CLUSTER_CIDR }));

describe('renderStreamScript', () => {
  for (const options of [{ layout: 'flat' }, { layout: 'kube-proxy' }, { layout: 'flat', clusterIPsCheck: true }, { layout: 'kube-proxy', clusterIPsCheck: true }] as const) {
    it(`writes renderScript's script (${JSON.stringify(options)})`, () => {
      for (const plan of [smallPlan(), generated]) {
        expect(renderStreamScript(streamRuleset(plan, options))).toBe(renderScript(buildRuleset(plan, options)));
      }
    });
  }
});
