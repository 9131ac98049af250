/**
 * Everything milkit saves, in one checkpoint format (format.ts): models, trained fold models,
 * training state for exact resume, SSL pretraining; atomic writes and run fingerprints.
 */
export { removeStaleTempFiles, writeFileAtomic } from './atomic';
export {
  type RunFingerprint,
  dataFingerprint,
  fileContentSample,
  fingerprintDifferences,
  runFingerprint,
} from './fingerprint';
export {
  CHECKPOINT_VERSION,
  type Checkpoint,
  type CheckpointContent,
  type CheckpointKind,
  type CheckpointTensor,
  readCheckpoint,
  writeCheckpoint,
} from './format';
export {
  type TrainedModel,
  findTrainedModels,
  loadModel,
  loadTrainedModel,
  saveModel,
  saveTrainedModel,
} from './model';
export { loadSslNetwork } from './ssl';
