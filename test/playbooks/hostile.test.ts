import { describe, expect, it } from 'vitest';
import { formatProblems, parsePlaybook } from '../../src/playbooks/load.js';

const HEAD = `service: shop
description: shop behind the edge
match:
  pagerduty_services: [P123]
`;

describe('playbook values that would hurt gatewatch', () => {
  it.each([
    ['a backreference', '(a+)\\\\1'],
    ['a lookahead', '(?=502)502'],
    ['a program too large to run per alert', '(.*a){1000}'],
    ['an overlong pattern', 'x'.repeat(600)],
  ])('rejects %s as a title pattern, at its file and line', (_what, pattern) => {
    const { playbook, problems } = parsePlaybook(`${HEAD}  title: "${pattern}"\n`, 'playbooks/shop.yaml');
    expect(playbook).toBeUndefined();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: 'playbooks/shop.yaml', line: 5, field: 'match.title' });
    expect(formatProblems(problems)).toMatch(/^playbooks\/shop\.yaml:5:\d+: match\.title: /);
  });

  it('keeps patterns a backtracking engine chokes on but RE2 runs in linear time', () => {
    const { playbook } = parsePlaybook(`${HEAD}  title: "(a+)+$|checkout.*(502|Bad Gateway)"\n`, 'shop.yaml');
    expect(playbook?.match.title).toBe('(a+)+$|checkout.*(502|Bad Gateway)');
  });
});
