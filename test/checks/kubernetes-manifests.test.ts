// deploy/kubernetes checked with no cluster: every document parses, each
// kind's fields are valid for its apiVersion (strict zod schemas of the fields
// these manifests use: an unknown or misspelt field fails, as `kubectl apply
// --validate=strict` would), the references between objects hold, the RBAC is
// read-only, and it suffices: every request the kubernetes check makes is one
// the Role allows.
//
// Why zod and not @kubernetes/client-node or kubernetes-models: no new
// dependency for one test, and a strict schema rejects unknown fields, which
// the TypeScript types of those packages cannot do at runtime.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { runChecks } from '../../src/checks/runner.js';
import { silentLogger } from '../../src/log.js';
import { PlaybookSchema } from '../../src/playbooks/schema.js';
import { startFakeKubeApiServer } from '../helpers/fake-kube-apiserver.js';
import { playbook } from '../helpers/gatewatch.js';
import { IN_PROGRESS, worldObjects } from '../helpers/kube-world.js';

const DIR = fileURLToPath(new URL('../../deploy/kubernetes/', import.meta.url));

// ---- the fields these manifests use, per apiVersion/kind ------------------------------

const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
  .max(63);
const dnsSubdomain = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/)
  .max(253);
const labelValue = z
  .string()
  .regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/)
  .max(63);
const labels = z.record(
  z.string().regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/),
  labelValue,
);
const quantity = z.string().regex(/^\d+(\.\d+)?(m|Ki|Mi|Gi|k|M|G)?$/);
/** IANA_SVC_NAME: what a named port may be. */
const portName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
  .max(15);
const port = z.number().int().min(1).max(65535);

const metadata = (namespaced: boolean) =>
  z.strictObject({
    name: dnsSubdomain,
    namespace: namespaced ? dnsLabel : z.never().optional(),
    labels: labels.optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  });

const probe = z.strictObject({
  httpGet: z.strictObject({ path: z.string().startsWith('/'), port: z.union([port, portName]) }),
  periodSeconds: z.number().int().positive().optional(),
  initialDelaySeconds: z.number().int().nonnegative().optional(),
  failureThreshold: z.number().int().positive().optional(),
});

const container = z.strictObject({
  name: dnsLabel,
  image: z.string().min(1),
  args: z.array(z.string()).optional(),
  command: z.array(z.string()).optional(),
  env: z
    .array(z.strictObject({ name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), value: z.string() }))
    .optional(),
  envFrom: z
    .array(
      z.strictObject({
        configMapRef: z.strictObject({ name: dnsSubdomain }).optional(),
        secretRef: z.strictObject({ name: dnsSubdomain }).optional(),
      }),
    )
    .optional(),
  ports: z
    .array(z.strictObject({ name: portName, containerPort: port, protocol: z.enum(['TCP', 'UDP', 'SCTP']) }))
    .optional(),
  readinessProbe: probe.optional(),
  livenessProbe: probe.optional(),
  lifecycle: z
    .strictObject({
      preStop: z.strictObject({ exec: z.strictObject({ command: z.array(z.string()).min(1) }) }),
    })
    .optional(),
  resources: z.strictObject({
    requests: z.strictObject({ cpu: quantity.optional(), memory: quantity.optional() }).optional(),
    limits: z.strictObject({ cpu: quantity.optional(), memory: quantity.optional() }).optional(),
  }),
  securityContext: z.strictObject({
    allowPrivilegeEscalation: z.boolean(),
    readOnlyRootFilesystem: z.boolean(),
    capabilities: z.strictObject({ drop: z.array(z.string()) }),
  }),
  volumeMounts: z
    .array(
      z.strictObject({
        name: dnsLabel,
        mountPath: z.string().startsWith('/'),
        readOnly: z.boolean().optional(),
      }),
    )
    .optional(),
});

const podSpec = z.strictObject({
  serviceAccountName: dnsSubdomain.optional(),
  automountServiceAccountToken: z.boolean(),
  terminationGracePeriodSeconds: z.number().int().nonnegative().optional(),
  securityContext: z.strictObject({
    runAsNonRoot: z.boolean(),
    runAsUser: z.number().int().nonnegative(),
    seccompProfile: z.strictObject({ type: z.enum(['RuntimeDefault', 'Localhost', 'Unconfined']) }),
  }),
  containers: z.array(container).min(1),
  volumes: z
    .array(
      z.strictObject({
        name: dnsLabel,
        configMap: z.strictObject({ name: dnsSubdomain }).optional(),
        emptyDir: z.strictObject({}).optional(),
      }),
    )
    .optional(),
});

const SCHEMAS = {
  'v1/Namespace': z.strictObject({
    apiVersion: z.literal('v1'),
    kind: z.literal('Namespace'),
    metadata: metadata(false),
  }),
  'v1/ServiceAccount': z.strictObject({
    apiVersion: z.literal('v1'),
    kind: z.literal('ServiceAccount'),
    metadata: metadata(true),
    automountServiceAccountToken: z.boolean().optional(),
  }),
  'v1/ConfigMap': z.strictObject({
    apiVersion: z.literal('v1'),
    kind: z.literal('ConfigMap'),
    metadata: metadata(true),
    data: z.record(z.string().regex(/^[-._a-zA-Z0-9]+$/), z.string()),
  }),
  'v1/Service': z.strictObject({
    apiVersion: z.literal('v1'),
    kind: z.literal('Service'),
    metadata: metadata(true),
    spec: z.strictObject({
      selector: labels,
      ports: z.array(
        z.strictObject({
          name: portName,
          port,
          targetPort: z.union([port, portName]),
          protocol: z.enum(['TCP', 'UDP', 'SCTP']),
        }),
      ),
    }),
  }),
  'apps/v1/Deployment': z.strictObject({
    apiVersion: z.literal('apps/v1'),
    kind: z.literal('Deployment'),
    metadata: metadata(true),
    spec: z.strictObject({
      replicas: z.number().int().nonnegative(),
      selector: z.strictObject({ matchLabels: labels }),
      strategy: z
        .strictObject({
          type: z.enum(['RollingUpdate', 'Recreate']),
          rollingUpdate: z
            .strictObject({
              maxUnavailable: z.union([z.number(), z.string()]),
              maxSurge: z.union([z.number(), z.string()]),
            })
            .optional(),
        })
        .optional(),
      template: z.strictObject({ metadata: z.strictObject({ labels }), spec: podSpec }),
    }),
  }),
  'rbac.authorization.k8s.io/v1/Role': z.strictObject({
    apiVersion: z.literal('rbac.authorization.k8s.io/v1'),
    kind: z.literal('Role'),
    metadata: metadata(true),
    rules: z.array(
      z.strictObject({
        apiGroups: z.array(z.string()),
        resources: z.array(z.string().min(1)),
        verbs: z.array(
          z.enum(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection']),
        ),
      }),
    ),
  }),
  'rbac.authorization.k8s.io/v1/RoleBinding': z.strictObject({
    apiVersion: z.literal('rbac.authorization.k8s.io/v1'),
    kind: z.literal('RoleBinding'),
    metadata: metadata(true),
    roleRef: z.strictObject({
      apiGroup: z.literal('rbac.authorization.k8s.io'),
      kind: z.enum(['Role', 'ClusterRole']),
      name: dnsSubdomain,
    }),
    subjects: z.array(
      z.strictObject({
        kind: z.enum(['ServiceAccount', 'User', 'Group']),
        name: z.string(),
        namespace: dnsLabel.optional(),
      }),
    ),
  }),
} as const;

/** Manifests are walked field by field after the schemas have validated them. */
// biome-ignore lint/suspicious/noExplicitAny: YAML already checked by the strict schemas above
type Loose = any;

type Doc = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [k: string]: unknown;
};

function load(): { file: string; doc: Doc }[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((d) => {
        if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`);
        return { file, doc: d.toJS() as Doc };
      }),
    );
}

const docs = load();
const find = <T = Doc>(kind: string, name?: string) =>
  docs
    .filter(({ doc }) => doc.kind === kind && (!name || doc.metadata.name === name))
    .map(({ doc }) => doc as T);

describe('deploy/kubernetes manifests', () => {
  it('parse, and every document is a kind these tests know, valid for its apiVersion', () => {
    expect(docs.length).toBeGreaterThanOrEqual(9);
    for (const { file, doc } of docs) {
      const schema = SCHEMAS[`${doc.apiVersion}/${doc.kind}` as keyof typeof SCHEMAS];
      expect(schema, `${file}: ${doc.apiVersion}/${doc.kind}`).toBeDefined();
      const r = schema.safeParse(doc);
      expect(
        r.success,
        `${file} ${doc.kind}/${doc.metadata?.name}: ${r.error?.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
      ).toBe(true);
    }
  });

  it('the schemas can fail: a misspelt field, a bad port name and a write verb are refused', () => {
    const [worker] = find('Deployment', 'gatewatch-worker');
    const bad = structuredClone(worker) as Loose;
    bad.spec.template.spec.containers[0].readinesProbe = bad.spec.template.spec.containers[0].readinessProbe;
    expect(SCHEMAS['apps/v1/Deployment'].safeParse(bad).success).toBe(false);
    const badPort = structuredClone(worker) as Loose;
    badPort.spec.template.spec.containers[0].ports[0].name = 'metrics_port_too_long';
    expect(SCHEMAS['apps/v1/Deployment'].safeParse(badPort).success).toBe(false);
    const [role] = find('Role');
    const writer = structuredClone(role) as Loose;
    writer.rules[0].verbs.push('escalate');
    expect(SCHEMAS['rbac.authorization.k8s.io/v1/Role'].safeParse(writer).success).toBe(false);
  });

  it('kustomization.yaml lists every manifest, and only those', () => {
    const k = parseYaml(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8')) as {
      apiVersion: string;
      resources: string[];
    };
    expect(k.apiVersion).toBe('kustomize.config.k8s.io/v1beta1');
    const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...k.resources].sort()).toEqual(files.sort());
  });

  it('serve and worker run the one image with their command; selectors, ports and volumes refer to what exists', () => {
    const deployments = find<Loose>('Deployment');
    expect(deployments.map((d) => d.spec.template.spec.containers[0].args)).toEqual([['serve'], ['worker']]);
    for (const d of deployments) {
      const spec = d.spec.template.spec;
      for (const [k, v] of Object.entries(d.spec.selector.matchLabels))
        expect(d.spec.template.metadata.labels[k]).toBe(v);
      for (const c of spec.containers) {
        const named = new Set((c.ports ?? []).map((p: { name: string }) => p.name));
        for (const p of [c.readinessProbe, c.livenessProbe])
          if (typeof p.httpGet.port === 'string') expect(named).toContain(p.httpGet.port);
        const volumes = new Set((spec.volumes ?? []).map((v: { name: string }) => v.name));
        for (const m of c.volumeMounts ?? []) expect(volumes).toContain(m.name);
        for (const e of c.envFrom ?? [])
          if (e.configMapRef) expect(find('ConfigMap', e.configMapRef.name)).toHaveLength(1);
      }
      for (const v of spec.volumes ?? [])
        if (v.configMap) expect(find('ConfigMap', v.configMap.name)).toHaveLength(1);
    }
    const [svc] = find<Loose>('Service');
    const [serve] = find<Loose>('Deployment', 'gatewatch-serve');
    for (const [k, v] of Object.entries(svc.spec.selector))
      expect(serve.spec.template.metadata.labels[k]).toBe(v);
    expect(serve.spec.template.spec.containers[0].ports.map((p: { name: string }) => p.name)).toContain(
      svc.spec.ports[0].targetPort,
    );
  });

  it('only the workers carry an API token, as the ServiceAccount the RoleBinding names', () => {
    const [serve] = find<Loose>('Deployment', 'gatewatch-serve');
    const [worker] = find<Loose>('Deployment', 'gatewatch-worker');
    expect(serve.spec.template.spec.automountServiceAccountToken).toBe(false);
    expect(worker.spec.template.spec.automountServiceAccountToken).toBe(true);
    const sa = worker.spec.template.spec.serviceAccountName;
    expect(find('ServiceAccount', sa)).toHaveLength(1);
    const [binding] = find<Loose>('RoleBinding');
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: sa, namespace: worker.metadata.namespace },
    ]);
    expect(
      find('Role', binding.roleRef.name).filter((r) => r.metadata.namespace === binding.metadata.namespace),
    ).toHaveLength(1);
  });

  it('the Role is read-only: get and list on the resources the issue names, no secrets', () => {
    const [role] = find<Loose>('Role');
    const allowed = role.rules.flatMap((r: { apiGroups: string[]; resources: string[]; verbs: string[] }) =>
      r.apiGroups.flatMap((g) => r.resources.map((res) => ({ g, res, verbs: [...r.verbs].sort() }))),
    );
    for (const a of allowed) expect(a.verbs).toEqual(['get', 'list']);
    expect(allowed.map((a: { res: string }) => a.res)).not.toContain('secrets');
    const names = allowed.map((a: { g: string; res: string }) => (a.g ? `${a.res}.${a.g}` : a.res)).sort();
    for (const needed of [
      'pods',
      'events',
      'endpointslices.discovery.k8s.io',
      'deployments.apps',
      'replicasets.apps',
      'horizontalpodautoscalers.autoscaling',
    ])
      expect(names).toContain(needed);
  });

  it('the playbook shipped in the ConfigMap is valid', () => {
    const [cm] = find<Loose>('ConfigMap', 'gatewatch-playbooks');
    for (const [file, text] of Object.entries(cm.data)) {
      const r = PlaybookSchema.safeParse(parseYaml(text as string));
      expect(r.success, `${file}: ${r.error?.message}`).toBe(true);
    }
  });

  describe('the Role suffices', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-kube-rbac-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('every request the kubernetes check makes is a verb and resource the Role grants', async () => {
      const fake = await startFakeKubeApiServer();
      try {
        fake.add(
          ...worldObjects({
            namespace: 'shop',
            service: 'checkout-api',
            rollout: {
              revision: 2,
              hash: 'aaa111',
              oldHash: 'bbb222',
              startedMinutesAgo: 5,
              desired: 2,
              updated: 1,
              available: 2,
              replicas: 3,
              progressing: IN_PROGRESS('checkout-api-aaa111'),
            },
            pods: [
              {
                name: 'checkout-api-aaa111-a',
                ip: '10.0.0.1',
                hash: 'aaa111',
                ready: true,
                memoryUsed: '100Mi',
              },
              { name: 'checkout-api-bbb222-b', ip: '10.0.0.2', hash: 'bbb222', ready: true },
            ],
            hpa: { current: 2, desired: 2, max: 5, cpuPercent: 40, targetPercent: 60 },
          }),
        );
        const [result] = await runChecks(
          playbook({
            service: 'checkout-api',
            checks: {
              kubernetes: {
                namespace: 'shop',
                service: 'checkout-api',
                hpa: 'checkout-api',
                kubeconfig_env: 'KC',
              },
            },
          }),
          { log: silentLogger(), env: { KC: fake.kubeconfig(dir) }, now: Date.now, onsetAt: Date.now() },
        );
        expect(result!.status).not.toBe('error');
        const [role] = find<Loose>('Role');
        const grants = new Set<string>(
          role.rules.flatMap((r: { apiGroups: string[]; resources: string[]; verbs: string[] }) =>
            r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${v} ${g}/${res}`))),
          ),
        );
        const made = new Set(
          fake.requests.map((q) => {
            const m = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)\/namespaces\/[^/]+\/([^/]+)(\/[^/]+)?$/.exec(
              q.path,
            )!;
            return `${m[3] ? 'get' : 'list'} ${m[1] ?? ''}/${m[2]}`;
          }),
        );
        expect(made.size).toBeGreaterThanOrEqual(6);
        for (const r of made) expect(grants, r).toContain(r);
      } finally {
        await fake.close();
      }
    });
  });
});
