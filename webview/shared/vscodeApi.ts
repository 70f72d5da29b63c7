/** The webview side of the host connection: typed posting, typed receiving, persisted state. */

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

export interface HostConnection<ToHost, State> {
  post(message: ToHost): void;
  state(): State | undefined;
  saveState(state: State): void;
}

/**
 * Connects once: listens for host messages (dropping any that fail the guard), then posts `ready`
 * so the host knows it may send.
 */
export function connect<ToHost extends { type: string }, ToView, State>(isToView: (m: unknown) => m is ToView, isState: (s: unknown) => s is State, onMessage: (m: ToView) => void): HostConnection<ToHost, State> {
  const api = acquireVsCodeApi();
  window.addEventListener('message', (e: MessageEvent) => {
    if (isToView(e.data)) onMessage(e.data);
    else console.warn('devlane: dropped a message that does not fit the protocol', e.data);
  });
  const conn: HostConnection<ToHost, State> = {
    post: (m) => api.postMessage(m),
    state: () => {
      const s = api.getState();
      return isState(s) ? s : undefined;
    },
    saveState: (s) => api.setState(s),
  };
  return conn;
}

/** Adds a stylesheet without an inline <style> (the CSP allows none). */
export function adoptCss(css: string): void {
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(css);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
}

/** document.createElement with classes, text and children in one call. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, opts: { cls?: string; text?: string; title?: string } = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (opts.cls) e.className = opts.cls;
  if (opts.text !== undefined) e.textContent = opts.text;
  if (opts.title) e.title = opts.title;
  for (const c of children) e.append(c);
  return e;
}
