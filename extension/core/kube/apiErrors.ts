import { DevlaneError } from '../errors';
import { httpCode } from './probe';

/** What Devlane was doing when the API said no: enough to tell the user which permission is missing. */
export interface ApiCall {
  readonly verb: 'get' | 'list' | 'create' | 'delete' | 'patch' | 'watch';
  /** Plural resource, with the subresource if any: `pods`, `pods/exec`, `deployments`. */
  readonly resource: string;
  /** API group ('' for core). */
  readonly group?: string;
  readonly namespace?: string;
  readonly name?: string;
}

interface StatusBody {
  readonly message?: string;
  readonly reason?: string;
  readonly details?: { readonly name?: string; readonly kind?: string; readonly group?: string };
}

/** The Status object a failed API call returned, if the body holds one. */
export function statusOf(e: unknown): StatusBody | undefined {
  const body = (e as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      const v = JSON.parse(body) as unknown;
      return typeof v === 'object' && v !== null ? (v as StatusBody) : undefined;
    } catch {
      return undefined;
    }
  }
  return typeof body === 'object' && body !== null ? (body as StatusBody) : undefined;
}

function where(call: ApiCall): string {
  const target = call.name ? `${call.resource.split('/')[0]} "${call.name}"` : call.resource;
  return call.namespace ? `${target} in namespace "${call.namespace}"` : target;
}

/**
 * Turns a failed client-node call into a DevlaneError. Forbidden says which verb on which
 * resource is missing; the verb is the one we used, the resource and group come from the Status
 * details when the server gives them.
 */
export function classifyApiError(e: unknown, call: ApiCall): DevlaneError {
  if (e instanceof DevlaneError) return e;
  const code = httpCode(e);
  const status = statusOf(e);
  const serverSays = status?.message ? ` The API server said: ${status.message}` : '';
  if (code === 403) {
    const resource = status?.details?.kind ?? call.resource.split('/')[0]!;
    const sub = call.resource.includes('/') ? `/${call.resource.split('/')[1]}` : '';
    const group = status?.details?.group ?? call.group ?? '';
    const fullResource = `${resource}${sub}${group ? `.${group}` : ''}`;
    // RBAC denials name no object; admission denials (PodSecurity, policy webhooks) name the object
    // they rejected and are not fixed by a Role.
    if (call.verb === 'create' && status?.details?.name) {
      return new DevlaneError('rbac-forbidden', `The cluster refused to create ${where(call)}: an admission policy rejected it.${serverSays} Change the clone options (e.g. no capture capabilities) or ask the cluster admins.`, { cause: e, detail: status?.message });
    }
    return forbiddenError({ verb: call.verb, resource: fullResource, ...(call.namespace ? { namespace: call.namespace } : {}) }, e, status?.message);
  }
  if (code === 404) return new DevlaneError('not-found', `${where(call)} does not exist (any more). Refresh the view and pick another.`, { cause: e, detail: status?.message });
  if (code === 409) {
    return new DevlaneError('already-exists', `${where(call)} already exists. Choose another clone name, or delete the existing one first.`, { cause: e, detail: status?.message });
  }
  if (code === 401) return new DevlaneError('cluster-unauthorized', `The cluster refused the kubeconfig's credentials (401) while trying to ${call.verb} ${call.resource}. Log in again and retry.`, { cause: e });
  if (code === 422 || code === 400) return new DevlaneError('invalid-input', `The API server rejected ${where(call)} as invalid.${serverSays}`, { cause: e, detail: status?.message });
  if (code !== undefined) return new DevlaneError('internal', `The API server answered ${code} to ${call.verb} ${where(call)}.${serverSays}`, { cause: e, detail: status?.message });
  const sys = e as { code?: string; cause?: { code?: string } } | null;
  const errno = sys?.code ?? sys?.cause?.code;
  return new DevlaneError('cluster-unreachable', `The cluster could not be reached to ${call.verb} ${where(call)} (${errno ?? (e instanceof Error ? e.message : String(e))}). Check the connection and retry.`, { cause: e });
}

/** A permission the API server refused: `resource` as RBAC names it (`pods/log`, `jobs.batch`). */
export interface Denied {
  /** The RBAC verb, or verbs in words ("list and watch"). */
  readonly verb: string;
  readonly resource: string;
  readonly namespace?: string;
  /** The object, when naming it helps the user see which action failed. */
  readonly object?: string;
}

/** The one wording of an RBAC refusal: which verb on which resource is missing and what to ask for. */
export function forbiddenError(d: Denied, cause?: unknown, detail?: string): DevlaneError {
  const of = d.object ? ` of "${d.object}"` : '';
  const where = d.namespace ? ` in namespace "${d.namespace}"` : ' (cluster-wide)';
  return new DevlaneError('rbac-forbidden', `You are not allowed to ${d.verb} ${d.resource}${of}${where} (403). Ask for a Role granting verb "${d.verb}" on resource "${d.resource}"${d.namespace ? ' in that namespace' : ''}.`, {
    cause,
    detail: detail ?? `verb=${d.verb} resource=${d.resource}${d.namespace ? ` namespace=${d.namespace}` : ''}`,
  });
}

/** Runs one API call and classifies its failure. */
export async function api<T>(call: ApiCall, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw classifyApiError(e, call);
  }
}
