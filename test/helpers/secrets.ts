import fs from 'node:fs';
import path from 'node:path';
import { filesUnder } from './process';

export interface SecretFinding {
  file: string;
  /** The secret's first characters, enough to tell which one without printing it. */
  secretPrefix: string;
}

/** Every (file, secret) pair where a secret appears in a file below one of `dirs`. */
export function findSecrets(dirs: string[], secrets: string[]): SecretFinding[] {
  const findings: SecretFinding[] = [];
  for (const file of dirs.flatMap(filesUnder)) {
    const text = fs.readFileSync(file, 'utf8');
    for (const secret of secrets) {
      if (secret && text.includes(secret)) findings.push({ file: path.resolve(file), secretPrefix: `${secret.slice(0, 4)}…` });
    }
  }
  return findings;
}
