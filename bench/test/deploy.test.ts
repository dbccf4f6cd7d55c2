/**
 * The many-hosts manifests against the Kubernetes object schemas (kubernetes-models validates
 * with the OpenAPI schemas of the API): every generated object passes, a broken one does not.
 */
import { Job } from 'kubernetes-models/batch/v1';
import { Namespace, ServiceAccount } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { benchManifests, manifestsYaml } from '../src/deploy.ts';

const opts = { nodes: ['node-a', 'node-b', 'node-c'], image: 'registry.example/kpb-bench:1', args: ['--services', '1000', '--repeats', '3'] };

/** A model of the object's kind; validate() throws on the first schema violation. */
function model(o: Record<string, unknown>): { validate(): void } {
  switch (o.kind) {
    case 'Namespace':
      return new Namespace(o as never);
    case 'ServiceAccount':
      return new ServiceAccount(o as never);
    case 'Job':
      return new Job(o as never);
    default:
      throw new Error(`unexpected kind ${String(o.kind)}`);
  }
}

type JobShape = {
  spec: {
    completions: number;
    parallelism: number;
    completionMode: string;
    template: { spec: { hostNetwork: boolean; affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: { matchExpressions: { values: string[] }[] }[] } } }; containers: { args: string[]; securityContext: { privileged: boolean; capabilities: { add: string[]; drop: string[] } } }[] } };
  };
};

describe('deploy manifests', () => {
  it('every object of the YAML stream passes its Kubernetes schema', () => {
    const docs = parseAllDocuments(manifestsYaml(opts)).map((d) => d.toJS() as Record<string, unknown>);
    expect(docs.map((d) => d.kind)).toEqual(['Namespace', 'ServiceAccount', 'Job']);
    for (const d of docs) expect(() => model(d).validate(), String(d.kind)).not.toThrow();
  });

  it('an Indexed Job with one pod per node, on those nodes only, with two added capabilities and not privileged', () => {
    const job = benchManifests(opts)[2] as unknown as JobShape;
    expect(job.spec).toMatchObject({ completionMode: 'Indexed', completions: 3, parallelism: 3 });
    const pod = job.spec.template.spec;
    expect(pod.hostNetwork).toBe(false);
    expect(pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]!.matchExpressions[0]!.values).toEqual(opts.nodes);
    const c = pod.containers[0]!;
    expect(c.args).toEqual(opts.args);
    expect(c.securityContext.privileged).toBe(false);
    expect(c.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_ADMIN', 'SYS_ADMIN'] });
  });

  it('a broken object fails validation (the check is not vacuous)', () => {
    const job = structuredClone(benchManifests(opts)[2]!) as unknown as JobShape;
    (job.spec as { completions: unknown }).completions = 'three';
    expect(() => new Job(job as never).validate()).toThrow();
    const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 42 } };
    expect(() => new Namespace(ns as never).validate()).toThrow();
  });

  it('refuses no node and a node named twice', () => {
    expect(() => benchManifests({ ...opts, nodes: [] })).toThrow(/no node/);
    expect(() => benchManifests({ ...opts, nodes: ['a', 'a'] })).toThrow(/twice/);
  });
});
