import { parseCluster, ModelError, ModelValidationError } from '../src/index.ts';

/** A minimal valid Service object, with overrides merged into spec. */
export function service(name: string, spec: Record<string, unknown> = {}, namespace = 'shop'): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { type: 'ClusterIP', clusterIP: '10.96.0.10', ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }], ...spec },
  };
}

export function slice(name: string, serviceName: string | undefined, body: Record<string, unknown> = {}, namespace = 'shop'): Record<string, unknown> {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace, ...(serviceName === undefined ? {} : { labels: { 'kubernetes.io/service-name': serviceName } }) },
    addressType: 'IPv4',
    ports: [{ name: '', protocol: 'TCP', port: 8080 }],
    endpoints: [{ addresses: ['10.244.0.5'], conditions: { ready: true }, nodeName: 'node-1' }],
    ...body,
  };
}

export function list(...items: unknown[]): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}

/** Parses and returns the thrown error (fails if nothing was thrown). */
export function parseError(text: string, source = 'c.yaml'): ModelValidationError {
  try {
    parseCluster(text, source);
  } catch (e) {
    if (e instanceof ModelValidationError) return e;
    throw e;
  }
  throw new Error('expected a ModelValidationError');
}

export function syntaxError(text: string, source = 'c.yaml'): ModelError {
  try {
    parseCluster(text, source);
  } catch (e) {
    if (e instanceof ModelError) return e;
    throw e;
  }
  throw new Error('expected a ModelError');
}
