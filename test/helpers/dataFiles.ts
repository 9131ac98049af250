/** Small bad input files for the corpus: CSV text, Arrow tables and HDF5 files written directly. */
import * as A from 'apache-arrow';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeCohort } from '../../src/data';
import { loadH5wasm } from '../../src/data/convert';

export function text(dir: string, name: string, content: string | Buffer): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

type Cols = Record<string, unknown[]>;

/** An Arrow IPC file with one record batch per entry of `batches`, columns typed by `fields`. */
export function arrowFile(
  file: string,
  fields: [string, A.DataType][],
  batches: Cols[],
  metadata: Record<string, string> = {},
  format: 'file' | 'stream' = 'file',
): string {
  const schema = new A.Schema(
    fields.map(([n, t]) => new A.Field(n, t, true)),
    new Map(Object.entries(metadata)),
  );
  const records = batches.map((cols) => {
    const length = cols[fields[0][0]].length;
    const children = fields.map(([n, t]) => A.vectorFromArray(cols[n] as never[], t).data[0]);
    return new A.RecordBatch(schema, A.makeData({ type: new A.Struct(schema.fields), length, children }));
  });
  const writer = format === 'file' ? new A.RecordBatchFileWriter() : new A.RecordBatchStreamWriter();
  writer.reset(undefined, schema);
  for (const r of records) writer.write(r);
  writer.finish();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, writer.toUint8Array(true));
  return file;
}

export const fsl = (d: number, t: A.Float = new A.Float32()) => new A.FixedSizeList(d, new A.Field('item', t, true));

/** The default instance fields: bag_id, x, y, features FixedSizeList<float32>[2]. */
export const INSTANCE_FIELDS: [string, A.DataType][] = [
  ['bag_id', new A.Utf8()],
  ['x', new A.Int32()],
  ['y', new A.Int32()],
  ['features', fsl(2)],
];

/** One bag's columns: n instances with features [i, i+0.5] and coordinates (i, 2i). */
export function bagCols(id: string, n: number): Cols {
  return {
    bag_id: Array(n).fill(id),
    x: Array.from({ length: n }, (_, i) => i),
    y: Array.from({ length: n }, (_, i) => 2 * i),
    features: Array.from({ length: n }, (_, i) => [i, i + 0.5]),
  };
}

/** A bag table file. */
export function bagTable(file: string, cols: Cols, types: Record<string, A.DataType> = {}): string {
  const fields: [string, A.DataType][] = Object.keys(cols).map((n) => [
    n,
    types[n] ?? (typeof cols[n][0] === 'string' ? new A.Utf8() : new A.Int32()),
  ]);
  return arrowFile(file, fields, [cols]);
}

/** A valid two-bag cohort written by milkit itself. */
export async function goodCohort(file: string): Promise<string> {
  await writeCohort(
    file,
    [
      { id: 'a', label: 0, features: new Float32Array([1, 2, 3, 4]), coords: new Int32Array([0, 0, 1, 1]) },
      { id: 'b', label: 1, features: new Float32Array([5, 6]), coords: new Int32Array([2, 2]) },
    ],
    { dim: 2 },
  );
  return file;
}

/** An HDF5 file with the given datasets. */
export async function h5File(
  file: string,
  datasets: {
    name: string;
    data: ArrayLike<number> | ArrayLike<bigint> | string[];
    shape?: number[];
    dtype?: string;
  }[],
): Promise<string> {
  const h5 = await loadH5wasm();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const f = new h5.File(file, 'w');
  for (const d of datasets) f.create_dataset(d as never);
  f.close();
  return file;
}

/** Features [n, d] (values i*d+j)/10 and int64 coords, as CLAM writes them. */
export function slide(n: number, d: number) {
  return [
    { name: 'features', data: Float32Array.from({ length: n * d }, (_, i) => i / 10), shape: [n, d] },
    { name: 'coords', data: BigInt64Array.from({ length: 2 * n }, (_, i) => BigInt(i * 256)), shape: [n, 2] },
  ];
}
