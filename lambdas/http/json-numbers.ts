/**
 * Finds a number in JSON text that JavaScript cannot keep exactly. JSON.parse reads every number as
 * an IEEE 754 double, so `9007199254740993` silently becomes `…992` and `1e400` becomes Infinity
 * (which JSON.stringify then writes as `null`). A body whose numbers would change on their way into
 * a SET is refused instead (400), naming the number; a number that a double holds exactly, however
 * it is written (`1e20`, `5e-324`, `9007199254740994`), passes and is signed with the same value.
 */

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** The first number literal of `text` (valid JSON) whose value a double does not hold exactly. */
export function inexactNumber(text: string): string | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip a string, escapes included.
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      NUMBER.lastIndex = i;
      const literal = NUMBER.exec(text)?.[0];
      if (literal === undefined) return undefined;
      if (!isExact(literal)) return literal;
      i += literal.length - 1;
    }
  }
  return undefined;
}

/** Whether the double nearest `literal` has exactly its decimal value (compared as digits and exponent). */
function isExact(literal: string): boolean {
  const value = Number(literal);
  if (!Number.isFinite(value)) return false;
  return decimal(literal) === decimal(String(value));
}

/** A canonical form of a decimal numeral: significant digits and the power of ten of the last one. */
function decimal(numeral: string): string {
  const [mantissa = '', exponent = '0'] = numeral.replace(/^-/, '').toLowerCase().split('e');
  const [whole = '', fraction = ''] = mantissa.split('.');
  let digits = `${whole}${fraction}`.replace(/^0+/, '');
  if (digits === '') return '0';
  let power = Number(exponent) - fraction.length;
  const trailing = digits.length - digits.replace(/0+$/, '').length;
  digits = digits.slice(0, digits.length - trailing);
  power += trailing;
  return `${numeral.startsWith('-') ? '-' : ''}${digits}e${power}`;
}
