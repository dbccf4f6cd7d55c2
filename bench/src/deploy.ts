/**
 * The bench on many hosts: Kubernetes manifests that run the bench image once on each named node
 * (an Indexed Job, one pod per node), and the reverse step, splitting the pods' logs back into
 * one results folder per host (collect.ts).
 */
import { stringify } from 'yaml';

export interface DeployOptions {
  /** Node names (`kubernetes.io/hostname` labels): one pod on each. */
  readonly nodes: readonly string[];
  readonly image: string;
  readonly namespace?: string;
  /** Arguments of the bench run inside the pod (entrypoint.sh passes them to `kpb-bench run`). */
  readonly args?: readonly string[];
}

/** The label every object carries, and the pods' anti-affinity key. */
const APP = 'kpb-bench';
const LABELS = { 'app.kubernetes.io/name': APP } as const;

/** Plain objects, in apply order, each with apiVersion and kind (kubernetes-models validates them in the tests). */
export function benchManifests(o: DeployOptions): Record<string, unknown>[] {
  if (!o.nodes.length) throw new Error('kpb deploy: no node given (--nodes a,b,…)');
  if (new Set(o.nodes).size !== o.nodes.length) throw new Error('kpb deploy: a node is named twice (one pod per node)');
  const namespace = o.namespace ?? APP;
  const meta = { name: APP, namespace, labels: LABELS };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: LABELS } },
    // Its own account with no role bound and no token mounted: the bench talks to no API server.
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta, automountServiceAccountToken: false },
    benchJob(o, meta),
  ];
}

function benchJob(o: DeployOptions, meta: { name: string; namespace: string; labels: typeof LABELS }): Record<string, unknown> {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: meta,
    spec: {
      completionMode: 'Indexed',
      completions: o.nodes.length,
      parallelism: o.nodes.length,
      // A failed run is read from its log, not retried: a retry would measure a busier node.
      backoffLimit: 0,
      template: {
        metadata: { labels: LABELS },
        spec: {
          serviceAccountName: APP,
          automountServiceAccountToken: false,
          restartPolicy: 'Never',
          // The bench makes its own network namespaces; the node's own is never touched.
          hostNetwork: false,
          affinity: placement(o.nodes),
          containers: [benchContainer(o)],
          volumes: [{ name: 'out', emptyDir: {} }],
        },
      },
    },
  };
}

/** One pod per listed node: only those nodes, and never two bench pods on one node. */
function placement(nodes: readonly string[]): Record<string, unknown> {
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [...nodes] }] }],
      },
    },
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: LABELS }, topologyKey: 'kubernetes.io/hostname' }],
    },
  };
}

function benchContainer(o: DeployOptions): Record<string, unknown> {
  return {
    name: 'bench',
    image: o.image,
    args: [...(o.args ?? ['--quick'])],
    // The marker lines name the node, not the pod (entrypoint.sh reads NODE_NAME).
    env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
    volumeMounts: [{ name: 'out', mountPath: '/out' }],
    securityContext: {
      // Not privileged: the bench needs two capabilities, all others are dropped.
      //  NET_ADMIN: nftables and iptables in the bench's namespaces, veth pairs, addresses.
      //  SYS_ADMIN: `ip netns add` unshares a network namespace and bind-mounts it under /run/netns.
      // allowPrivilegeEscalation is left unset: the API server refuses it false beside SYS_ADMIN.
      privileged: false,
      runAsUser: 0,
      capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'SYS_ADMIN'] },
      // The runtimes' default AppArmor profile forbids mount(2), which `ip netns add` needs;
      // seccomp's default allows unshare and mount once SYS_ADMIN is held.
      appArmorProfile: { type: 'Unconfined' },
      seccompProfile: { type: 'RuntimeDefault' },
    },
  };
}

/** The manifests as one multi-document YAML stream, ready for `kubectl apply -f -`. */
export function manifestsYaml(o: DeployOptions): string {
  return benchManifests(o)
    .map((m) => stringify(m, { aliasDuplicateObjects: false }))
    .join('---\n');
}
