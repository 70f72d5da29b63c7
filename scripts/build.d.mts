import type { BuildOptions } from 'esbuild';
/** The esbuild options every Node-side bundle uses (see build.mjs). */
export declare const node: BuildOptions;
