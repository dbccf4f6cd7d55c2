import { describe, expect, it } from 'vitest';
import { renderRuleset, rulesetText } from '../src/render.ts';
import { parseSave } from '../src/saved.ts';
import { diffCanonical, diffSaved } from '../src/verify.ts';
import { bigCluster, planOf } from './fixtures.ts';

describe('diffSaved (verify without canonical text)', () => {
  const rendered = renderRuleset(planOf(bigCluster(50, 3)));
  const text = rulesetText(rendered);
  const lines = text.split('\n');

  it('finds nothing in a save of exactly the rendered ruleset', () => {
    expect(diffSaved(rendered, parseSave(text))).toEqual([]);
  });

  it('lists the same differences as the canonical-text comparison', () => {
    const ruleAt = lines.findIndex((l) => l.startsWith('-A KUBE-SEP-'));
    const chainAt = lines.findIndex((l) => l.startsWith(':KUBE-SEP-'));
    const edited = lines.filter((_, i) => i !== ruleAt && i !== chainAt);
    edited.splice(edited.indexOf('COMMIT', edited.indexOf('*nat')), 0, '-A KUBE-SERVICES -j KUBE-MARK-MASQ');
    const got = diffSaved(rendered, parseSave(edited.join('\n')));
    expect(got.length).toBeGreaterThanOrEqual(2);
    expect(got).toEqual(diffCanonical(text, edited.join('\n')));
  });
});
