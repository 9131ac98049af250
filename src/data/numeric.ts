/** Number conversions shared by the readers: exact or refused, never rounded or wrapped silently. */
import { MilkitDataError } from './errors';

/** IEEE 754 half → number (exact: every half value is a float32 value). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Whole numbers within int32 → Int32Array (any integer width, or floats holding whole numbers). */
export function toInt32(
  values: ArrayLike<number | bigint>,
  where: { file?: string; bag?: string; field: string },
  fix = 'store pixel positions as whole numbers (level-0 pixels fit in int32)',
): Int32Array {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Number(values[i]);
    if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31)
      throw new MilkitDataError(`value ${values[i]} at instance ${i} is not a whole number within int32`, where, fix);
    out[i] = v;
  }
  return out;
}
