import { listRuleset } from '@kpb/native';
const l = await listRuleset(process.argv[2]!, (process.argv[3] ?? 'ip') as 'ip', 'kube-proxy');
for (const s of l.sets) if (/service-ips-3|service-nodeports-1$|hairpin|endpoints|reject-ips/.test(s.name)) { const { elements, ...rest } = s; console.log(JSON.stringify({ ...rest, elements: elements.slice(0, 2) })); }
for (const c of l.chains) if (c.name === 'services' || c.name === 'masquerading') console.log(JSON.stringify(c.rules.slice(1, 2).map((r) => r.exprs)), JSON.stringify(c.rules[0]!.exprs));
