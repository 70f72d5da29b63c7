import { DevlaneError } from '../../extension/core/errors';
import { findSourceRoots } from '../../extension/core/debug/sourceRoots';
import { defaultStepFilters } from './types';

/** The shape of a `devlane` debug configuration before VS Code hands it to the adapter. */
export interface DevlaneDebugConfiguration {
  type: string;
  request: string;
  name: string;
  hostName?: string;
  port?: number | string;
  sourcePaths?: string[];
  stepFilters?: string[];
  [key: string]: unknown;
}

/**
 * Completes an attach configuration: defaults for host, source roots and step filters, and a clear
 * error for what cannot be defaulted. The port is the one thing asked for when missing (by the caller).
 */
export function resolveAttachConfiguration(config: DevlaneDebugConfiguration, workspaceFolders: readonly string[]): DevlaneDebugConfiguration {
  if (config.request !== 'attach') throw new DevlaneError('invalid-input', `"request": "${config.request}" is not available for an attach configuration; Devlane debug configurations use "attach" or "launch".`);
  const port = typeof config.port === 'string' ? Number(config.port) : config.port;
  if (port === undefined || !Number.isInteger(port) || port <= 0 || port > 65535) throw new DevlaneError('invalid-input', `"port" must be the JVM's JDWP port (1–65535), not ${JSON.stringify(config.port)}.`);
  return {
    ...config,
    hostName: config.hostName || '127.0.0.1',
    port,
    sourcePaths: config.sourcePaths?.length ? config.sourcePaths : findSourceRoots(workspaceFolders),
    stepFilters: config.stepFilters ?? [...defaultStepFilters],
  };
}

/**
 * Completes a launch configuration: source roots and step filters as for attach. The clone, the
 * deploy and the port are the extension's part, done when the session starts (after the
 * preLaunchTask built the artifact).
 */
export function resolveLaunchConfiguration(config: DevlaneDebugConfiguration, workspaceFolders: readonly string[]): DevlaneDebugConfiguration {
  if (config.request !== 'launch') throw new DevlaneError('invalid-input', `Expected a "launch" configuration, not "${config.request}".`);
  if (config.clone === undefined) throw new DevlaneError('invalid-input', 'The launch configuration needs "clone": the workload to debug, e.g. {"namespace": "shop", "kind": "Deployment", "name": "orders"}.');
  if (config.jdwpPort !== undefined && (!Number.isInteger(config.jdwpPort) || (config.jdwpPort as number) <= 0 || (config.jdwpPort as number) > 65535)) {
    throw new DevlaneError('invalid-input', `"jdwpPort" must be a TCP port (1–65535), not ${JSON.stringify(config.jdwpPort)}.`);
  }
  for (const key of ['container', 'context'] as const) {
    if (config[key] !== undefined && (typeof config[key] !== 'string' || !config[key])) throw new DevlaneError('invalid-input', `"${key}" must be a name, not ${JSON.stringify(config[key])}.`);
  }
  return {
    ...config,
    sourcePaths: config.sourcePaths?.length ? config.sourcePaths : findSourceRoots(workspaceFolders),
    stepFilters: config.stepFilters ?? [...defaultStepFilters],
  };
}
