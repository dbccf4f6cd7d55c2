/**
 * What rendered rule text may contain. Every quoted string (comments) and every chain, set and
 * map name must match a strict pattern of the characters validated values can have (DNS-1123
 * names, IANA port names, canonical IPs, digits, kpb's fixed words) — so no input, however
 * hostile, can smuggle a quote, newline, `;`, `{`, `#` or a stray option into the tool's input.
 */
import type { BackendKind } from './backends.ts';

/** Characters of validated values plus the fixed words of comments (`ns/svc:port -> 10.0.0.1:80`). */
const QUOTED = /^"[A-Za-z0-9 ._/:,>-]*"$/;
/** kube-proxy's fixed comments that fall outside QUOTED (constants in the renderers, no input in them). */
const FIXED_COMMENTS: ReadonlySet<string> = new Set([
  '"kubernetes service nodeports; NOTE: this must be the last rule in this chain"',
  '"helper for @no-endpoint-services / @no-endpoint-nodeports"',
]);
/** iptables chain names: kube-proxy's `KUBE-…` hashes and the built-in chains. */
const IPTABLES_CHAIN = /^[A-Z][A-Z0-9-]{0,27}$/;
/** nft object names (as @kpb/backend-nft's NAME_RE, plus the kernel's 255-byte limit). */
const NFT_NAME = /^[A-Za-z_.][A-Za-z0-9_./-]{0,254}$/;
/** Everything: printable ASCII and newlines only. */
const PRINTABLE = /^[\x20-\x7e\n]*$/;

export interface RenderProblem {
  readonly line: number;
  readonly text: string;
  readonly why: string;
}

/** Problems with one backend's rendered text (empty: clean). */
export function checkRenderedText(kind: BackendKind, text: string): RenderProblem[] {
  const problems: RenderProblem[] = [];
  if (!PRINTABLE.test(text)) {
    const i = text.search(/[^\x20-\x7e\n]/);
    problems.push({ line: text.slice(0, i).split('\n').length, text: JSON.stringify(text.slice(Math.max(0, i - 20), i + 20)), why: 'non-printable character' });
  }
  const lines = text.split('\n');
  for (let n = 0; n < lines.length && problems.length < 20; n++) {
    const line = lines[n]!;
    const quoted = line.match(/"[^"]*"/g) ?? [];
    for (const q of quoted) {
      if (!QUOTED.test(q) && !FIXED_COMMENTS.has(q)) problems.push({ line: n + 1, text: line, why: `quoted string ${q} has unexpected characters` });
      if (kind.startsWith('iptables') ? q.length - 2 > 256 : q.length - 2 > 128) problems.push({ line: n + 1, text: line, why: `comment ${q.length - 2} characters long` });
    }
    if ((line.replace(/"[^"]*"/g, '').match(/"/g) ?? []).length) problems.push({ line: n + 1, text: line, why: 'unbalanced quote' });
    const names: string[] = [];
    if (kind.startsWith('iptables')) {
      if (line.startsWith(':')) names.push(line.slice(1).split(' ')[0]!);
      for (const m of line.matchAll(/ -[jg] (\S+)/g)) names.push(m[1]!);
      if (line.startsWith('-A ')) names.push(line.split(' ')[1]!);
      for (const nm of names) if (!IPTABLES_CHAIN.test(nm)) problems.push({ line: n + 1, text: line, why: `chain name ${JSON.stringify(nm)}` });
      if (/#/.test(line.replace(/"[^"]*"/g, ''))) problems.push({ line: n + 1, text: line, why: '# outside a comment' });
    } else {
      const bare = line.replace(/"[^"]*"/g, '""');
      for (const m of bare.matchAll(/\b(?:chain|set|map|element|rule) ip6? kube-proxy (\S+)/g)) names.push(m[1]!);
      for (const m of bare.matchAll(/\b(?:jump|goto) ([^\s,;}]+)/g)) names.push(m[1]!);
      for (const m of bare.matchAll(/@([^\s,;}]+)/g)) names.push(m[1]!);
      for (const nm of names) if (!NFT_NAME.test(nm)) problems.push({ line: n + 1, text: line, why: `object name ${JSON.stringify(nm)}` });
      if (/[#$`\\]/.test(bare)) problems.push({ line: n + 1, text: line, why: 'shell/nft metacharacter outside a comment' });
    }
  }
  return problems;
}
