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
    await gw.registry.settled(Number(opts.wait), { everyReplica: true });
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
    const pools = gw.registry.handles();
    const rows = pools.map((p) => ({
      name: p.name,
      transport: p.spec.config.transport,
      state: p.state,
      era: p.session?.era ?? '',
      version: p.session?.protocolVersion ?? '',
      server: p.session?.serverInfo ? `${p.session.serverInfo.name} ${p.session.serverInfo.version}` : '',
      tools: p.lists.tools.length,
      prompts: p.lists.prompts.length,
      resources: p.lists.resources.length,
      reason: p.reason ?? '',
    }));
    if (opts.json) {
      // Replicas only where there are several: a lone replica is the upstream itself.
      const out = rows.map((r, i) => (pools[i]!.replicas.length > 1 ? { ...r, replicas: pools[i]!.status() } : r));
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } else {
      const lines: Record<string, unknown>[] = [];
      rows.forEach((r, i) => {
        lines.push(r);
        const p = pools[i]!;
        if (p.replicas.length < 2) return;
        for (const s of p.status()) {
          lines.push({ name: `  ${s.name}`, transport: '', state: s.state, era: s.era ?? '', version: s.protocolVersion ?? '', server: s.pid === undefined ? '' : `pid ${s.pid}`, tools: '', prompts: '', resources: '', reason: s.reason ?? '' });
        }
      });
      process.stdout.write(table(lines));
    }
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
