'use strict';
/**
 * Preloaded (`node --require`) into a worker by `npm run bench:alloc`: V8's sampling heap
 * profiler over the inspector, started on SIGUSR2 and written to
 * $BENCH_ALLOC_DIR/<pid>.heapprofile on SIGUSR1. Counts objects a minor or major GC has
 * already collected too: what a request allocates, not what stays.
 */
const fs = require('node:fs');
const path = require('node:path');
const inspector = require('node:inspector');

const session = new inspector.Session();
session.connect();
process.on('SIGUSR2', () => {
  session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
});
process.on('SIGUSR1', () => {
  session.post('HeapProfiler.stopSampling', (err, result) => {
    if (err) return;
    // Written whole, then renamed: the bench reads the file as soon as it appears.
    const file = path.join(process.env.BENCH_ALLOC_DIR, `${process.pid}.heapprofile`);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(result.profile));
    fs.renameSync(`${file}.tmp`, file);
  });
});
