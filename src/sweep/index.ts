/** Sweeps: models × settings × folds × seeds as units run by a local pool, Slurm job arrays or Kubernetes. */
export {
  type PlanCohort,
  type PlanModel,
  type ResolvedCohort,
  type ResolvedPlan,
  type SweepConfig,
  type SweepPlan,
  SweepPlanError,
  cohortsOf,
  readPlan,
  resolvePlan,
  unitTrainConfig,
} from './plan';
export {
  type CohortIdentity,
  type EmbedManifest,
  type Submission,
  type SweepManifest,
  type TrainManifest,
  type Unit,
  type UnitBase,
  type UnitKind,
  SweepFolder,
} from './folder';
export {
  type EmbedPlan,
  type EmbedSummary,
  type EmbedUnit,
  type EmbedUnitResult,
  type ResolvedEmbedPlan,
  collectEmbedSweep,
} from './embedUnit';
export { type UnitResult } from './trainUnit';
export { type RunOutcome, RUN_EXIT, runUnit, teeOutput } from './runner';
export { type LocalOptions, type LocalRun, runLocal } from './local';
export { type SlurmOptions, SlurmUnavailableError, arrayRanges, checkSlurm, slurmScript } from './slurm';
export { type K8sOptions, k8sJob } from './k8s';
export { type SweepStatus, type UnitState, type UnitStatus, UNIT_STATES, statusLine, sweepStatus } from './status';
export {
  type ConfigRow,
  type MetricCell,
  type SweepTable,
  collectSweep,
  tableCsv,
  tableMarkdown,
  writeTable,
} from './collect';
export {
  type Collected,
  type ExecutorName,
  type ExecutorOptions,
  type Submitted,
  type SweepOptions,
  SweepHandle,
  collectAny,
  collectedMarkdown,
  openSweep,
  planSweep,
  submitSweep,
  sweep,
  unitsToResubmit,
} from './sweep';
