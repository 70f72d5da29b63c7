import Ajv, { type ErrorObject } from 'ajv';
import { isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import schema from '../../../schemas/devlane.schema.json';

/** devlane.yaml as the code reads it (kept in step with schemas/devlane.schema.json). */
export interface DevlaneYaml {
  readonly version: 1;
  readonly cluster?: { readonly kubeconfig?: string; readonly context?: string; readonly namespace?: string };
  readonly clones?: readonly unknown[];
  readonly debug?: { readonly sourcePaths?: readonly string[]; readonly port?: number; readonly stepFilters?: readonly string[] };
  readonly tunnels?: readonly DeclaredTunnel[];
}

/** A tunnel a team checks in: how to reach the cluster and what to set up once connected. */
export interface DeclaredTunnel {
  readonly name: string;
  readonly transport: 'ssh' | 'agent';
  /** Required with transport ssh (the schema says so). */
  readonly ssh?: DeclaredSsh;
  readonly agent?: { readonly namespace?: string };
  readonly socksPort?: number;
  readonly httpPort?: number;
  readonly reverse?: readonly DeclaredReverseForward[];
  readonly expose?: readonly DeclaredExposure[];
  readonly registrations?: readonly DeclaredRegistration[];
}

export interface DeclaredSsh {
  readonly host: string;
  readonly user?: string;
  readonly port?: number;
  readonly identityFile?: string;
  readonly proxyJump?: string;
  /** Where pods reach the bastion (registered for registrations); default: host. */
  readonly clusterAddress?: string;
}

export interface DeclaredReverseForward {
  readonly remotePort: number;
  readonly localPort: number;
  readonly bind?: string;
}

export interface DeclaredExposure {
  readonly service: string;
  readonly port?: number;
  readonly localPort: number;
}

export interface DeclaredRegistration {
  readonly kind: 'consul' | 'eureka' | 'nacos';
  readonly url: string;
  readonly service: string;
  readonly localPort: number;
  readonly remotePort?: number;
}

export interface YamlProblem {
  readonly message: string;
  /** Zero-based line and column of the offending node. */
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
}

export type ParsedDevlaneYaml = { readonly ok: true; readonly value: DevlaneYaml } | { readonly ok: false; readonly problems: readonly YamlProblem[] };

let validator: ReturnType<Ajv['compile']> | undefined;
function validate(value: unknown): ErrorObject[] {
  // Compiled on first use, not at import: activation must not pay for it.
  validator ??= new Ajv({ allErrors: true, strict: false }).compile(schema);
  return validator(value) ? [] : [...(validator.errors ?? [])];
}

/** Parses and validates the text of a devlane.yaml, locating each problem in the text. */
export function parseDevlaneYaml(text: string): ParsedDevlaneYaml {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const at = (offset: number, end: number): Omit<YamlProblem, 'message'> => {
    const a = lc.linePos(offset);
    const b = lc.linePos(Math.max(offset, end));
    return { line: a.line - 1, column: a.col - 1, endLine: b.line - 1, endColumn: b.col - 1 };
  };
  if (doc.errors.length > 0) {
    return { ok: false, problems: doc.errors.map((e) => ({ message: `YAML: ${e.message.split('\n')[0]}`, ...at(e.pos[0], e.pos[1]) })) };
  }
  const value: unknown = doc.toJS();
  // An `if`/`then` failure is reported twice by Ajv: keep the precise one (e.g. missing "ssh").
  const errors = validate(value ?? {}).filter((e) => e.keyword !== 'if');
  if (errors.length === 0) return { ok: true, value: value as DevlaneYaml };
  return {
    ok: false,
    problems: errors.map((e) => {
      // An unknown key is best marked on the key itself, not on the whole enclosing map.
      const pointer = e.keyword === 'additionalProperties' ? `${e.instancePath}/${String(e.params.additionalProperty)}` : e.instancePath;
      const node = e.keyword === 'additionalProperties' ? keyNodeAt(doc.contents, pointer) ?? nodeAt(doc.contents, e.instancePath) : nodeAt(doc.contents, pointer);
      const range = node?.range ?? [0, 0];
      return { message: describe(e), ...at(range[0], range[1]) };
    }),
  };
}

function describe(e: ErrorObject): string {
  const where = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : 'devlane.yaml';
  if (e.keyword === 'additionalProperties') return `${where}: unknown key "${String(e.params.additionalProperty)}"`;
  if (e.keyword === 'enum') return `${where}: must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  if (e.keyword === 'required') return `${where}: missing "${String(e.params.missingProperty)}"`;
  if (e.keyword === 'const') return `${where}: must be ${JSON.stringify(e.params.allowedValue)}`;
  return `${where}: ${e.message ?? 'invalid'}`;
}

/** The YAML node at a JSON pointer, or the deepest ancestor found. */
function nodeAt(root: YamlNode | null | undefined, pointer: string): YamlNode | undefined {
  let node: YamlNode | null | undefined = root;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    let next: YamlNode | null | undefined;
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      next = (pair?.value as YamlNode | null | undefined) ?? (pair?.key as YamlNode | undefined);
    } else if (isSeq(node)) {
      next = node.items[Number(key)] as YamlNode | undefined;
    }
    if (!next) break;
    node = next;
  }
  return node ?? undefined;
}

/** The key node of the last segment of a pointer (for "unknown key" problems). */
function keyNodeAt(root: YamlNode | null | undefined, pointer: string): YamlNode | undefined {
  const parts = pointer.split('/');
  const last = parts.pop() ?? '';
  const parent = nodeAt(root, parts.join('/'));
  if (!isMap(parent)) return undefined;
  const pair = parent.items.find((p) => (p.key as { value?: unknown } | null)?.value === last);
  return (pair?.key as YamlNode | undefined) ?? undefined;
}
