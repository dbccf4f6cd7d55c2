import { describe, expect, it } from 'vitest';
import { ModelError, parseCluster } from '../src/index.ts';
import { list, service, slice, syntaxError } from './helpers.ts';

const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, status: { addresses: [{ type: 'InternalIP', address: '192.168.1.10' }] } };
const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'foo', namespace: 'kube-system' }, data: {} };

function summary(text: string) {
  const { cluster, warnings } = parseCluster(text, 'in.txt');
  return {
    services: cluster.services.map((s) => `${s.namespace}/${s.name}`),
    slices: cluster.endpointSlices.map((s) => `${s.namespace}/${s.name}`),
    nodes: cluster.nodes.map((n) => n.name),
    warnings: warnings.map((w) => w.message),
  };
}

const expected = { services: ['shop/web'], slices: ['shop/web-abc'], nodes: ['node-1'], warnings: [] };

describe('ingestion formats', () => {
  it('a skipped slice port leaves no gap in the model (lists are sized up front, then cut)', () => {
    const ports = [{ name: 'a', protocol: 'TCP', port: 8080 }, { name: 'b', protocol: 'TCP' }, { name: 'c', protocol: 'UDP', port: 53 }];
    const { cluster, warnings } = parseCluster(list(slice('web-abc', 'web', { ports })), 'in.json');
    expect(warnings.map((w) => w.message)).toEqual(['EndpointSlice shop/web-abc: ports[1].port is not set (all ports), ignored']);
    const kept = cluster.endpointSlices[0]!.ports;
    expect(kept).toEqual([{ name: 'a', protocol: 'TCP', port: 8080 }, { name: 'c', protocol: 'UDP', port: 53 }]);
    expect(Object.keys(kept)).toEqual(['0', '1']);
  });

  it('kubectl List as JSON', () => {
    expect(summary(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [service('web'), slice('web-abc', 'web'), node] }, null, 2))).toEqual(expected);
  });

  it('kubectl List as YAML', async () => {
    const { stringify } = await import('yaml');
    expect(summary(stringify({ apiVersion: 'v1', kind: 'List', items: [service('web'), slice('web-abc', 'web'), node] }))).toEqual(expected);
  });

  it('multi-document YAML', async () => {
    const { stringify } = await import('yaml');
    expect(summary([service('web'), slice('web-abc', 'web'), node].map((o) => stringify(o)).join('---\n'))).toEqual(expected);
  });

  it('bare array', () => {
    expect(summary(JSON.stringify([node, slice('web-abc', 'web'), service('web')]))).toEqual(expected);
  });

  it('single object', () => {
    expect(summary(JSON.stringify(service('web'))).services).toEqual(['shop/web']);
  });

  it('typed API lists (ServiceList) whose items have no kind', () => {
    const { kind: _k, apiVersion: _a, ...bare } = service('web');
    expect(summary(JSON.stringify({ apiVersion: 'v1', kind: 'ServiceList', items: [bare] })).services).toEqual(['shop/web']);
  });

  it('warns about unknown kinds and skips them', () => {
    expect(summary(JSON.stringify([service('web'), configMap])).warnings).toEqual(['ConfigMap kube-system/foo: kind ConfigMap is not used, skipped']);
  });

  it('warns about slices without the service-name label and skips them', () => {
    const s = summary(JSON.stringify([slice('orphan', undefined)]));
    expect(s.slices).toEqual([]);
    expect(s.warnings).toEqual(['EndpointSlice shop/orphan: metadata.labels["kubernetes.io/service-name"] is missing, skipped']);
  });

  it('JSON syntax errors name source and line', () => {
    const e = syntaxError('{\n  "kind": "List",\n  "items": [,]\n}', 'c.json');
    expect(e).toBeInstanceOf(ModelError);
    expect(e.line).toBe(3);
    expect(e.message).toMatch(/^c\.json: line 3, column 13: JSON syntax error/);
    const e2 = syntaxError('{"kind": x}', 'c.json');
    expect(e2.message).toMatch(/^c\.json: line 1, column 10: JSON syntax error/);
  });

  it('YAML syntax errors name source and line', () => {
    const e = syntaxError('kind: List\nitems:\n  - a: [1, 2\n', 'c.yaml');
    expect(e.message).toMatch(/^c\.yaml: line \d+, column \d+: YAML syntax error/);
    expect(e.line).toBeGreaterThanOrEqual(3);
    const e2 = syntaxError('a: 1\na: 2\n', 'c.yaml');
    expect(e2.line).toBe(2);
  });

  it('rejects wrong apiVersion and missing kind', () => {
    expect(() => parseCluster(JSON.stringify({ ...slice('x', 'web'), apiVersion: 'discovery.k8s.io/v1beta1' }), 'c.json')).toThrow(
      'c.json: EndpointSlice shop/x: apiVersion "discovery.k8s.io/v1beta1" is not supported for kind EndpointSlice (expected "discovery.k8s.io/v1")',
    );
    expect(() => parseCluster('[{"metadata":{"name":"a"}}]', 'c.json')).toThrow('c.json: <no kind> default/a: kind is required');
  });

  it('empty input is an empty cluster', () => {
    expect(parseCluster('', 'e.yaml').cluster).toEqual({ services: [], endpointSlices: [], nodes: [] });
  });
});
