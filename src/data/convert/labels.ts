/**
 * The per-slide labels CSV of CLAM, TRIDENT and most slide pipelines:
 *   slide_id,label[,patient_id | case_id][,time,event]
 * The patient column groups a patient's slides, so splits never put them on both sides: it is
 * `--patient-column` when given, else `patient_id`, else CLAM's `case_id`.
 */
import { labelCoding } from '../classes';
import { MilkitDataError } from '../errors';
import { type CsvReadOptions, parseNumber, readCsvRows } from './csvRows';

export interface LabelOptions extends CsvReadOptions {
  /** Column naming the slide/bag (default: slide_id, else bag_id). */
  idColumn?: string;
  /** Class label column (default `label`). */
  labelColumn?: string;
  /** Patient column (default patient_id, else case_id). */
  patientColumn?: string;
  /** Class names in label order (names map to their position). */
  classes?: string[];
}

export interface LabelRow {
  id: string;
  label?: number;
  patientId?: string;
  time?: number;
  event?: number;
  /** Line in the CSV (for messages). */
  line: number;
}

export interface LabelTable {
  file: string;
  rows: LabelRow[];
  classes?: string[];
  /** The column the patients came from, when any. */
  patientColumn?: string;
}

export async function readLabelTable(file: string, opts: LabelOptions = {}): Promise<LabelTable> {
  const rows = readCsvRows(file, opts);
  const head = await rows.next();
  if (head.done)
    throw new MilkitDataError('empty labels file', { file }, 'write a header line such as slide_id,label,case_id');
  const header = head.value.cells;
  const col = (name: string) => header.indexOf(name);
  const need = (name: string, what: string) => {
    if (col(name) < 0)
      throw new MilkitDataError(
        `line 1: no ${what} column "${name}" (columns: ${header.join(', ')})`,
        { file, field: name },
        `name the column "${name}" or pass the right --${what}-column`,
      );
    return col(name);
  };
  const idName = opts.idColumn ?? (col('slide_id') >= 0 || col('bag_id') < 0 ? 'slide_id' : 'bag_id');
  const idCol = need(idName, 'slide');
  const labelCol = opts.labelColumn ? need(opts.labelColumn, 'label') : col('label');
  const patientName = opts.patientColumn ?? ['patient_id', 'case_id'].find((c) => col(c) >= 0);
  const patientCol = patientName === undefined ? -1 : need(patientName, 'patient');
  const [timeCol, eventCol] = [col('time'), col('event')];
  if (labelCol < 0 && timeCol < 0)
    throw new MilkitDataError(
      `line 1: no "label" column (columns: ${header.join(', ')})`,
      { file, field: 'label' },
      'name the class column "label" (or pass --label-column), or give "time" and "event" for survival',
    );
  if (timeCol < 0 !== eventCol < 0)
    throw new MilkitDataError(
      'survival needs both "time" and "event" columns',
      { file, field: timeCol < 0 ? 'time' : 'event' },
      'add the missing column',
    );
  const raw: (LabelRow & { labelText?: string })[] = [];
  const seen = new Map<string, number>();
  for await (const { line, cells } of rows) {
    if (cells.length !== header.length)
      throw new MilkitDataError(
        `line ${line}: ${cells.length} cells, the header has ${header.length}`,
        { file, bag: cells[idCol] },
        'make every row have one cell per header column (quote cells that contain commas)',
      );
    const id = cells[idCol];
    if (id === '')
      throw new MilkitDataError(
        `line ${line}: empty slide id`,
        { file, field: idName },
        'fill in the id or drop the row',
      );
    if (seen.has(id))
      throw new MilkitDataError(
        `line ${line}: slide listed twice (also on line ${seen.get(id)})`,
        { file, bag: id, field: idName },
        'keep one row per slide',
      );
    seen.set(id, line);
    const row: LabelRow & { labelText?: string } = { id, line };
    if (labelCol >= 0) {
      if (cells[labelCol] === '')
        throw new MilkitDataError(
          `line ${line}: missing label`,
          { file, bag: id, field: header[labelCol] },
          'fill in the label or drop the row',
        );
      row.labelText = cells[labelCol];
    }
    if (patientCol >= 0 && cells[patientCol] !== '') row.patientId = cells[patientCol];
    const where = (c: number) => ({ file, line, bag: id, column: header[c] });
    if (timeCol >= 0) row.time = parseNumber(cells[timeCol], where(timeCol));
    if (eventCol >= 0) row.event = parseNumber(cells[eventCol], where(eventCol));
    raw.push(row);
  }
  if (raw.length === 0) throw new MilkitDataError('the labels CSV lists no slides', { file }, 'add one row per slide');
  const texts = raw.map((r) => r.labelText).filter((t): t is string => t !== undefined);
  const { code, classes } = labelCoding(texts, opts.classes, { file, field: header[labelCol] ?? 'label' });
  const out = raw.map(({ labelText, ...r }) => (labelText === undefined ? r : { ...r, label: code(labelText, r.id) }));
  return { file, rows: out, classes, patientColumn: patientCol >= 0 ? patientName : undefined };
}
