/** The real slides the slide tests read, and which backends this machine can test. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openslideAddon } from '../../../src';
import { sharedData } from '../shared-data';

export const CMU = () => sharedData('wsi/CMU-1-Small-Region.svs');
export const UCSB = () => sharedData('breast-ucsb/bisque_breast_58_tif.tar.gz');

/** Which backends read SVS here: OpenSlide is required in CI (.ci/run installs it), optional elsewhere. */
export function svsBackends(): ('openslide' | 'tiff')[] {
  if (openslideAddon()) return ['openslide', 'tiff'];
  if (process.env.CI)
    throw new Error('CI must test the OpenSlide backend: native/build/Release/milkit_openslide.node was not built');
  console.log('      [slides] OpenSlide addon not built here: testing the pure-JS backend only');
  return ['tiff'];
}
/** Unpacks the UCSB archive once per suite (Debian tar). */
export function unpackUcsb(dir: string): string[] {
  execFileSync('tar', ['xzf', UCSB(), '-C', dir]);
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.tif'))
    .sort()
    .map((f) => path.join(dir, f));
}
