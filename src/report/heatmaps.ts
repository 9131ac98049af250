/**
 * The report's "top attention bags": the first fold's model re-run on its test bags with the
 * highest predicted probability of the positive class (the bags a reader checks first), giving
 * each bag's attention (and instance probabilities, where the model has an instance classifier).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { useBackend } from '../backend';
import { Cohort } from '../data/cohort';
import { predictInstances } from '../train/predict';
import type { RunResult } from '../train/results';
import { loadTrainedModel } from '../persist/model';
import { type AttentionPayload, attentionView } from '../viz/attention';
import { MAX_INSTANCES } from '../viz/schema';
import type { FoldPredictions } from './collect';

/** The cohort a run trained on: its recorded path as given, else relative to the run folder. */
function cohortPath(runDir: string, run: RunResult): string | undefined {
  return [run.data.path, path.resolve(runDir, run.data.path)].find((p) => fs.existsSync(p));
}

export async function topBagHeatmaps(
  runDir: string,
  run: RunResult,
  predictions: FoldPredictions[],
  count = 4,
): Promise<{ heatmaps: AttentionPayload[]; note?: string }> {
  const first = predictions[0];
  if (!first) return { heatmaps: [], note: 'no test predictions recorded' };
  const data = cohortPath(runDir, run);
  if (!data) return { heatmaps: [], note: `the cohort ${run.data.path} is not there any more` };
  const ckpt = path.join(runDir, `rep${first.repeat}-fold${first.fold}`, 'model.ckpt');
  if (!fs.existsSync(ckpt)) return { heatmaps: [], note: `${ckpt} not found` };
  await useBackend();
  const positive = first.probabilities[0].length - 1; // binary: class 1; multi-class: the last class
  const order = first.bagIds
    .map((id, i) => ({ id, p: first.probabilities[i][positive], label: first.labels[i] }))
    .sort((a, b) => b.p - a.p)
    .slice(0, count);
  const trained = loadTrainedModel(ckpt);
  const cohort = await Cohort.open(data);
  try {
    const heatmaps: AttentionPayload[] = [];
    for (const pick of order) {
      const bag = await cohort.bag(pick.id);
      if (bag.numInstances > MAX_INSTANCES) continue;
      const pred = await predictInstances(trained.model, bag, trained.stats);
      if (!pred.attention && !pred.instanceProbs)
        return { heatmaps, note: `${run.model.name} gives no instance scores` };
      const classes = pred.logits.length;
      const probability = pred.instanceProbs
        ? Array.from({ length: bag.numInstances }, (_, i) => pred.instanceProbs![i * classes + positive])
        : undefined;
      heatmaps.push(
        attentionView(
          bag,
          { attention: pred.attention, probability },
          { title: `bag ${bag.id}: P(class ${positive}) ${pick.p.toFixed(3)}, label ${pick.label}`, top: 5 },
        ),
      );
    }
    return { heatmaps };
  } finally {
    trained.model.dispose();
    await cohort.close();
  }
}
