/** The model classes, their interface, losses and shared layers (by name: src/registry; save/load: src/persist). */
export * from './types';
export * from './losses';
export { MilBase, ProjectedMil, uploadBag, type ProjectionConfig } from './base';
export { Abmil, ABMIL_DEFAULTS, type AbmilConfig } from './abmil';
export { Dsmil, DSMIL_DEFAULTS, type DsmilConfig } from './dsmil';
export { Transmil, TRANSMIL_DEFAULTS, type TransmilConfig } from './transmil';
export { Clam, CLAM_DEFAULTS, type ClamConfig } from './clam';
export * from './pooling';
export { NamedMil } from './named';
export {
  ConvEncoder,
  IMAGE_MIL_DEFAULTS,
  IMAGE_ENCODERS,
  encodedShape,
  type ImageMilConfig,
  type ImageEncoderName,
} from './imageMil';
export { convValid, maxPool2 } from './layers/convValid';
export * from './layers/params';
export * from './layers/activations';
export { Dense, recordingGradients } from './layers/dense';
export { dropout } from './layers/dropout';
export { LayerNorm } from './layers/layerNorm';
export {
  AttentionScorer,
  softmaxOverInstances,
  type AttentionKind,
  type AttentionScorerOptions,
} from './layers/attention';
export { MultiHeadCrossAttention, type CrossAttentionOptions } from './layers/crossAttention';
export {
  NystromAttention,
  moorePenrosePinv,
  nystromHeads,
  nystromHeadsReference,
  type NystromOptions,
  type NystromResult,
  type NystromShape,
} from './layers/nystrom';
export { PPEG } from './layers/ppeg';
export { checkpointed, withNestedTape } from './layers/checkpoint';
export { tidyObject } from './layers/tidy';
// Instance-level methods of the deep-MIL catalogue
export { AdaptivePooling, ADAPTIVE_POOLING_DEFAULTS, type AdaptivePoolingConfig } from './adaptivePooling';
export { CertaintyPooling, CERTAINTY_POOLING_DEFAULTS, type CertaintyPoolingConfig } from './certaintyPooling';
export { PowerPooling, POWER_POOLING_DEFAULTS, type PowerPoolingConfig } from './powerPooling';
export { Mivae, MIVAE_DEFAULTS, type MivaeConfig } from './mivae';
export { CausalMil, CAUSAL_MIL_DEFAULTS, type CausalMilConfig } from './causalMil';
export { AdditiveMil, ADDITIVE_MIL_DEFAULTS, type AdditiveMilConfig } from './additiveMil';
export { Millet, MILLET_DEFAULTS, type MilletConfig } from './millet';
export { Mirel, MIREL_DEFAULTS, evidentialLoss, type MirelConfig } from './mirel';
export { FocusMil, FOCUS_MIL_DEFAULTS, type FocusMilConfig } from './focusMil';
export { Mlp, INSTANCE_ENCODER_DEFAULTS, type InstanceEncoderConfig } from './layers/mlp';
export { stopGradient } from './layers/stopGradient';
export { lgamma, digamma, klDirichletUniform } from './layers/specialFunctions';
// Bag-level methods of the deep-MIL catalogue
export { DpMinn, DP_MINN_DEFAULTS, squash, type DpMinnConfig } from './dpMinn';
export { GnnMil, GNN_MIL_DEFAULTS, type GnnMilConfig } from './gnnMil';
export { LossAttention, LOSS_ATTENTION_DEFAULTS, type LossAttentionConfig } from './lossAttention';
export {
  SaAbmilp,
  SA_ABMILP_DEFAULTS,
  SELF_ATTENTION_KERNELS,
  kernelMatrix,
  type SaAbmilpConfig,
  type SelfAttentionKernel,
} from './saAbmilp';
export { DtfdMil, DTFD_MIL_DEFAULTS, type DtfdMilConfig, type DtfdDistill } from './dtfdMil';
export { Ibmil, IBMIL_DEFAULTS, buildConfounders, type IbmilConfig } from './ibmil';
export { DasMil, DAS_MIL_DEFAULTS, patchUnit, distanceRows, type DasMilConfig } from './dasMil';
export { ExtremeMil, EXTREME_MIL_DEFAULTS, type ExtremeMilConfig } from './extremeMil';
export { R2tMil, R2T_MIL_DEFAULTS, regionLayout, type R2tMilConfig } from './r2tMil';
export { squaredDistances, inRowBlocks, sumOverRowBlocks, ROW_BLOCK } from './layers/pairwise';
