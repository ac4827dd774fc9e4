// Worker for sqlite.test.ts: opens its own connection to a shared file and writes many rows, so
// several threads contend for the same database for real (node:sqlite is synchronous per thread).
import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { sampleCatalog } from './store-suite.ts';

const { file, worker, count } = workerData as { file: string; worker: number; count: number };
const store = openSqliteStore(file);
for (let i = 0; i < count; i++) {
  await store.putUpstreamCatalog(`w${worker}-${i}`, sampleCatalog(`${worker}-${i}`));
  await store.setUpstreamEra(`w${worker}-${i}`, i % 2 === 0 ? 'modern' : 'legacy');
}
await store.close();
parentPort?.postMessage('done');
