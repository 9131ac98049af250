/**
 * A Kubernetes Indexed Job for a sweep (`milkit sweep --executor k8s --dry-run` writes it; apply it
 * with `kubectl apply -f SWEEP_DIR/k8s/job.yaml`). `completionMode: Indexed` gives each pod its
 * `JOB_COMPLETION_INDEX`, which is the unit index: every pod runs
 * `milkit sweep run SWEEP_DIR --unit $JOB_COMPLETION_INDEX`. Finished units are skipped by the
 * runner, so re-applying the Job after failures reruns only what is missing.
 *
 * The sweep folder and the cohort must be visible inside the pod at the paths the plan recorded:
 * the manifest mounts one PersistentVolumeClaim at `mountPath` (default: the sweep folder's parent).
 */
import * as path from 'node:path';
import type { SweepFolder, SweepManifest } from './folder';

export interface K8sOptions {
  /** Container image with milkit installed (its `milkit` on PATH). */
  image?: string;
  namespace?: string;
  /** Pods at once (default: all units). */
  parallelism?: number;
  cpus?: number;
  /** Memory request and limit, Kubernetes quantity (e.g. 8Gi). */
  mem?: string;
  gpus?: number;
  /** PersistentVolumeClaim holding the sweep folder and the cohort. */
  pvc?: string;
  mountPath?: string;
  /** Retries of each failing index (Kubernetes ≥ 1.29, `backoffLimitPerIndex`). */
  retries?: number;
}

const dnsName = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50) || 'sweep';

export function k8sJob(folder: SweepFolder, manifest: SweepManifest, o: K8sOptions = {}): Record<string, unknown> {
  const units = manifest.units.length;
  const mountPath = o.mountPath ?? path.dirname(folder.dir);
  const resources: Record<string, Record<string, string | number>> = {
    requests: { cpu: String(o.cpus ?? 1), ...(o.mem ? { memory: o.mem } : {}) },
    limits: { ...(o.mem ? { memory: o.mem } : {}), ...(o.gpus ? { 'nvidia.com/gpu': String(o.gpus) } : {}) },
  };
  if (Object.keys(resources.limits).length === 0) delete resources.limits;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: `milkit-${dnsName(manifest.plan.name)}-${manifest.fingerprint.slice(0, 8)}`,
      ...(o.namespace ? { namespace: o.namespace } : {}),
      labels: { 'app.kubernetes.io/name': 'milkit', 'app.kubernetes.io/component': 'sweep' },
      annotations: { 'milkit/sweep-dir': folder.dir, 'milkit/fingerprint': manifest.fingerprint },
    },
    spec: {
      completionMode: 'Indexed',
      completions: units,
      parallelism: Math.min(o.parallelism ?? units, units),
      backoffLimitPerIndex: o.retries ?? 2,
      // A failed index must not fail the others: the Job ends when every index has finished or
      // used its retries; `milkit sweep status` then lists what failed.
      maxFailedIndexes: units,
      template: {
        metadata: { labels: { 'app.kubernetes.io/name': 'milkit' } },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'unit',
              image: o.image ?? 'milkit:latest',
              // The Job controller sets JOB_COMPLETION_INDEX in every pod of an Indexed Job.
              command: ['sh', '-c', 'exec milkit sweep run "$0" --unit "$JOB_COMPLETION_INDEX"', folder.dir],
              resources,
              volumeMounts: [{ name: 'sweep', mountPath }],
            },
          ],
          volumes: [{ name: 'sweep', persistentVolumeClaim: { claimName: o.pvc ?? 'milkit-sweeps' } }],
        },
      },
    },
  };
}
