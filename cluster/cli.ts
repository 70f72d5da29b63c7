// npm run cluster:up | cluster:down — the test/demo cluster from the command line.
import { consoleLogger } from '../extension/core/log';
import { isDevlaneError } from '../extension/core/errors';
import { clusterDown, clusterStatus, clusterUp } from './api';

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  const log = consoleLogger(process.env.DEVLANE_LOG === undefined ? 'info' : undefined, 'cluster');
  if (cmd === 'up') {
    const started = Date.now();
    const noSamples = rest.includes('--no-samples');
    const c = await clusterUp({ samples: !noSamples, log });
    log.info(`cluster ${c.name} ${c.reused ? 'already running' : 'up'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    // Last line: the kubeconfig path, for scripts.
    console.log(c.kubeconfigPath);
  } else if (cmd === 'status') {
    // One JSON line, for scripts (the test orchestrator leaves a cluster it did not start running).
    console.log(JSON.stringify(await clusterStatus()));
  } else if (cmd === 'down') {
    await clusterDown({ log });
    log.info('cluster down');
  } else {
    console.error('usage: cluster/cli.ts up [--no-samples] | status | down');
    process.exit(2);
  }
}

main().catch((e: unknown) => {
  console.error(isDevlaneError(e) ? `${e.reason}: ${e.message}` : e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
