/**
 * WeChat's rules for the values of a subscribe message, by the type its key names
 * (`thing1`, `amount3`, ...), as the subscribe message documentation lists them. A value that
 * breaks its rule is refused here, before any call to WeChat (which would answer 47003).
 */
const RULES: [RegExp, (v: string) => boolean, string][] = [
  [ /^thing\d+$/, v => [ ...v ].length <= 20, 'at most 20 characters' ],
  [ /^number\d+$/, v => v.length <= 32 && /^-?\d+(\.\d+)?$/.test(v), 'a number of at most 32 characters' ],
  [ /^letter\d+$/, v => v.length <= 32 && /^[A-Za-z]+$/.test(v), 'at most 32 letters' ],
  [ /^symbol\d+$/, v => [ ...v ].length <= 5 && /^[^\p{L}\p{N}\s]+$/u.test(v), 'at most 5 symbols' ],
  [ /^character_string\d+$/, v => v.length <= 32 && /^[\x21-\x7e]+$/.test(v), 'at most 32 letters, digits and symbols' ],
  [ /^phrase\d+$/, v => [ ...v ].length <= 5 && /^\p{Script=Han}+$/u.test(v), 'at most 5 Chinese characters' ],
  [ /^time\d+$/, v => /^(\d{4}[年-]\d{1,2}[月-]\d{1,2}日?\s*)?([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?(\s*~\s*([01]?\d|2[0-3]):[0-5]\d)?$/.test(v), 'a 24-hour time (15:01, or 2019年10月1日 15:01)' ],
  [ /^date\d+$/, v => /^\d{4}[年-]\d{1,2}[月-]\d{1,2}日?(\s+([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?)?$/.test(v), 'a date (2019年10月1日 or 2019-10-01, a time may follow)' ],
  [ /^amount\d+$/, v => /^[¥￥$€£]?\d{1,10}(\.\d{1,2})?元?$/.test(v), 'an amount (one currency sign, up to 10 digits and 2 decimals: ¥100.00 or 100元)' ],
  [ /^phone_number\d+$/, v => v.length <= 17 && /^[\d+\-() ]+$/.test(v), 'a phone number of at most 17 digits and signs' ],
  [ /^car_number\d+$/, v => [ ...v ].length <= 8 && /^[\p{Script=Han}A-Z0-9]+$/u.test(v), 'a licence plate of at most 8 characters' ],
  [ /^name\d+$/, v => (/^\p{Script=Han}+$/u.test(v) ? [ ...v ].length <= 10 : v.length <= 20), 'a name of at most 10 Chinese characters or 20 letters' ],
];

/** The first problem with `data` (`{ key: { value } }`), naming the key, or undefined. */
export function subscribeDataProblem(data: Record<string, unknown>): string | undefined {
  const entries = Object.entries(data);
  if (!entries.length) return 'data must name at least one key';
  for (const [ key, entry ] of entries) {
    const value = (entry as { value?: unknown } | null)?.value;
    if (typeof value !== 'string' || !value) return `data.${key}.value must be a non-empty string`;
    const rule = RULES.find(([ pattern ]) => pattern.test(key));
    if (!rule) return `data.${key}: not a key type of subscribe messages (thing, number, letter, symbol, character_string, phrase, time, date, amount, phone_number, car_number, name)`;
    if (!rule[1](value)) return `data.${key}.value must be ${rule[2]}`;
  }
  return undefined;
}
