import type { BuildOptions } from 'esbuild';
/** The esbuild options every Node-side bundle uses (see build.mjs). */
export declare const node: BuildOptions;
/** Compiles agent/ into a jar (dist/devlane-agent.jar by default); false when agent/ is absent. Throws when javac or jar is missing or fails. */
export declare function buildAgentJar(outFile?: string): boolean;
