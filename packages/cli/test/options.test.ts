/** Flags → settings and backend case, in process (no kpb binary, no kernel). */
import { describe, expect, it } from 'vitest';
import { BACKEND_CASES, cliArgs } from '@kpb/registry';
import { buildProgram } from '../src/main.ts';
import { selectCase } from '../src/backends.ts';
import { generateCluster } from '@kpb/model';
import { resolveFamilies, resolvePlans, resolveSettings, type CommonOptions } from '../src/options.ts';

const DEFAULTS: CommonOptions = { backend: 'iptables', masqueradeBit: '14', layout: 'flat', iptables: 'nft', lockWait: '60', node: 'node-a', localhostNodeports: true };

/** The options commander gives `kpb compile` for these arguments. */
function parsed(args: readonly string[]): CommonOptions {
  const program = buildProgram();
  const compile = program.commands.find((c) => c.name() === 'compile')!;
  let got: CommonOptions | undefined;
  compile.action((opts: CommonOptions) => {
    got = opts;
  });
  program.parse(['compile', ...args], { from: 'user' });
  return got!;
}

describe('backend flags', () => {
  it.each(BACKEND_CASES)('$id is selected by its registry flags', (c) => {
    expect(selectCase(parsed(cliArgs(c))).id).toBe(c.id);
  });

  it('--help names noflush as a value of --iptables', () => {
    const compile = buildProgram().commands.find((c) => c.name() === 'compile')!;
    const option = compile.options.find((o) => o.long === '--iptables')!;
    expect(option.argChoices).toEqual(['nft', 'legacy', 'noflush']);
    expect(option.description).toContain('noflush (iptables-nft the way kube-proxy loads');
  });

  it('defaults: iptables through iptables-nft; nft and nftnl flat; the other family’s flag is ignored', () => {
    expect(selectCase(parsed([])).id).toBe('iptables/nft');
    expect(selectCase(parsed(['--backend', 'nft', '--iptables', 'legacy'])).id).toBe('nft/flat');
    expect(selectCase(parsed(['--backend', 'iptables', '--layout', 'kube-proxy'])).id).toBe('iptables/nft');
  });
});

describe('settings flags use the model’s validators', () => {
  it('accepts a canonical CIDR and a DNS-1123 node name', () => {
    expect(resolveSettings({ ...DEFAULTS, clusterCidr: '10.128.0.0/9' }).clusterCIDRs).toEqual(['10.128.0.0/9']);
  });

  it('takes one cluster CIDR per family, and gives each family plan its own', () => {
    const resolved = resolveSettings({ ...DEFAULTS, clusterCidr: '10.128.0.0/9, fd00:10:128::/64' });
    expect(resolved.clusterCIDRs).toEqual(['10.128.0.0/9', 'fd00:10:128::/64']);
    expect(() => resolveSettings({ ...DEFAULTS, clusterCidr: '10.128.0.0/9,10.0.0.0/8' })).toThrow('--cluster-cidr "10.128.0.0/9,10.0.0.0/8" holds more than one IPv4 CIDR');
    const dual = generateCluster({ services: 20, endpointsPerService: 2, seed: 3, families: 'dual' });
    const plans = resolvePlans({ ...DEFAULTS, node: 'node-0' }, dual, resolved);
    expect(plans.map((p) => [p.family, p.settings.clusterCIDR])).toEqual([['IPv4', '10.128.0.0/9'], ['IPv6', 'fd00:10:128::/64']]);
    expect(plans[1]!.servicePorts.every((sp) => sp.clusterIP.includes(':'))).toBe(true);
  });

  it('--family: what the input holds by default, else the one asked for', () => {
    const v4 = generateCluster({ services: 5, endpointsPerService: 1, seed: 1 });
    const v6 = generateCluster({ services: 5, endpointsPerService: 1, seed: 1, families: 'IPv6' });
    const dual = generateCluster({ services: 20, endpointsPerService: 1, seed: 1, families: 'dual' });
    expect(resolveFamilies({}, v4)).toEqual(['IPv4']);
    expect(resolveFamilies({}, v6)).toEqual(['IPv6']);
    expect(resolveFamilies({}, dual)).toEqual(['IPv4', 'IPv6']);
    expect(resolveFamilies({ family: 'ipv6' }, dual)).toEqual(['IPv6']);
    expect(resolveFamilies({ family: 'dual' }, v4)).toEqual(['IPv4', 'IPv6']);
    expect(resolveFamilies({})).toEqual(['IPv4', 'IPv6']);
    expect(() => parsed(['--family', 'ipv5'])).toThrow();
  });

  it.each([
    ['010.0.0.0/8', 'is not a CIDR (bad address)'],
    ['10.0.0.1/8', 'has host bits set (did you mean "10.0.0.0/8"?)'],
    ['10.0.0.0/33', 'is not a CIDR (prefix length must be 0..32)'],
    ['10.0.0.0/08', 'is not a CIDR (prefix length must be 0..32)'],
    ['::ffff:10.0.0.0/104', 'is not a CIDR (bad address)'],
  ])('rejects --cluster-cidr %s as the model does', (cidr, reason) => {
    expect(() => resolveSettings({ ...DEFAULTS, clusterCidr: cidr })).toThrow(`--cluster-cidr "${cidr}" ${reason}`);
  });

  it.each(['Node-A', 'a_b', 'a'.repeat(254), '-a', 'a"; flush ruleset'])('rejects --node %s', (node) => {
    expect(() => resolveSettings({ ...DEFAULTS, node })).toThrow(/is not a valid node name/);
  });
});

describe('kube-proxy flags that change rules', () => {
  it('--nodeport-addresses defaults as kube-proxy per mode: every address for iptables, primary for nft and nftnl', () => {
    expect(resolveSettings(parsed(['--node', 'n'])).settings.nodePortAddresses).toEqual([]);
    expect(resolveSettings(parsed(['--node', 'n', '--backend', 'nft'])).settings.nodePortAddresses).toBe('primary');
    expect(resolveSettings(parsed(['--node', 'n', '--backend', 'nftnl'])).settings.nodePortAddresses).toBe('primary');
    expect(resolveSettings(parsed(['--node', 'n', '--backend', 'nft', '--nodeport-addresses', '10.0.0.0/8, 0.0.0.0/0'])).settings.nodePortAddresses).toEqual(['10.0.0.0/8', '0.0.0.0/0']);
    expect(resolveSettings(parsed(['--node', 'n', '--nodeport-addresses', 'primary'])).settings.nodePortAddresses).toBe('primary');
  });

  it.each([
    ['primary,10.0.0.0/8', "'primary' cannot be combined with CIDRs"],
    ['10.0.0.1/8', '"10.0.0.1/8" has host bits set'],
    ['eth0', '"eth0" is not a CIDR'],
  ])('refuses --nodeport-addresses %s', (value, message) => {
    expect(() => resolveSettings(parsed(['--node', 'n', '--nodeport-addresses', value]))).toThrow(message);
  });

  it('--service-cidr takes one CIDR per family', () => {
    expect(resolveSettings(parsed(['--node', 'n', '--service-cidr', '10.96.0.0/12,fd00:96::/112'])).settings.serviceCIDRs).toEqual(['10.96.0.0/12', 'fd00:96::/112']);
    expect(() => resolveSettings(parsed(['--node', 'n', '--service-cidr', '10.96.0.0/12,10.200.0.0/16']))).toThrow('more than one IPv4 CIDR');
    expect(() => resolveSettings(parsed(['--node', 'n', '--service-cidr', '10.96.0.1/12']))).toThrow('--service-cidr "10.96.0.1/12" has host bits set');
  });

  it('--no-localhost-nodeports turns kube-proxy --iptables-localhost-nodeports off', () => {
    expect(resolveSettings(parsed(['--node', 'n'])).settings.localhostNodePorts).toBe(true);
    expect(resolveSettings(parsed(['--node', 'n', '--no-localhost-nodeports'])).settings.localhostNodePorts).toBe(false);
  });
});
