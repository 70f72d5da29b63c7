// The pod runner process: started (in its own process group) by clusterUp, ended by clusterDown.
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { consoleLogger } from '../../extension/core/log';
import { loadKc } from '../api';
import { clusterPaths } from '../paths';
import { PodRunner } from './runner';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { name: { type: 'string' }, kubeconfig: { type: 'string' } } });
  const paths = clusterPaths(values.name);
  const log = consoleLogger(undefined, 'pod-runner');
  const kc = loadKc(values.kubeconfig ?? paths.kubeconfigPath);
  const runner = new PodRunner(kc, paths, log);
  let ending: Promise<void> | undefined;
  const end = (sig: string) => {
    ending ??= (async () => {
      log.info(`${sig}: stopping all pods`);
      fs.rmSync(paths.runnerReadyFile, { force: true });
      await runner.dispose();
      process.exit(0);
    })();
  };
  // One pod's bad luck (a callback that throws) must not take every other pod's kubelet down.
  process.on('uncaughtException', (e) => log.error(e));
  process.on('unhandledRejection', (e) => log.error(e instanceof Error ? e : String(e)));
  process.on('SIGTERM', () => end('SIGTERM'));
  process.on('SIGINT', () => end('SIGINT'));
  await runner.start();
  fs.writeFileSync(paths.runnerReadyFile, String(process.pid));
  log.info('pod runner ready');
}

main().catch((e: unknown) => {
  console.error(`pod runner failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});
