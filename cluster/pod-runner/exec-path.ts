import * as fs from 'node:fs';
import * as path from 'node:path';

const dispatcherName = '.devlane-exec';

/**
 * kwok looks exec commands up on its PATH, whose first folder is `dir`: a link to the dispatcher
 * (exec-dispatch.pl) under the name of every command on the host's PATH. Returns the dispatcher.
 */
export function writeExecDispatch(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const dispatcher = path.join(dir, dispatcherName);
  fs.copyFileSync(path.join(__dirname, 'exec-dispatch.pl'), dispatcher);
  fs.chmodSync(dispatcher, 0o755);
  const names = new Set<string>();
  for (const d of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    let entries: string[];
    try {
      entries = fs.readdirSync(d);
    } catch {
      continue;
    }
    for (const e of entries) names.add(e);
  }
  for (const name of names) {
    const link = path.join(dir, name);
    if (name.startsWith('.') || fs.existsSync(link)) continue;
    fs.symlinkSync(dispatcherName, link);
  }
  return dispatcher;
}

/** The kwok "binary" kwokctl starts: kwok-controller.sh bound to the real kwok and our dispatcher. */
export function writeKwokWrapper(file: string, realKwok: string, dispatcher: string): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  fs.writeFileSync(file, `#!/bin/sh\nexec /bin/sh ${q(path.join(__dirname, 'kwok-controller.sh'))} ${q(realKwok)} ${q(dispatcher)} "$@"\n`, { mode: 0o755 });
  return file;
}
