/**
 * Comparing nft rulesets the way kube-proxy's nftables tests mean them. kube-proxy's goldens are
 * the `add …` commands it hands to nft (`mark set mark or 0x4000`); kpb writes the same commands
 * in nft's listing spelling (`meta mark set meta mark | 0x00004000`). Both are reduced to one
 * form: each table, set, map and chain with its spec, each chain's rules in order, each set's
 * elements as a set. Only spelling is forgiven.
 */

export interface NftNormal {
  /** `chain NAME`, `map NAME`, `set NAME`, `table` → the normalised `{ … }` spec ('' if none). */
  readonly objects: Map<string, string>;
  readonly rules: Map<string, string[]>;
  readonly elements: Map<string, Set<string>>;
}

/** nft's listing spelling → kube-proxy's input spelling, for what kpb writes. */
function normalRule(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .replace(/\bmeta mark\b/g, 'mark')
    .replace(/0x0*([0-9a-f]+)/g, (_, hex: string) => `0x${hex}`)
    .replace(/ == 0x0\b/g, ' == 0')
    .replace(/ \| /g, ' or ')
    .replace(/ \^ /g, ' xor ')
    .replace(/ & /g, ' and ')
    .replace(/ , /g, ', ')
    .trim();
}

/** A `{ … }` object spec without the defaults nft fills in. */
function normalSpec(spec: string): string {
  return spec.replace(/\s+/g, ' ').replace(/ policy accept ;/, '').trim();
}

/** Split `{ a, b }` element lists at top-level commas (outside braces and quotes). */
function splitElements(body: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === '{') depth++;
    else if (!quoted && c === '}') depth--;
    else if (!quoted && depth === 0 && c === ',') {
      out.push(body.slice(start, i));
      start = i + 1;
    }
  }
  out.push(body.slice(start));
  return out.map((e) => normalRule(e)).filter((e) => e !== '');
}

const ADD = /^add (table|chain|set|map|rule|element) (?:ip|ip6|inet) (\S+)(?: (\S+))?(?: (.*))?$/;

/** Parse `add …` commands (an nft script, or a kube-proxy golden) into normal form. */
export function normalNft(text: string): NftNormal {
  const out: NftNormal = { objects: new Map(), rules: new Map(), elements: new Map() };
  for (const raw of text.split('\n')) {
    const m = ADD.exec(raw.trim());
    if (!m) continue;
    const [, kind, , name = '', rest = ''] = m;
    if (kind === 'table') out.objects.set('table', normalSpec(`${name} ${rest}`));
    else if (kind === 'rule') out.rules.set(name, [...(out.rules.get(name) ?? []), normalRule(rest)]);
    else if (kind === 'element') {
      const set = out.elements.get(name) ?? new Set<string>();
      for (const e of splitElements(rest.replace(/^\{|\}$/g, ''))) set.add(e);
      out.elements.set(name, set);
    } else out.objects.set(`${kind} ${name}`, normalSpec(rest));
  }
  return out;
}

/** Every difference, one line each (empty when the two agree). */
export function diffNft(want: NftNormal, got: NftNormal): string[] {
  const out: string[] = [];
  for (const key of new Set([...want.objects.keys(), ...got.objects.keys()])) {
    const w = want.objects.get(key);
    const g = got.objects.get(key);
    if (w === undefined) out.push(`${key}: not in kube-proxy's`);
    else if (g === undefined) out.push(`${key}: missing`);
    else if (w !== g) out.push(`${key}: kube-proxy ${JSON.stringify(w)}, kpb ${JSON.stringify(g)}`);
  }
  for (const chain of new Set([...want.rules.keys(), ...got.rules.keys()])) {
    const w = want.rules.get(chain) ?? [];
    const g = got.rules.get(chain) ?? [];
    for (let i = 0; i < Math.max(w.length, g.length); i++) {
      if (w[i] !== g[i]) out.push(`rule ${chain} #${i + 1}: kube-proxy ${JSON.stringify(w[i] ?? null)}, kpb ${JSON.stringify(g[i] ?? null)}`);
    }
  }
  for (const set of new Set([...want.elements.keys(), ...got.elements.keys()])) {
    const w = want.elements.get(set) ?? new Set<string>();
    const g = got.elements.get(set) ?? new Set<string>();
    for (const e of w) if (!g.has(e)) out.push(`element ${set}: missing ${JSON.stringify(e)}`);
    for (const e of g) if (!w.has(e)) out.push(`element ${set}: not in kube-proxy's ${JSON.stringify(e)}`);
  }
  return out;
}
