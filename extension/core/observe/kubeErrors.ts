/** Failures of the observe features' API calls as DevlaneErrors that name the verb and resource. */
import { DevlaneError } from '../errors';
import { httpCode } from '../kube/probe';
import { forbiddenError } from '../kube/apiErrors';

export interface Access {
  readonly verb: string;
  /** Resource with subresource, as RBAC names it: "pods/log", "pods/exec", "events". */
  readonly resource: string;
  readonly namespace: string;
  readonly name?: string;
}

export function forbidden(a: Access, cause?: unknown): DevlaneError {
  return forbiddenError({ verb: a.verb, resource: a.resource, namespace: a.namespace, ...(a.name ? { object: a.name } : {}) }, cause);
}

/** Turns an API failure into the error the views show; `undefined` when it is not one of these. */
export function classifyApiError(e: unknown, a: Access): DevlaneError | undefined {
  if (e instanceof DevlaneError) return e;
  const code = httpCode(e);
  if (code === 403) return forbidden(a, e);
  if (code === 401) return new DevlaneError('cluster-unauthorized', 'The cluster refused the credentials (401). Log in again or choose another context.', { cause: e });
  if (code === 404) return new DevlaneError('not-found', `${a.name ? `Pod "${a.name}"` : 'The object'} is gone from namespace "${a.namespace}". What was shown is kept.`, { cause: e });
  return undefined;
}

