/**
 * Every model milkit builds by name, in one table: name → description, paper, complete default
 * config, survey level and the published numbers we compare against. Model files export their class
 * and typed defaults only; this file is the one place that says which models exist, so there is no
 * registration by import side effect and nothing here is imported back by the models.
 */
import * as tf from '@tensorflow/tfjs';
import { MHIM_BASE_VARIANTS, MHIM_MODEL_DEFAULTS, type MhimModelConfig } from '../mhim/config';
import { MhimModel } from '../mhim/mhim';
import { ABMIL_DEFAULTS, Abmil, type AbmilConfig } from '../models/abmil';
import { ADAPTIVE_POOLING_DEFAULTS, AdaptivePooling, type AdaptivePoolingConfig } from '../models/adaptivePooling';
import { ADDITIVE_MIL_DEFAULTS, AdditiveMil, type AdditiveMilConfig } from '../models/additiveMil';
import { CAUSAL_MIL_DEFAULTS, CausalMil, type CausalMilConfig } from '../models/causalMil';
import { CERTAINTY_POOLING_DEFAULTS, CertaintyPooling, type CertaintyPoolingConfig } from '../models/certaintyPooling';
import { CLAM_DEFAULTS, Clam, type ClamConfig } from '../models/clam';
import { DAS_MIL_DEFAULTS, DasMil, type DasMilConfig } from '../models/dasMil';
import { DP_MINN_DEFAULTS, DpMinn, type DpMinnConfig } from '../models/dpMinn';
import { DSMIL_DEFAULTS, Dsmil, type DsmilConfig } from '../models/dsmil';
import { DTFD_MIL_DEFAULTS, DtfdMil, type DtfdMilConfig } from '../models/dtfdMil';
import { EXTREME_MIL_DEFAULTS, ExtremeMil, type ExtremeMilConfig } from '../models/extremeMil';
import { FOCUS_MIL_DEFAULTS, FocusMil, type FocusMilConfig } from '../models/focusMil';
import { GNN_MIL_DEFAULTS, GnnMil, type GnnMilConfig } from '../models/gnnMil';
import { IBMIL_DEFAULTS, Ibmil, type IbmilConfig } from '../models/ibmil';
import { ConvEncoder, IMAGE_MIL_DEFAULTS, type ImageMilConfig } from '../models/imageMil';
import { LOSS_ATTENTION_DEFAULTS, LossAttention, type LossAttentionConfig } from '../models/lossAttention';
import { MILLET_DEFAULTS, Millet, type MilletConfig } from '../models/millet';
import { MIREL_DEFAULTS, Mirel, type MirelConfig } from '../models/mirel';
import { MIVAE_DEFAULTS, Mivae, type MivaeConfig } from '../models/mivae';
import { NamedMil } from '../models/named';
import {
  MAX_MIL_DEFAULTS,
  MEAN_MIL_DEFAULTS,
  MI_NET_DEFAULTS,
  MI_NET_EMBEDDING_DEFAULTS,
  PoolingMil,
  type PoolingMilConfig,
} from '../models/pooling';
import { POWER_POOLING_DEFAULTS, PowerPooling, type PowerPoolingConfig } from '../models/powerPooling';
import { R2T_MIL_DEFAULTS, R2tMil, type R2tMilConfig } from '../models/r2tMil';
import { SA_ABMILP_DEFAULTS, SaAbmilp, type SaAbmilpConfig } from '../models/saAbmilp';
import { TRANSMIL_DEFAULTS, Transmil, type TransmilConfig } from '../models/transmil';
import type { BaseModelConfig, InstanceEncoder, MilModel, StagedMilModel } from '../models/types';

/** Published results printed beside ours (catalogue table, `milkit demo`), with their source. */
export interface PublishedResults {
  /** MUSK1 accuracy, 5 × 10-fold (mean), and its sd when published. */
  musk1Accuracy?: number;
  musk1AccuracySd?: number;
  /** MNIST-bags test AUC (target 9, mean bag size 10) by number of training bags (Ilse et al.'s protocol). */
  mnistBagsAuc?: Readonly<Record<number, number>>;
  source: string;
  /** Colon cancer bags (bag = image, CNN on pixels): bag accuracy and AUC, from their own source. */
  colon?: { accuracy: number; auc: number; source: string };
}

/** What a table entry's `create` may use to build the models it wraps (MHIM, image-mil). */
export interface ModelBuilder {
  create(name: string, config: Record<string, unknown>): MilModel;
  /** A staged model with an instance encoder in front (throws for a model that is not staged). */
  create(name: string, config: Record<string, unknown>, encoder: InstanceEncoder): StagedMilModel;
}

export interface ModelEntry<C extends BaseModelConfig = BaseModelConfig, M extends MilModel = MilModel<C>> {
  /** One line: what the model does. */
  description: string;
  /** The paper that defines it. */
  paper: string;
  /** The complete published defaults. */
  defaults: C;
  /** Config fields without a fixed default (derived from others when absent). */
  optional?: readonly string[];
  /** How the deep-MIL survey groups it: scores instances then pools them, or pools instance embeddings. */
  level?: 'instance' | 'bag';
  published?: PublishedResults;
  /**
   * Built in stages (embed instances → aggregate, `StagedMilModel`): the model takes an instance
   * encoder (`create`'s third argument) and can carry MHIM's Global Recycle Network.
   */
  staged?: true;
  create(config: C, models: ModelBuilder, encoder?: InstanceEncoder): M;
}

/** Keeps each entry's config type (so `createModel('abmil', …)` is checked against `AbmilConfig`). */
const entry = <C extends BaseModelConfig, M extends MilModel = MilModel<C>>(e: ModelEntry<C, M>): ModelEntry<C, M> => e;

const ILSE = 'Ilse, Tomczak & Welling, Attention-based Deep Multiple Instance Learning, ICML 2018';
const ILSE_RESULTS = 'Ilse et al. ICML 2018 (MUSK1 5 × 10-fold; MNIST-bags mean size 10)';
const CLAM_PAPER =
  'Lu et al., Data-efficient and weakly supervised computational ' +
  'pathology on whole-slide images, Nat. Biomed. Eng. 2021';
const COLON_RESULTS =
  'Ilse et al. 2018 attention / gated attention on colon cancer, as reported in PMC10072016 Table 6 ' +
  '(accuracy, AUC; their setting: bag = image, CNN on pixels)';
const MHIM_BASELINE = 'baseline of MHIM-MIL (Tang et al., ICCV 2023)';
const WANG = 'Wang et al., Revisiting Multiple Instance Neural Networks, Pattern Recognition 2018';
const WANG_RESULTS = 'Wang et al. Pattern Recognition 2018 (MUSK1 5 × 10-fold)';

export const MODELS = {
  abmil: entry<AbmilConfig>({
    description: 'attention-based MIL: projection, tanh/gated/relu attention pooling, linear classifier',
    paper: ILSE,
    defaults: ABMIL_DEFAULTS,
    optional: ['attentionDim', 'attentionDropout', 'hidden', 'weightInit'],
    published: {
      musk1Accuracy: 0.892,
      musk1AccuracySd: 0.04,
      mnistBagsAuc: { 50: 0.914, 100: 0.963, 150: 0.977, 200: 0.984 },
      source: ILSE_RESULTS,
      colon: { accuracy: 0.9, auc: 0.959, source: COLON_RESULTS },
    },
    staged: true,
    create: (c, _, e) => new Abmil(c, 'abmil', e),
  }),
  gabmil: entry<AbmilConfig>({
    description: 'gated attention MIL (abmil with gated: true; hidden 384, dropout 0.25 on both branches)',
    paper: ILSE,
    defaults: { ...ABMIL_DEFAULTS, gated: true },
    optional: ['attentionDim', 'attentionDropout', 'hidden', 'weightInit'],
    published: {
      musk1Accuracy: 0.9,
      musk1AccuracySd: 0.05,
      source: ILSE_RESULTS,
      colon: { accuracy: 0.89, auc: 0.955, source: COLON_RESULTS },
    },
    staged: true,
    create: (c, _, e) => new Abmil(c, 'gabmil', e),
  }),
  'clam-sb': entry<ClamConfig>({
    description: 'CLAM single-branch: gated attention pooling + instance-clustering loss (top/bottom k)',
    paper: CLAM_PAPER,
    defaults: CLAM_DEFAULTS,
    staged: true,
    create: (c, _, e) => new Clam(c, false, e),
  }),
  'clam-mb': entry<ClamConfig>({
    description: 'CLAM multi-branch: one gated attention branch and classifier per class + instance clustering',
    paper: CLAM_PAPER,
    defaults: CLAM_DEFAULTS,
    staged: true,
    create: (c, _, e) => new Clam(c, true, e),
  }),
  dsmil: entry<DsmilConfig>({
    description: 'dual-stream MIL: max-instance classifier + attention to the critical instance, logits averaged',
    paper: 'Li, Li & Eliceiri, Dual-stream Multiple Instance Learning Network for WSI Classification, CVPR 2021',
    defaults: DSMIL_DEFAULTS,
    staged: true,
    create: (c, _, e) => new Dsmil(c, e),
  }),
  'mean-mil': entry<PoolingMilConfig>({
    description: 'instance MLP, bag logits = mean of the instance logits',
    paper: MHIM_BASELINE,
    defaults: MEAN_MIL_DEFAULTS,
    create: (c) => new PoolingMil('mean-mil', c),
  }),
  'max-mil': entry<PoolingMilConfig>({
    description: 'instance MLP, bag logits = max of the instance logits',
    paper: MHIM_BASELINE,
    defaults: MAX_MIL_DEFAULTS,
    create: (c) => new PoolingMil('max-mil', c),
  }),
  'mi-net': entry<PoolingMilConfig>({
    description: 'mi-Net: instance-level MIL network (256-128-64 MLP, max pooling of instance scores)',
    paper: WANG,
    defaults: MI_NET_DEFAULTS,
    published: { musk1Accuracy: 0.889, source: WANG_RESULTS },
    create: (c) => new PoolingMil('mi-net', c),
  }),
  'MI-net': entry<PoolingMilConfig>({
    description: 'MI-Net: embedding-level MIL network (256-128-64 MLP, max pooling of embeddings, linear classifier)',
    paper: WANG,
    defaults: MI_NET_EMBEDDING_DEFAULTS,
    published: { musk1Accuracy: 0.887, source: WANG_RESULTS },
    create: (c) => new PoolingMil('MI-net', c),
  }),
  transmil: entry<TransmilConfig>({
    description: 'transformer MIL: class token, two Nyström attention layers with the PPEG position encoding between',
    paper:
      'Shao et al., TransMIL: Transformer based Correlated Multiple ' +
      'Instance Learning for WSI Classification, NeurIPS 2021',
    defaults: TRANSMIL_DEFAULTS,
    optional: ['headDim', 'landmarks'],
    staged: true,
    create: (c, _, e) => new Transmil(c, e),
  }),
  'image-mil': entry<ImageMilConfig>({
    description:
      'convolutional instance encoder (LeNet-5 style, trained end ' +
      'to end) in front of any staged MIL model, for image instances',
    paper: `${ILSE} (MNIST-bags and histology experiments)`,
    defaults: IMAGE_MIL_DEFAULTS,
    create: (c, models) => {
      const [h, w, ch] = c.imageShape;
      if (h * w * ch !== c.inputDim)
        throw new Error(`image-mil: imageShape ${h}×${w}×${ch} = ${h * w * ch} pixels, but inputDim is ${c.inputDim}`);
      const encoder = new ConvEncoder(c.encoder, c.imageShape, c.seed);
      // The model's own projection is the paper's fully connected layer (fc-500 + ReLU, no dropout).
      const { activation, dropout, embedDim, numClasses, seed } = c;
      const inner = models.create(
        c.mil,
        { ...c.milConfig, inputDim: encoder.outputDim, embedDim, activation, dropout, numClasses, seed },
        encoder,
      );
      tf.tidy(() => inner.namedVariables().get('projection/kernel')!.assign(encoder.nextLayerInit(embedDim)));
      // Saved as LeNet (convolutions + fc) under encoder/, the MIL model under mil/.
      const rename = (n: string) =>
        n.startsWith('encoder/') ? n : n.startsWith('projection/') ? `encoder/fc/${n.slice(11)}` : `mil/${n}`;
      return new NamedMil('image-mil', c, inner, rename);
    },
  }),
  mhim: entry<MhimModelConfig, MhimModel>({
    description:
      'MHIM-MIL: masked hard instance mining with a momentum teacher ' +
      'around any attention model (v1, v2 with the Global Recycle Network)',
    paper:
      'Tang et al., Multiple Instance Learning Framework with Masked Hard Instance ' +
      'Mining for Gigapixel Histopathology Image Analysis, ICCV 2023 / IJCV 2025',
    defaults: MHIM_MODEL_DEFAULTS,
    optional: ['init'],
    create: (c, models) => {
      // The teacher gets seed + 1 (its own dropout masks); the masking stream uses mhim.seed or the model seed.
      const seed = c.seed ?? 0;
      const baseConfig = { ...MHIM_BASE_VARIANTS[c.base], ...c.baseConfig };
      return new MhimModel(
        (role) =>
          models.create(c.base, {
            ...baseConfig,
            inputDim: c.inputDim,
            numClasses: c.numClasses,
            seed: role === 'teacher' ? seed + 1 : seed,
          }),
        { ...c.mhim, seed: c.mhim.seed ?? seed },
        { base: c.base, baseConfig, init: c.init },
      );
    },
  }),
  'adaptive-pooling': entry<AdaptivePoolingConfig>({
    description:
      'instance MLP + adaptive pooling of instance probabilities: ' +
      'generalized mean with a learnable exponent per class (or AutoPool)',
    paper:
      'McFee, Salamon & Bello, Adaptive pooling operators for ' +
      'weakly labeled sound event detection, IEEE/ACM TASLP 2018',
    level: 'instance',
    defaults: ADAPTIVE_POOLING_DEFAULTS,
    create: (c) => new AdaptivePooling(c),
  }),
  'certainty-pooling': entry<CertaintyPoolingConfig>({
    description:
      'instance MLP + certainty pooling: the bag takes the ' +
      'instance with the highest MC-dropout certainty × probability',
    paper:
      'Gildenblat, Ben-Shaul, Lapp & Klaiman, Certainty Pooling for Multiple Instance Learning, ICPR Workshops 2021',
    level: 'instance',
    defaults: CERTAINTY_POOLING_DEFAULTS,
    create: (c) => new CertaintyPooling(c),
  }),
  'power-pooling': entry<PowerPoolingConfig>({
    description:
      'instance MLP + power pooling: instance probabilities averaged with weights p^n, learnable power n per class',
    paper:
      'Liu, Chen, Wang, Zhang, Power pooling: an adaptive pooling ' +
      'function for weakly labelled sound event detection, IJCNN 2021',
    level: 'instance',
    defaults: POWER_POOLING_DEFAULTS,
    create: (c) => new PowerPooling(c),
  }),
  mivae: entry<MivaeConfig>({
    description:
      'MIVAE: VAE with a bag-level and an instance-level latent; ' +
      'instance classifier on the instance latent, max pooling',
    paper:
      'Zhang, Non-I.I.D. Multi-Instance Learning for Predicting ' +
      'Instance and Bag Labels with Variational Auto-Encoder, IJCAI 2021',
    level: 'instance',
    defaults: MIVAE_DEFAULTS,
    create: (c) => new Mivae(c),
  }),
  causalmil: entry<CausalMilConfig>({
    description:
      'CausalMIL: iVAE with causal / non-causal instance latents and a ' +
      'bag-context prior; instance classifier on the causal part, max pooling',
    paper:
      'Zhang, Zhang, Deng & Zhang, Multi-Instance Causal Representation Learning for ' +
      'Instance Label Prediction and Out-of-Distribution Generalization, NeurIPS 2022',
    level: 'instance',
    defaults: CAUSAL_MIL_DEFAULTS,
    create: (c) => new CausalMil(c),
  }),
  'additive-mil': entry<AdditiveMilConfig>({
    description:
      'Additive MIL: attention-scaled instances mapped to per-instance class contributions, bag logits = their sum',
    paper:
      'Javed et al., Additive MIL: Intrinsically Interpretable Multiple Instance Learning for Pathology, NeurIPS 2022',
    level: 'instance',
    defaults: ADDITIVE_MIL_DEFAULTS,
    staged: true,
    create: (c, _, e) => new AdditiveMil(c, e),
  }),
  millet: entry<MilletConfig>({
    description:
      'MILLET conjunctive pooling: sigmoid attention gates each instance, a linear head predicts it, bag logits = mean',
    paper:
      'Early et al., Inherently Interpretable Time Series ' +
      'Classification via Multiple Instance Learning (MILLET), ICLR 2024',
    level: 'instance',
    defaults: MILLET_DEFAULTS,
    create: (c) => new Millet(c),
  }),
  mirel: entry<MirelConfig>({
    description:
      'MIREL: AB-MIL with a Dirichlet (evidential) bag head and ' +
      'residual instance evidence; bag and instance uncertainty',
    paper:
      'Liu & Ji, Weakly-Supervised Residual Evidential Learning ' +
      'for Multi-Instance Uncertainty Estimation (MIREL), ICML 2024',
    level: 'instance',
    defaults: MIREL_DEFAULTS,
    create: (c) => new Mirel(c),
  }),
  focusmil: entry<FocusMilConfig>({
    description:
      'FocusMIL: variational instance encoder (KL bottleneck) + instance ' +
      'classifier + max pooling; mini-batches via gradient accumulation',
    paper:
      'Liu, Zhang, Tang, Le, Li, Liu & Zhang, From Correlation to Causation: Max-Pooling-Based ' +
      'Multi-Instance Learning Leads to More Robust WSI Classification (FocusMIL), arXiv 2408.09449, 2024',
    level: 'instance',
    defaults: FOCUS_MIL_DEFAULTS,
    create: (c) => new FocusMil(c),
  }),
  'dp-minn': entry<DpMinnConfig>({
    description:
      'dynamic pooling: instance MLP, pooling weights from routing ' +
      'iterations (softmax of agreement with the squashed bag vector)',
    paper: 'Yan et al., Deep Multi-instance Learning with Dynamic Pooling, ACML 2018 (PMLR 95)',
    level: 'bag',
    defaults: DP_MINN_DEFAULTS,
    create: (c) => new DpMinn(c),
  }),
  'gnn-mil': entry<GnnMilConfig>({
    description:
      'bag as a distance-threshold instance graph: GraphSAGE embeddings, ' +
      'DiffPool soft clustering, classifier on the pooled clusters',
    paper: 'Tu, Huang, He & Zhou, Multiple instance learning with graph neural networks, ICML 2019 Workshop (LRG)',
    level: 'bag',
    defaults: GNN_MIL_DEFAULTS,
    create: (c) => new GnnMil(c),
  }),
  'loss-attention': entry<LossAttentionConfig>({
    description:
      'loss-based attention: instance weights from the shared classifier’s ' +
      'logits (softmax of log-sum-exp), plus the fused instance loss',
    paper: 'Shi et al., Loss-Based Attention for Deep Multiple Instance Learning, AAAI 2020',
    level: 'bag',
    published: {
      musk1Accuracy: 0.917,
      mnistBagsAuc: { 100: 0.969 },
      source: 'Shi et al. AAAI 2020 (MUSK1 5 × 10-fold; MNIST-bags mean size 10, 100 training bags)',
    },
    defaults: LOSS_ATTENTION_DEFAULTS,
    create: (c) => new LossAttention(c),
  }),
  'sa-abmilp': entry<SaAbmilpConfig>({
    description:
      'self-attention (dot / rbf / inverse-quadratic / laplace ' +
      '/ module kernel, residual γ from 0) before AB-MIL pooling',
    paper:
      'Rymarczyk et al., Kernel Self-Attention for Weakly-supervised Image ' +
      'Classification using Deep Multiple Instance Learning, WACV 2021',
    level: 'bag',
    defaults: SA_ABMILP_DEFAULTS,
    staged: true,
    create: (c, _, e) => new SaAbmilp(c, e),
  }),
  'dtfd-mil': entry<DtfdMilConfig>({
    description:
      'double-tier feature distillation: attention MIL on random pseudo-bags ' +
      '(tier 1), attention MIL on their distilled features (tier 2)',
    paper:
      'Zhang et al., DTFD-MIL: Double-Tier Feature Distillation Multiple ' +
      'Instance Learning for Histopathology WSI Classification, CVPR 2022',
    level: 'bag',
    defaults: DTFD_MIL_DEFAULTS,
    create: (c) => new DtfdMil(c),
  }),
  ibmil: entry<IbmilConfig>({
    description:
      'interventional training: AB-MIL + backdoor adjustment over a ' +
      'k-means dictionary of trained bag embeddings (built mid-run)',
    paper: 'Lin et al., Interventional Bag Multi-Instance Learning on Whole-Slide Pathological Images, CVPR 2023',
    level: 'bag',
    defaults: IBMIL_DEFAULTS,
    staged: true,
    create: (c, _, e) => new Ibmil(c, e),
  }),
  'das-mil': entry<DasMilConfig>({
    description:
      'distance-aware self-attention (interpolated relative-distance ' +
      'embeddings on keys and values, from coords) + gated attention pooling ' +
      '(its attention mixes in bag context: not an instance score)',
    paper: 'Wölflein et al., Deep Multiple Instance Learning with Distance-Aware Self-Attention, arXiv 2023',
    level: 'bag',
    defaults: DAS_MIL_DEFAULTS,
    staged: true,
    create: (c, _, e) => new DasMil(c, e),
  }),
  'extreme-mil': entry<ExtremeMilConfig>({
    description:
      'attention pooling with a frozen random attention projection; only the attention vector and classifier train',
    paper:
      'ELM-style attention (Huang et al., Extreme learning machine, ' +
      'Neurocomputing 2006) on AB-MIL (Ilse et al., ICML 2018)',
    level: 'bag',
    defaults: EXTREME_MIL_DEFAULTS,
    staged: true,
    create: (c, _, e) => new ExtremeMil(c, e),
  }),
  'r2t-mil': entry<R2tMilConfig>({
    description:
      'regional re-embedding transformer (self-attention in local ' +
      'regions + cross-region attention) before AB-MIL pooling',
    paper:
      'Tang et al., Feature Re-Embedding: Towards Foundation ' +
      'Model-Level Performance in Computational Pathology, CVPR 2024',
    level: 'bag',
    defaults: R2T_MIL_DEFAULTS,
    staged: true,
    create: (c, _, e) => new R2tMil(c, e),
  }),
};
