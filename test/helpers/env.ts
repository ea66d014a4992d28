/**
 * For the tests of the describe block it is called in: `names` are removed from process.env
 * before each test (the test sets what it needs) and put back as they were after it.
 */
export function isolateEnv(names: readonly string[]): void {
  let saved: Record<string, string | undefined> = {};
  beforeEach(() => {
    saved = Object.fromEntries(names.map(v => [ v, process.env[v] ]));
    for (const v of names) delete process.env[v];
  });
  afterEach(() => {
    for (const v of names) {
      if (saved[v] === undefined) delete process.env[v];
      else process.env[v] = saved[v];
    }
  });
}
