/**
 * The one HTML page every observe webview loads: a strict CSP (nothing but this page's nonce'd
 * bundle may run; styles only from the webview's own origin or constructed by the bundle) and the
 * bundle. Shared by the extension host and the benchmark's plain Chromium page.
 */
export interface WebviewPage {
  readonly title: string;
  readonly scriptUri: string;
  /** webview.cspSource: the origin VS Code serves localResourceRoots from. */
  readonly cspSource: string;
  /** A fresh random value per page load. */
  readonly nonce: string;
}

export function webviewHtml(p: WebviewPage): string {
  const csp = [`default-src 'none'`, `script-src 'nonce-${p.nonce}'`, `style-src ${p.cspSource}`, `font-src ${p.cspSource}`, `img-src ${p.cspSource} data:`].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(p.title)}</title>
</head>
<body>
<script nonce="${p.nonce}" src="${escapeHtml(p.scriptUri)}"></script>
</body>
</html>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
