/**
 * Config keys holding secrets that egg's default `dump.ignore` (`password`, `keys`,
 * /secret/i, ...) does not match: the message push's Token and EncodingAESKey
 * (`wxmp.push.token`, `wxmp.push.aesKey`), and `wxmp.apps` (WXMP_APPS_FILE: egg dumps an array
 * as it is, secrets and all, without looking inside). The app and agent boot hooks add them to egg's
 * list before the config is dumped to run/*_config.json (after ready); a Set given in a
 * config file would replace egg's list instead of adding to it.
 */
const HIDDEN_KEYS = [ 'token', 'aesKey', 'apps' ];

export function hideSecretsFromConfigDump(ignore: Set<string>): void {
  for (const key of HIDDEN_KEYS) ignore.add(key);
}
