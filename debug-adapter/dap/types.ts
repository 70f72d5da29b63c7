import type { DebugProtocol } from '@vscode/debugprotocol';

/** `request: "attach"`: a JVM that already listens for JDWP (locally, or through a port-forward). */
export interface AttachArguments extends DebugProtocol.AttachRequestArguments {
  readonly hostName?: string;
  readonly port: number;
  /** Folders whose package layout holds the sources (e.g. src/main/java). */
  readonly sourcePaths?: readonly string[];
  /** Classes never stepped into; defaults to java.*, jdk.*, sun.* and their relatives. */
  readonly stepFilters?: readonly string[];
  readonly timeoutMs?: number;
  /**
   * The JVM runs in a pod: connect through the API server's port-forward to `port` inside the pod
   * (hostName is then ignored).
   */
  readonly kubernetes?: {
    readonly kubeconfig?: string;
    readonly context?: string;
    readonly namespace: string;
    readonly pod: string;
  };
  /** How often an idle connection is kept busy (port-forwards drop idle streams); 0 turns it off. */
  readonly keepAliveMs?: number;
}

/**
 * `request: "launch"`: the cluster flow. The extension creates or reuses the clone, deploys the
 * build output, restarts the app with JDWP on and waits until it listens, then starts the adapter
 * with the result (LaunchTarget); the adapter attaches to it through the port-forward.
 */
export interface LaunchArguments extends DebugProtocol.LaunchRequestArguments {
  /** The workload to clone: {namespace, kind, name} or "namespace/Kind/name". */
  readonly clone?: unknown;
  /** Build output to deploy (path or glob relative to the workspace folder); false: deploy nothing. */
  readonly artifact?: string | false;
  readonly jdwpPort?: number;
  readonly sourcePaths?: readonly string[];
  readonly stepFilters?: readonly string[];
  readonly timeoutMs?: number;
  readonly keepAliveMs?: number;
}

/** Where a launch attaches: handed from the extension to the adapter process (DEVLANE_LAUNCH_TARGET). */
export interface LaunchTarget {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly namespace: string;
  readonly pod: string;
  readonly port: number;
}

export const launchTargetEnv = 'DEVLANE_LAUNCH_TARGET';

/** The launch target from the adapter's environment; undefined when absent or malformed. */
export function launchTargetFrom(env: NodeJS.ProcessEnv): LaunchTarget | undefined {
  const text = env[launchTargetEnv];
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as Partial<LaunchTarget>;
    if (typeof v.namespace !== 'string' || typeof v.pod !== 'string' || !Number.isInteger(v.port)) return undefined;
    return {
      namespace: v.namespace,
      pod: v.pod,
      port: v.port!,
      ...(typeof v.kubeconfig === 'string' ? { kubeconfig: v.kubeconfig } : {}),
      ...(typeof v.context === 'string' ? { context: v.context } : {}),
    };
  } catch {
    return undefined;
  }
}

export const defaultStepFilters: readonly string[] = ['java.*', 'javax.*', 'jdk.*', 'sun.*', 'com.sun.*'];

/** Arguments of the custom `redefineClasses` request (hot code replace). */
export interface RedefineArguments {
  /** A class output folder: classes changed since attach (or the last replace) are redefined. */
  readonly outputDir?: string;
  /** Several class output folders (a multi-module build), handled as one replace. */
  readonly outputDirs?: readonly string[];
  /** Or explicit classes: binary name (demo.Main$Inner) and .class file. */
  readonly classes?: readonly { readonly name: string; readonly file: string }[];
}
