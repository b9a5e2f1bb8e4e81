import { describe, expect, it } from 'vitest';
import { inexactNumber } from '../../lambdas/http/json-numbers.ts';

describe('inexactNumber', () => {
  it.each([
    ['an integer a double holds exactly, beyond 2^53', '{"a":9007199254740994}'],
    ['an exponent', '{"a":1e20,"b":1E+20,"c":-0.5}'],
    ['the smallest subnormal', '{"a":5e-324}'],
    ['the largest double', '{"a":1.7976931348623157e308}'],
    ['shortest round-trip decimals, zeros and a trailing zero', '{"a":0.1,"b":0.30000000000000004,"c":-0,"d":0.0,"e":100,"f":2.50}'],
    ['digits inside strings and keys, escaped quotes included', '{"a":"9007199254740993","b\\"1e400":[1]}'],
  ])('passes %s', (_, text) => {
    expect(inexactNumber(text)).toBeUndefined();
  });

  it.each([
    ['an integer a double rounds', '{"a":9007199254740993}', '9007199254740993'],
    ['a number that overflows to Infinity', '{"a":[1,1e400]}', '1e400'],
    ['a number that underflows to 0', '{"a":1e-400}', '1e-400'],
    ['more digits than a double keeps', '{"a":0.1000000000000000055511151231257827}', '0.1000000000000000055511151231257827'],
  ])('names %s', (_, text, literal) => {
    expect(inexactNumber(text)).toBe(literal);
  });
});
