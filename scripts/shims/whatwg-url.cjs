// node-fetch 2 (pulled in by @kubernetes/client-node) prefers Node's own URL and only falls back to
// whatwg-url, whose tr46 tables add ~290 KB to the bundle. Node 20 always has URL: point at it.
module.exports = { URL: globalThis.URL, URLSearchParams: globalThis.URLSearchParams };
