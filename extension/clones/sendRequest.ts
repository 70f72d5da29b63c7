import * as vscode from 'vscode';
import { CoreV1Api } from '@kubernetes/client-node';
import type { DevlaneContext } from '../context';
import { api } from '../core/kube/apiErrors';
import { httpPortOf, parseRequestLine, sendToPod, type PodHttpResponse } from '../core/kube/podHttp';
import type { ResourceRef } from '../core/kube/resourceRef';
import type { CloneEnv } from '../core/clones/lifecycle';

const lastRequestKey = 'devlane.lastRequest';

/**
 * *Send Request to Clone…*: an HTTP request to the clone's app through a port-forward, the answer
 * shown when it comes. A request that stops at a breakpoint waits (cancellable) until the debugger
 * lets it go, so this is how a developer walks a request into their clone.
 */
export async function sendRequestToClone(ctx: DevlaneContext, env: CloneEnv, ref: ResourceRef, deployPort: number | undefined): Promise<void> {
  const pod = await api({ verb: 'get', resource: 'pods', namespace: ref.namespace, name: ref.name }, () => env.kc.makeApiClient(CoreV1Api).readNamespacedPod({ namespace: ref.namespace, name: ref.name }));
  let port = httpPortOf(pod) ?? deployPort;
  if (port === undefined) {
    const answer = await vscode.window.showInputBox({ title: `Send request to ${ref.name}`, prompt: 'The port the app serves HTTP on', validateInput: (v) => (/^\d+$/.test(v) && Number(v) > 0 && Number(v) < 65536 ? undefined : 'A port number, 1–65535') });
    if (answer === undefined) return;
    port = Number(answer);
  }
  const remembered = ctx.extension.workspaceState.get<string>(lastRequestKey) ?? '/';
  const line = await vscode.window.showInputBox({
    title: `Send request to ${ref.name}:${port}`,
    prompt: 'Path and query, optionally after a method: /order?item=pear, POST /orders',
    value: remembered,
    validateInput: (v) => {
      try {
        parseRequestLine(v);
        return undefined;
      } catch (e) {
        return e instanceof Error ? e.message : String(e);
      }
    },
  });
  if (line === undefined) return;
  const { method, path } = parseRequestLine(line);
  await ctx.extension.workspaceState.update(lastRequestKey, line.trim());
  ctx.log.info(`request ${method} ${path} to ${ref.namespace}/${ref.name}:${port}`);
  const res = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `${method} ${path} → ${ref.name}`, cancellable: true },
    (progress, token) => {
      const ac = new AbortController();
      token.onCancellationRequested(() => ac.abort());
      // A stopped breakpoint holds the answer back: say so while waiting.
      const hint = setTimeout(() => progress.report({ message: 'waiting for the app (stopped at a breakpoint?)' }), 2_000);
      return sendToPod(env.kc, { namespace: ref.namespace, pod: ref.name, port: port! }, { method, path, signal: ac.signal }).finally(() => clearTimeout(hint));
    },
  );
  ctx.log.info(`${ref.name} answered ${res.status} ${res.statusText} in ${res.ms} ms (${res.body.length} bytes)`);
  const open = 'Open Response';
  const summary = `${ref.name} answered ${res.status} ${res.statusText} in ${res.ms} ms: ${res.body.replace(/\s+/g, ' ').slice(0, 160)}`;
  const shown = res.status >= 500 ? vscode.window.showWarningMessage(summary, open) : vscode.window.showInformationMessage(summary, open);
  if ((await shown) === open) await openResponse(method, path, res);
}

async function openResponse(method: string, path: string, res: PodHttpResponse): Promise<void> {
  const json = (res.headers['content-type'] ?? '').includes('json');
  let body = res.body;
  if (json) {
    try {
      body = JSON.stringify(JSON.parse(body), null, 2);
    } catch {
      // Not valid JSON after all: shown as it came.
    }
  }
  const head = [`${method} ${path}`, `${res.status} ${res.statusText} (${res.ms} ms)`, ...Object.entries(res.headers).map(([k, v]) => `${k}: ${v}`)].join('\n');
  const content = json ? body : `${head}\n\n${body}${res.truncated ? '\n… (cut at 1 MiB)' : ''}`;
  const doc = await vscode.workspace.openTextDocument({ content, language: json ? 'json' : 'plaintext' });
  await vscode.window.showTextDocument(doc, { preview: true });
}
