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
 * `request: "launch"` belongs to the cluster flow (create or reuse the clone, build, deploy, restart
 * with JDWP, port-forward, then attach). The extension resolves it into an attach; the adapter
 * itself only ever attaches.
 */
export interface LaunchArguments extends DebugProtocol.LaunchRequestArguments {
  readonly clone?: string;
  readonly namespace?: string;
  readonly container?: string;
  readonly jdwpPort?: number;
  readonly sourcePaths?: readonly string[];
  readonly stepFilters?: readonly string[];
}

export const defaultStepFilters: readonly string[] = ['java.*', 'javax.*', 'jdk.*', 'sun.*', 'com.sun.*'];

/** Arguments of the custom `redefineClasses` request (hot code replace). */
export interface RedefineArguments {
  /** A class output folder: classes changed since attach (or the last replace) are redefined. */
  readonly outputDir?: string;
  /** Or explicit classes: binary name (demo.Main$Inner) and .class file. */
  readonly classes?: readonly { readonly name: string; readonly file: string }[];
}
