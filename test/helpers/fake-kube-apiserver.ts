// A faithful fake of the Kubernetes API server, for the parts gatewatch reads:
// namespaced GET and LIST of pods, events, endpointslices, deployments,
// replicasets, horizontalpodautoscalers (autoscaling/v2) and metrics.k8s.io
// pods, with labelSelector / fieldSelector / limit, bearer-token auth, and
// errors as the real server sends them (a `Status` object with code 401, 403,
// 404 or 400). No cluster can run here; the check's client is the same one
// that talks to a real API server.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { requireBinary } from './binaries.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/kubernetes/', import.meta.url));

/** A Kubernetes object as JSON; only metadata is looked into. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

interface ResourceType {
  /** The path segment: pods, endpointslices, … */
  plural: string;
  group: string;
  version: string;
  kind: string;
}

const RESOURCES: readonly ResourceType[] = [
  { plural: 'pods', group: '', version: 'v1', kind: 'Pod' },
  { plural: 'events', group: '', version: 'v1', kind: 'Event' },
  { plural: 'services', group: '', version: 'v1', kind: 'Service' },
  { plural: 'endpointslices', group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice' },
  { plural: 'deployments', group: 'apps', version: 'v1', kind: 'Deployment' },
  { plural: 'replicasets', group: 'apps', version: 'v1', kind: 'ReplicaSet' },
  {
    plural: 'horizontalpodautoscalers',
    group: 'autoscaling',
    version: 'v2',
    kind: 'HorizontalPodAutoscaler',
  },
  { plural: 'pods', group: 'metrics.k8s.io', version: 'v1beta1', kind: 'PodMetrics' },
];

/** "pods", "deployments.apps", "pods.metrics.k8s.io": how the API server names a resource in its messages. */
export type ResourceName = string;
const resourceName = (r: ResourceType): ResourceName => (r.group ? `${r.plural}.${r.group}` : r.plural);

function byKind(kind: string): ResourceType {
  const r = RESOURCES.find((x) => x.kind === kind);
  if (!r) throw new Error(`the fake API server does not serve kind ${kind}`);
  return r;
}

/** A fixture file from test/fixtures/kubernetes, parsed. */
export function fixture<T = KubeObject>(file: string): T {
  return JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as T;
}

/** The items of a fixture list, each with the kind its list implies (items in a list omit it). */
export function fixtureItems(file: string): KubeObject[] {
  const list = fixture<{ kind: string; apiVersion: string; items: KubeObject[] }>(file);
  const kind = list.kind.replace(/List$/, '');
  return list.items.map((i) => ({ apiVersion: list.apiVersion, kind, ...i }));
}

// ---- selectors, as the API server parses them --------------------------------------------

type Requirement = (labels: Record<string, string>) => boolean;

function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out.map((x) => x.trim()).filter(Boolean);
}

/** A label selector (`a=b,c!=d,e in (x,y),f notin (z),g,!h`); throws on a malformed one, as the server does (400). */
export function parseLabelSelector(s: string): Requirement[] {
  return splitTop(s).map((term) => {
    let m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(term);
    if (m) {
      const [, key, op, value] = m as unknown as [string, string, string, string];
      return op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
    }
    m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (m) {
      const [, key, op, list] = m as unknown as [string, string, string, string];
      const values = list.split(',').map((v) => v.trim());
      return op === 'in'
        ? (l) => l[key] !== undefined && values.includes(l[key]!)
        : (l) => l[key] === undefined || !values.includes(l[key]!);
    }
    m = /^(!?)([\w./-]+)$/.exec(term);
    if (m) return m[1] ? (l) => l[m![2]!] === undefined : (l) => l[m![2]!] !== undefined;
    throw new Error(`unable to parse requirement: ${term}`);
  });
}

/** Fields each resource supports in a fieldSelector (the real server rejects others with 400). */
const FIELDS: Record<string, readonly string[]> = {
  pods: ['metadata.name', 'metadata.namespace', 'status.podIP', 'status.phase', 'spec.nodeName'],
  events: [
    'metadata.name',
    'metadata.namespace',
    'involvedObject.kind',
    'involvedObject.name',
    'involvedObject.namespace',
    'involvedObject.uid',
    'reason',
    'type',
  ],
};

function fieldValue(obj: unknown, path: string): string | undefined {
  let v: unknown = obj;
  for (const p of path.split('.'))
    v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  return v === undefined || v === null ? undefined : String(v);
}

function parseFieldSelector(s: string, plural: string): ((o: KubeObject) => boolean)[] {
  const allowed = FIELDS[plural] ?? ['metadata.name', 'metadata.namespace'];
  return splitTop(s).map((term) => {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw new Error(`invalid selector: '${term}'; can't understand '${term}'`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    if (!allowed.includes(field)) throw new Error(`field label not supported: ${field}`);
    return op === '!=' ? (o) => fieldValue(o, field) !== value : (o) => fieldValue(o, field) === value;
  });
}

// ---- the server -------------------------------------------------------------------------

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
}

export interface FakeKubeApiServer {
  url: string;
  /** The PEM that signs its certificate (https only). */
  ca?: string;
  token: string;
  requests: RecordedRequest[];
  /** Stores objects (a kind each; `metadata.namespace` required) or replaces one of the same name. */
  add(...objects: KubeObject[]): void;
  /** Answers 403 Forbidden to every request on this resource ("pods", "horizontalpodautoscalers.autoscaling"). */
  forbid(resource: ResourceName): void;
  /** Never answers requests on this resource (an overloaded or partitioned API server). */
  hang(resource: ResourceName): void;
  /** Answers requests on this resource with a list that never ends (a runaway or hostile server). */
  flood(resource: ResourceName): void;
  /** Connections open right now. */
  openConnections(): number;
  /** A kubeconfig for this server, written into `dir`; returns its path. */
  kubeconfig(dir: string, opts?: { token?: string; context?: string; extraContexts?: string[] }): string;
  close(): Promise<void>;
}

function status(res: ServerResponse, code: number, reason: string, message: string, details?: object): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      ...(details ? { details } : {}),
      code,
    }),
  );
}

function selfSigned(dir: string): { key: string; cert: string } {
  const openssl = requireBinary('openssl');
  const key = join(dir, 'apiserver.key');
  const cert = join(dir, 'apiserver.crt');
  execFileSync(
    openssl,
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=kube-apiserver',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc',
    ],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
}

/**
 * Starts the fake on a free port. With `tls` (and `dir` for its key) it serves
 * HTTPS with a self-signed certificate whose PEM is `ca`, as an in-cluster
 * client sees the API server.
 */
export async function startFakeKubeApiServer(
  opts: { token?: string; tls?: { dir: string }; serviceAccount?: string } = {},
): Promise<FakeKubeApiServer> {
  const token = opts.token ?? 'fake-kube-token-0123456789abcdef';
  const user = `system:serviceaccount:${opts.serviceAccount ?? 'gatewatch:gatewatch'}`;
  const store = new Map<string, KubeObject>();
  const forbidden = new Set<ResourceName>();
  const hanging = new Set<ResourceName>();
  const flooding = new Set<ResourceName>();
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let resourceVersion = 1000;

  const keyOf = (r: ResourceType, ns: string, name: string) => `${resourceName(r)}/${ns}/${name}`;

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query,
      authorization: req.headers.authorization,
    });
    if (req.headers.authorization !== `Bearer ${token}`)
      return status(res, 401, 'Unauthorized', 'Unauthorized');
    if (req.method !== 'GET')
      return status(
        res,
        405,
        'MethodNotAllowed',
        'the server does not allow this method on the requested resource',
      );
    const m =
      /^\/api\/(v1)\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/.exec(url.pathname) ??
      /^\/apis\/([^/]+\/[^/]+)\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m) return status(res, 404, 'NotFound', 'the server could not find the requested resource');
    const [, gv, ns, plural, name] = m as unknown as [string, string, string, string, string | undefined];
    const [group, version] = gv === 'v1' ? ['', 'v1'] : (gv.split('/') as [string, string]);
    const type = RESOURCES.find((r) => r.plural === plural && r.group === group && r.version === version);
    if (!type) return status(res, 404, 'NotFound', 'the server could not find the requested resource');
    const rname = resourceName(type);
    const verb = name ? 'get' : 'list';
    if (forbidden.has(rname))
      return status(
        res,
        403,
        'Forbidden',
        `${rname} ${name ? `"${name}" ` : ''}is forbidden: User "${user}" cannot ${verb} resource "${type.plural}" in API group "${type.group}" in the namespace "${ns}"`,
        { ...(name ? { name } : {}), group: type.group, kind: type.plural },
      );
    if (hanging.has(rname)) return; // the socket stays open until the client gives up
    if (flooding.has(rname)) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`{"kind":"${type.kind}List","apiVersion":"v1","metadata":{},"items":[`);
      const item = `${JSON.stringify({ metadata: { name: 'x'.repeat(200) } })},`.repeat(200);
      const more = () => {
        while (!res.destroyed && res.write(item)) {}
        if (!res.destroyed) res.once('drain', more);
      };
      return more();
    }
    if (name) {
      const obj = store.get(keyOf(type, ns, name));
      if (!obj)
        return status(res, 404, 'NotFound', `${rname} "${name}" not found`, {
          name,
          group: type.group,
          kind: type.plural,
        });
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(obj));
    }
    let matches: ((o: KubeObject) => boolean)[];
    try {
      const labels = query.labelSelector ? parseLabelSelector(query.labelSelector) : [];
      const fields = query.fieldSelector ? parseFieldSelector(query.fieldSelector, type.plural) : [];
      matches = [(o) => labels.every((req) => req(o.metadata.labels ?? {})), ...fields];
    } catch (err) {
      return status(res, 400, 'BadRequest', (err as Error).message);
    }
    const prefix = `${rname}/${ns}/`;
    const all = [...store]
      .filter(([k]) => k.startsWith(prefix))
      .map(([, o]) => o)
      .filter((o) => matches.every((f) => f(o)));
    const start = query.continue ? Number(Buffer.from(query.continue, 'base64').toString()) : 0;
    const limit = query.limit ? Number(query.limit) : all.length;
    const page = all.slice(start, start + limit);
    const next =
      start + limit < all.length ? Buffer.from(String(start + limit)).toString('base64') : undefined;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: `${type.kind}List`,
        apiVersion: type.group ? `${type.group}/${type.version}` : type.version,
        metadata: { resourceVersion: String(resourceVersion), ...(next ? { continue: next } : {}) },
        // Items in a list carry no kind or apiVersion.
        items: page.map(({ kind: _k, apiVersion: _a, ...rest }) => rest),
      }),
    );
  };

  const tls = opts.tls ? selfSigned(opts.tls.dir) : undefined;
  const server = tls ? createHttpsServer({ key: tls.key, cert: tls.cert }, handle) : createHttpServer(handle);
  server.on(tls ? 'secureConnection' : 'connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;

  return {
    url,
    ca: tls?.cert,
    token,
    requests,
    add(...objects) {
      for (const o of objects) {
        const type = byKind(o.kind ?? '');
        const ns = o.metadata.namespace;
        if (!ns) throw new Error(`${o.kind} ${o.metadata.name} has no namespace`);
        resourceVersion++;
        store.set(keyOf(type, ns, o.metadata.name), o);
      }
    },
    forbid: (r) => void forbidden.add(r),
    hang: (r) => void hanging.add(r),
    flood: (r) => void flooding.add(r),
    openConnections: () => sockets.size,
    kubeconfig(dir, k = {}) {
      const context = k.context ?? 'fake';
      const path = join(dir, `kubeconfig-${context}.yaml`);
      const contexts = [context, ...(k.extraContexts ?? [])];
      writeFileSync(
        path,
        stringify({
          apiVersion: 'v1',
          kind: 'Config',
          'current-context': context,
          clusters: [
            {
              name: 'fake-cluster',
              cluster: {
                server: url,
                ...(tls ? { 'certificate-authority-data': Buffer.from(tls.cert).toString('base64') } : {}),
              },
            },
            { name: 'elsewhere', cluster: { server: 'https://127.0.0.1:1' } },
          ],
          users: [{ name: 'gatewatch', user: { token: k.token ?? token } }],
          contexts: contexts.map((c, i) => ({
            name: c,
            context: { cluster: i === 0 ? 'fake-cluster' : 'elsewhere', user: 'gatewatch' },
          })),
        }),
      );
      return path;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
