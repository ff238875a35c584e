import { readFile } from 'node:fs/promises';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { errorMessage, GatewatchError } from '../../errors.js';

/** Where a pod's projected service-account token, CA bundle and namespace are mounted. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * How to reach one API server. The token is read through `token()` on every
 * request, never kept: projected service-account tokens are rotated about hourly,
 * and a token held in a field ends up in a log line sooner or later.
 */
export interface KubeCredentials {
  server: URL;
  /** PEM bundle that signs the API server's certificate; the system roots otherwise. */
  ca?: string;
  cert?: string;
  key?: string;
  insecureSkipTlsVerify: boolean;
  /** Where these came from, for messages: "in-cluster service account", "kubeconfig /x (context prod)". */
  source: string;
  token(): Promise<string | null>;
}

function configError(message: string, cause?: unknown): GatewatchError {
  return new GatewatchError('CONFIG_INVALID', message, { cause, retryable: false });
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw configError(
      `cannot read the ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`,
      err,
    );
  }
}

/** The pod's own service account: KUBERNETES_SERVICE_HOST/PORT, token and CA from the mounted files. */
export async function inClusterCredentials(
  env: Readonly<Record<string, string | undefined>>,
  dir = SERVICE_ACCOUNT_DIR,
): Promise<KubeCredentials> {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT || '443';
  if (!host) throw configError('not in a cluster: KUBERNETES_SERVICE_HOST is not set');
  return {
    server: new URL(`https://${host.includes(':') ? `[${host}]` : host}:${port}`),
    ca: await readText(join(dir, 'ca.crt'), 'service-account CA bundle'),
    insecureSkipTlsVerify: false,
    source: 'the in-cluster service account',
    token: async () => (await readText(join(dir, 'token'), 'service-account token')).trim(),
  };
}

const KubeconfigSchema = z.object({
  'current-context': z.string().optional(),
  clusters: z
    .array(
      z.object({
        name: z.string(),
        cluster: z.object({
          server: z.url({ protocol: /^https?$/ }),
          'certificate-authority': z.string().optional(),
          'certificate-authority-data': z.string().optional(),
          'insecure-skip-tls-verify': z.boolean().optional(),
        }),
      }),
    )
    .default([]),
  users: z
    .array(
      z.object({
        name: z.string(),
        user: z
          .object({
            token: z.string().optional(),
            tokenFile: z.string().optional(),
            'client-certificate': z.string().optional(),
            'client-certificate-data': z.string().optional(),
            'client-key': z.string().optional(),
            'client-key-data': z.string().optional(),
            exec: z.unknown().optional(),
            'auth-provider': z.unknown().optional(),
          })
          .nullish(),
      }),
    )
    .default([]),
  contexts: z
    .array(
      z.object({ name: z.string(), context: z.object({ cluster: z.string(), user: z.string().optional() }) }),
    )
    .default([]),
});

/** A kubeconfig file and one of its contexts (its current-context unless named). */
export async function kubeconfigCredentials(path: string, context?: string): Promise<KubeCredentials> {
  let raw: unknown;
  try {
    raw = parse(await readText(path, 'kubeconfig'));
  } catch (err) {
    if (err instanceof GatewatchError) throw err;
    throw configError(`the kubeconfig ${path} is not valid YAML: ${errorMessage(err)}`, err);
  }
  const parsed = KubeconfigSchema.safeParse(raw);
  if (!parsed.success)
    throw configError(
      `the kubeconfig ${path} is not valid: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`,
    );
  const kc = parsed.data;
  const name = context ?? kc['current-context'];
  if (!name)
    throw configError(`the kubeconfig ${path} has no current-context; name one in the playbook (context)`);
  const ctx = kc.contexts.find((c) => c.name === name);
  if (!ctx) throw configError(`the kubeconfig ${path} has no context "${name}"`);
  const cluster = kc.clusters.find((c) => c.name === ctx.context.cluster)?.cluster;
  if (!cluster) throw configError(`the kubeconfig ${path}: context "${name}" names a missing cluster`);
  const user = (ctx.context.user ? kc.users.find((u) => u.name === ctx.context.user)?.user : undefined) ?? {};
  if (user.exec || user['auth-provider'])
    throw configError(
      `the kubeconfig ${path}: user of context "${name}" uses an exec or auth-provider plugin, which gatewatch does not run; give it a ServiceAccount token (kubectl create token)`,
    );
  // Relative paths in a kubeconfig are relative to the file, as kubectl reads them.
  const near = (p: string) => (isAbsolute(p) ? p : join(dirname(path), p));
  const pem = async (data: string | undefined, file: string | undefined, what: string) =>
    data ? Buffer.from(data, 'base64').toString('utf8') : file ? readText(near(file), what) : undefined;
  const [ca, cert, key] = await Promise.all([
    pem(cluster['certificate-authority-data'], cluster['certificate-authority'], 'certificate authority'),
    pem(user['client-certificate-data'], user['client-certificate'], 'client certificate'),
    pem(user['client-key-data'], user['client-key'], 'client key'),
  ]);
  const { token, tokenFile } = user;
  return {
    server: new URL(cluster.server),
    ca,
    cert,
    key,
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] ?? false,
    source: `kubeconfig ${path} (context ${name})`,
    token: async () => token ?? (tokenFile ? (await readText(near(tokenFile), 'token file')).trim() : null),
  };
}

/**
 * The playbook's kubeconfig (the file its `kubeconfig_env` names), else the
 * in-cluster service account, else $KUBECONFIG: the order kubectl users expect.
 */
export async function resolveCredentials(
  cfg: { kubeconfig_env?: string; context?: string },
  env: Readonly<Record<string, string | undefined>>,
): Promise<KubeCredentials> {
  if (cfg.kubeconfig_env) {
    // Like $KUBECONFIG it may list several files; the first is read (merging them is kubectl's, not ours).
    const path = env[cfg.kubeconfig_env]?.split(delimiter)[0];
    if (!path) throw configError(`${cfg.kubeconfig_env} (the playbook's kubeconfig_env) is not set`);
    return kubeconfigCredentials(path, cfg.context);
  }
  if (env.KUBERNETES_SERVICE_HOST) {
    // The mount point can be moved (tests, sidecars that copy the files); the standard one otherwise.
    return inClusterCredentials(env, env.GATEWATCH_SERVICE_ACCOUNT_DIR || SERVICE_ACCOUNT_DIR);
  }
  if (env.KUBECONFIG) return kubeconfigCredentials(env.KUBECONFIG.split(delimiter)[0]!, cfg.context);
  throw configError(
    'no Kubernetes credentials: not in a cluster (KUBERNETES_SERVICE_HOST unset), no kubeconfig_env in the playbook and no KUBECONFIG',
  );
}
