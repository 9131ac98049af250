/**
 * Save and reload a model with one call each.
 *
 * `dir/model.json` holds the registry name, the full config, the milkit version and a tfjs weights
 * manifest; `dir/weights.bin` the weights (tfjs binary weight format, one entry per named
 * variable). Writes go to a temporary sibling directory that is renamed into place, so a crash never
 * leaves a half-written model where a complete one is expected.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createModel } from '../registry';
import type { MilModel } from './types';

export const MODEL_FORMAT = 'milkit-model';
export const MODEL_FORMAT_VERSION = 1;

interface ModelJson {
  format: typeof MODEL_FORMAT;
  formatVersion: number;
  milkitVersion: string;
  name: string;
  config: Record<string, unknown>;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

export function milkitVersion(): string {
  try {
    // src/models or dist/models → package root.
    return JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

function namedVariables(model: MilModel): [string, tf.Variable][] {
  if (model.namedVariables) return [...model.namedVariables()];
  return model.variables().map((v, i) => [`var_${i}`, v]);
}

export async function saveModel(model: MilModel, dir: string): Promise<void> {
  const target = path.resolve(dir);
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  const entries = namedVariables(model).map(([name, tensor]) => ({ name, tensor }));
  const { data, specs } = await tf.io.encodeWeights(entries);
  const json: ModelJson = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    milkitVersion: milkitVersion(),
    name: model.name,
    config: { ...model.config },
    weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
  };
  fs.mkdirSync(tmp, { recursive: true });
  try {
    fs.writeFileSync(path.join(tmp, 'weights.bin'), Buffer.from(data));
    fs.writeFileSync(path.join(tmp, 'model.json'), JSON.stringify(json, null, 2));
    if (fs.existsSync(target)) {
      const old = `${target}.old-${process.pid}-${Date.now()}`;
      fs.renameSync(target, old);
      fs.renameSync(tmp, target);
      fs.rmSync(old, { recursive: true, force: true });
    } else {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.renameSync(tmp, target);
    }
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

export async function loadModel(dir: string): Promise<MilModel> {
  const jsonPath = path.join(dir, 'model.json');
  if (!fs.existsSync(jsonPath)) throw new Error(`${dir}: not a saved milkit model (no model.json)`);
  const json = JSON.parse(fs.readFileSync(jsonPath, 'utf8')) as ModelJson;
  if (json.format !== MODEL_FORMAT) throw new Error(`${jsonPath}: format "${json.format}" is not ${MODEL_FORMAT}`);
  if (json.formatVersion > MODEL_FORMAT_VERSION) {
    throw new Error(
      `${jsonPath}: format version ${json.formatVersion} is newer than this milkit (${MODEL_FORMAT_VERSION}); upgrade milkit`,
    );
  }
  const specs = json.weightsManifest.flatMap((m) => m.weights);
  const buf = fs.readFileSync(path.join(dir, json.weightsManifest[0].paths[0]));
  const tensors = tf.io.decodeWeights(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), specs);
  const model = createModel(json.name, json.config);
  try {
    const vars = new Map(namedVariables(model));
    for (const [name, v] of vars) {
      const t = tensors[name];
      if (!t) throw new Error(`${dir}: weight "${name}" of ${json.name} is missing from weights.bin`);
      if (t.shape.join() !== v.shape.join()) {
        throw new Error(`${dir}: weight "${name}" has shape [${t.shape}] in the file but [${v.shape}] in ${json.name}`);
      }
      v.assign(t);
    }
    const extra = Object.keys(tensors).filter((k) => !vars.has(k));
    if (extra.length) throw new Error(`${dir}: weights.bin has weights the model does not know: ${extra.join(', ')}`);
  } catch (err) {
    model.dispose();
    throw err;
  } finally {
    tf.dispose(tensors);
  }
  return model;
}
