import * as fs from 'node:fs/promises';
import { isMap, isSeq, parseDocument, type Document } from 'yaml';
import { DevlaneError } from '../errors';
import { cloneDefaults, diffFromDefaults, resolveOptions, type CloneOptions, type CloneOptionsInput } from './spec/options';

/**
 * Clone options saved per workload in devlane.yaml, under `clones:` as a list of entries
 * `{namespace, kind, name, ...options}`. Only options that differ from the defaults are written;
 * the rest of the file (other sections, comments, order) is left as it was.
 */
export interface WorkloadKey {
  readonly namespace: string;
  readonly kind: string;
  readonly name: string;
}

export interface SavedClone extends WorkloadKey {
  readonly options: CloneOptionsInput;
}

const keyFields = ['namespace', 'kind', 'name'] as const;

function parse(text: string, file: string): Document {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    throw new DevlaneError('invalid-input', `${file} is not valid YAML: ${doc.errors[0]!.message}. Fix the file and try again.`);
  }
  return doc;
}

/** Every clone entry in a devlane.yaml text. */
export function readSavedClones(text: string, file = 'devlane.yaml'): SavedClone[] {
  const doc = parse(text, file);
  const clones = doc.get('clones');
  if (clones === undefined || clones === null) return [];
  if (!isSeq(clones)) throw new DevlaneError('invalid-input', `"clones" in ${file} must be a list of {namespace, kind, name, …options}.`);
  const out: SavedClone[] = [];
  for (const item of clones.items) {
    const v = isMap(item) ? (item.toJSON() as Record<string, unknown>) : undefined;
    if (!v || keyFields.some((k) => typeof v[k] !== 'string')) {
      throw new DevlaneError('invalid-input', `Each entry of "clones" in ${file} needs text fields namespace, kind and name.`);
    }
    const { namespace, kind, name, ...options } = v as Record<string, unknown> & WorkloadKey;
    out.push({ namespace, kind, name, options: options as CloneOptionsInput });
  }
  return out;
}

/** The saved options of one workload, completed with the defaults (defaults alone if none saved). */
export function readCloneOptions(text: string, key: WorkloadKey, file = 'devlane.yaml', defaults: CloneOptions = cloneDefaults): CloneOptions {
  const saved = readSavedClones(text, file).find((c) => sameKey(c, key));
  return resolveOptions(saved?.options ?? {}, defaults);
}

/** devlane.yaml text with the workload's entry replaced (or added), everything else untouched. */
export function saveCloneOptions(text: string, key: WorkloadKey, options: CloneOptions, file = 'devlane.yaml'): string {
  const doc = parse(text, file);
  // The pod name is per clone, not per workload (and `name` here is the workload's).
  const { name: _podName, ...rest } = diffFromDefaults(options);
  const entry = { namespace: key.namespace, kind: key.kind, name: key.name, ...rest };
  const clones = doc.get('clones');
  if (clones === undefined || clones === null) {
    doc.set('clones', doc.createNode([entry]));
  } else if (isSeq(clones)) {
    const i = clones.items.findIndex((it) => isMap(it) && sameKey(it.toJSON() as WorkloadKey, key));
    const node = doc.createNode(entry);
    if (i >= 0) clones.items[i] = node;
    else clones.items.push(node);
  } else {
    throw new DevlaneError('invalid-input', `"clones" in ${file} must be a list; fix it before saving clone options.`);
  }
  return doc.toString();
}

function sameKey(a: WorkloadKey, b: WorkloadKey): boolean {
  return a.namespace === b.namespace && a.kind === b.kind && a.name === b.name;
}

export async function readCloneOptionsFile(file: string, key: WorkloadKey, defaults: CloneOptions = cloneDefaults): Promise<CloneOptions> {
  let text = '';
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return readCloneOptions(text, key, file, defaults);
}

export async function saveCloneOptionsFile(file: string, key: WorkloadKey, options: CloneOptions): Promise<void> {
  let text = '';
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const next = saveCloneOptions(text, key, options, file);
  // Write beside and rename, so an editor or a crash never sees half a file.
  const tmp = `${file}.devlane-${process.pid}.tmp`;
  await fs.writeFile(tmp, next, 'utf8');
  await fs.rename(tmp, file);
}
