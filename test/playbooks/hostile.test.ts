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

describe('credentials written into playbook URLs', () => {
  const where: [string, string, number, string][] = [
    [
      'proxy.url',
      `  proxy:\n    url: http://edge:pa55word@edge.internal/checkout/health\n`,
      7,
      'checks.proxy.url',
    ],
    [
      'upstream targets',
      `  upstream:\n    targets: [http://10.0.1.11:8080/healthz, "http://ops:pa55word@10.0.1.12:8080/healthz"]\n`,
      7,
      'checks.upstream.targets.1',
    ],
    [
      'load.prometheus',
      `  load:\n    prometheus: https://reader:pa55word@prometheus:9090\n`,
      7,
      'checks.load.prometheus',
    ],
    [
      'load.scrape',
      `  load:\n    scrape:\n      - http://10.0.1.11:9100/metrics\n      - http://scraper:pa55word@10.0.1.12:9100/metrics\n`,
      9,
      'checks.load.scrape.1',
    ],
    [
      'load.stub_status',
      `  load:\n    stub_status: [http://user@edge:8080/nginx_status]\n`,
      7,
      'checks.load.stub_status.0',
    ],
  ];

  it.each(where)('refuses user:pass@ in %s, pointing at the *_env way', (_what, block, line, field) => {
    const { playbook, problems } = parsePlaybook(`${HEAD}checks:\n${block}`, 'playbooks/shop.yaml');
    expect(playbook).toBeUndefined();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: 'playbooks/shop.yaml', line, field });
    expect(problems[0]!.message).toMatch(/credentials/);
    expect(problems[0]!.message).toMatch(/_env/);
    // The refusal names the field, never the secret.
    expect(formatProblems(problems)).not.toContain('pa55word');
  });

  it('keeps URLs without userinfo, @ in a path included', () => {
    const block = `  load:\n    prometheus: http://prometheus:9090/prefix/@team\n`;
    expect(parsePlaybook(`${HEAD}checks:\n${block}`, 'shop.yaml').playbook).toBeDefined();
  });
});
