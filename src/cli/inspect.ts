import { compileConfig } from '../config/compile.ts';
import { ConfigError } from '../config/errors.ts';
import { loadConfig } from '../config/load.ts';
import { Gateway } from '../core/gateway.ts';
import { createLogger } from '../observe/logger.ts';
import { openStore } from '../store/open.ts';
import { table } from './table.ts';

interface InspectOptions {
  config: string;
  json?: boolean;
  wait: string;
}

/** Brings the upstreams up without listening, so the output is what `serve` would offer. */
async function withGateway(opts: InspectOptions, fn: (gw: Gateway) => void): Promise<void> {
  let gw: Gateway | undefined;
  try {
    const snap = compileConfig(await loadConfig(opts.config));
    const log = createLogger({ level: 'error', pretty: false });
    gw = new Gateway(snap, await openStore(snap.config.store, snap.dir), log);
    await gw.start();
    await gw.registry.settled(Number(opts.wait));
    fn(gw);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  } finally {
    await gw?.close();
  }
}

export function serversCommand(opts: InspectOptions): Promise<void> {
  return withGateway(opts, (gw) => {
    const rows = gw.registry.handles().map((h) => ({
      name: h.name,
      transport: h.spec.config.transport,
      state: h.state,
      era: h.session?.era ?? '',
      version: h.session?.protocolVersion ?? '',
      server: h.session?.serverInfo ? `${h.session.serverInfo.name} ${h.session.serverInfo.version}` : '',
      tools: h.lists.tools.length,
      prompts: h.lists.prompts.length,
      resources: h.lists.resources.length,
      reason: h.reason ?? '',
    }));
    process.stdout.write(opts.json ? `${JSON.stringify(rows, null, 2)}\n` : table(rows));
    if (rows.some((r) => r.state !== 'ready')) process.exitCode = 1;
  });
}

export function toolsCommand(opts: InspectOptions): Promise<void> {
  return withGateway(opts, (gw) => {
    const c = gw.registry.catalog;
    const rows = [...c.toolIndex.values()].map((e) => ({
      name: e.publicName,
      upstream: e.upstream,
      upstreamName: e.upstreamName,
      title: typeof e.def.title === 'string' ? e.def.title : '',
    }));
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ tools: rows, collisions: c.collisions, unavailable: Object.fromEntries(c.unavailable) }, null, 2)}\n`);
      return;
    }
    process.stdout.write(table(rows));
    for (const col of c.collisions) {
      process.stdout.write(`collision: ${col.kind} "${col.name}" of "${col.renamed}" is published as "${col.assigned}" ("${col.kept}" keeps the name)\n`);
    }
    for (const [name, upstream] of c.unavailable) process.stdout.write(`unavailable: ${name} (upstream "${upstream}" is down)\n`);
  });
}
