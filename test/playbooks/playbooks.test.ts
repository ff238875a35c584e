import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPlaybooks, parsePlaybook, validatePlaybooks } from '../../src/playbooks/load.js';
import { playbookJsonSchema } from '../../src/playbooks/schema.js';

const VALID = `service: shop
match:
  pagerduty_services: [P123]
checks:
  upstream:
    targets: [http://127.0.0.1:9/healthz]
`;

describe('playbooks', () => {
  it('the examples in playbooks/ are valid', async () => {
    const set = await loadPlaybooks('playbooks');
    expect([...set.keys()].sort()).toEqual(['checkout-api', 'search-web']);
    expect(set.get('checkout-api')?.checks.database).toMatchObject({ url_env: 'CHECKOUT_DB_URL' });
  });

  it('playbooks/schema.json is generated from the schema (regenerate: npm run schema)', () => {
    const onDisk = JSON.parse(readFileSync('playbooks/schema.json', 'utf8'));
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(playbookJsonSchema())));
  });

  it('fills defaults', () => {
    const { playbook } = parsePlaybook(VALID, 'shop.yaml');
    expect(playbook?.timeouts).toEqual({ check_ms: 5000, total_ms: 15000 });
    expect(playbook?.checks.upstream?.probes).toBe(3);
  });

  it('rejects an unknown field, naming file, line and field', () => {
    const text = VALID.replace('  upstream:\n', '  upstream:\n    tragets: [x]\n');
    const { problems } = parsePlaybook(text, 'shop.yaml');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: 'shop.yaml', line: 6, field: 'checks.upstream.tragets' });
    expect(problems[0]!.message).toMatch(/unknown field "tragets"/);
  });

  it('points a bad value at its own line', () => {
    const text = `${VALID}timeouts:\n  check_ms: fast\n`;
    const { problems } = parsePlaybook(text, 'shop.yaml');
    expect(problems[0]).toMatchObject({ line: 8, field: 'timeouts.check_ms' });
  });

  it('refuses a secret written into a playbook where an env var name belongs', () => {
    const text = `${VALID}  database:\n    kind: postgres\n    url_env: postgres://user:pw@db/app\n`;
    const { problems } = parsePlaybook(text, 'shop.yaml');
    expect(problems[0]).toMatchObject({ field: 'checks.database.url_env', line: 9 });
  });

  it('reports YAML syntax errors with their line', () => {
    const { problems } = parsePlaybook('service: shop\nmatch: [unclosed\n', 'bad.yaml');
    expect(problems[0]!.field).toBe('(yaml)');
    expect(problems[0]!.line).toBeGreaterThanOrEqual(2);
  });

  it('rejects the same service defined twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-pb-'));
    writeFileSync(join(dir, 'a.yaml'), VALID);
    writeFileSync(join(dir, 'b.yaml'), VALID);
    const { problems } = await validatePlaybooks(dir);
    expect(problems[0]).toMatchObject({ file: join(dir, 'b.yaml'), field: 'service' });
  });

  it('`gatewatch playbooks validate` exits 2 with file:line: field on stderr', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-pb-'));
    writeFileSync(join(dir, 'shop.yaml'), VALID.replace('match:', 'matchh:'));
    const res = spawnSync(process.execPath, ['bin/gatewatch.js', 'playbooks', 'validate', dir], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(res.status).toBe(2);
    expect(res.stderr).toContain(`${join(dir, 'shop.yaml')}:2:1: matchh: unknown field "matchh"`);
    const ok = spawnSync(process.execPath, ['bin/gatewatch.js', 'playbooks', 'validate', 'playbooks'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/2 playbook\(s\) valid/);
  });
});
