// Demo MCP servers for the policy-seed example, one per role, over stdio. They do nothing real: the
// point of the example is what the gateway lets through, not what the tools do.
//   node demo-server.mjs ops   get_logs, restart_service
//   node demo-server.mjs k8s   kubectl_get, kubectl_exec, scale_deployment (with honest annotations)
//   node demo-server.mjs erp   query (canned rows of a few tables)
import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { z } from 'zod';

const text = (value) => ({ content: [{ type: 'text', text: typeof value === 'string' ? value : JSON.stringify(value, null, 2) }] });

function ops(server) {
  server.registerTool(
    'get_logs',
    {
      description: 'The last lines of a service log',
      inputSchema: z.object({ service: z.string(), lines: z.number().int().min(1).max(500).default(20) }),
      annotations: { readOnlyHint: true },
    },
    async ({ service, lines }) => text(Array.from({ length: Math.min(lines, 5) }, (_, i) => `2026-06-15T10:0${i}:00Z ${service}[4242]: request served in ${12 + i}ms`).join('\n')),
  );
  server.registerTool(
    'restart_service',
    {
      description: 'Restart a service (drops its in-flight requests)',
      inputSchema: z.object({ service: z.string() }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
    },
    async ({ service }) => text(`${service}: restart requested (demo: nothing was restarted)`),
  );
}

function k8s(server) {
  server.registerTool(
    'kubectl_get',
    {
      description: 'kubectl get <kind> [name] -n <namespace>',
      inputSchema: z.object({ kind: z.string(), name: z.string().optional(), namespace: z.string().default('default') }),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ kind, name, namespace }) => text({ kind, namespace, items: [{ name: name ?? `${kind}-demo-1`, status: 'Running' }] }),
  );
  server.registerTool(
    'kubectl_exec',
    {
      description: 'kubectl exec into a pod and run a command',
      inputSchema: z.object({ pod: z.string(), namespace: z.string().default('default'), command: z.array(z.string()).min(1) }),
      annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
    },
    async ({ pod, command }) => text(`${pod}$ ${command.join(' ')}\n(demo: nothing was run)`),
  );
  server.registerTool(
    'scale_deployment',
    {
      description: 'Set the replica count of a deployment',
      inputSchema: z.object({ deployment: z.string(), namespace: z.string().default('default'), replicas: z.number().int().min(0).max(100) }),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
    },
    async ({ deployment, replicas }) => text(`${deployment}: scaled to ${replicas} (demo: nothing was scaled)`),
  );
}

const TABLES = {
  fy2025_ledger: [{ account: '4000', period: '2025-12', amount: 182000.5 }, { account: '5000', period: '2025-12', amount: -96000 }],
  fy2026_ledger: [{ account: '4000', period: '2026-05', amount: 201500 }, { account: '5000', period: '2026-05', amount: -101250.75 }],
  fy2026_budget: [{ account: '4000', year: 2026, amount: 2400000 }],
  hr_salaries: [{ employee: 'E-1001', salary: 98000 }],
};

function erp(server) {
  server.registerTool(
    'query',
    {
      description: 'Rows of an ERP table (demo: canned data)',
      inputSchema: z.object({ table: z.string(), limit: z.number().int().min(1).max(10000).default(100) }),
      annotations: { readOnlyHint: true },
    },
    async ({ table, limit }) => {
      const rows = TABLES[table];
      if (rows === undefined) return { ...text(`no table "${table}"; tables: ${Object.keys(TABLES).join(', ')}`), isError: true };
      return text({ table, rows: rows.slice(0, limit) });
    },
  );
}

const ROLES = { ops, k8s, erp };
const role = process.argv[2];
const register = ROLES[role];
if (register === undefined) {
  process.stderr.write(`usage: demo-server.mjs ${Object.keys(ROLES).join('|')}\n`);
  process.exit(2);
}
serveStdio(
  () => {
    const server = new McpServer({ name: `policy-seed-${role}`, version: '1.0.0' }, { capabilities: { tools: {} } });
    register(server);
    return server;
  },
  { onerror: (e) => process.stderr.write(`demo-server ${role}: ${e.message}\n`) },
);
