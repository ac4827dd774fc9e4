import { z } from 'zod';

/** Names of `auth.methods`, in the order they are tried. */
export const authListSchema = z.array(z.string().min(1)).default([]);

export const tlsSchema = z
  .strictObject({
    cert: z.string().min(1).describe('PEM certificate chain file of the listener; relative paths resolve against the config file\'s folder.'),
    key: z.string().min(1).describe('PEM private key file.'),
    clientCa: z.string().min(1).optional().describe('PEM file of the CA(s) that sign client certificates. Set it to use `mtls` methods.'),
    clientCert: z
      .enum(['none', 'request', 'require'])
      .default('request')
      .describe('`request`: ask for a client certificate, let methods decide (a request without one may use another method). `require`: refuse the TLS handshake without a valid one. Needs `clientCa` unless `none`.'),
  })
  .describe('Serve HTTPS. Needed for mTLS; otherwise TLS is often terminated in front of the gateway.');

export const userAssertionSchema = z
  .strictObject({
    header: z.string().regex(/^[A-Za-z0-9-]+$/).default('x-gatehouse-user-assertion').describe('Header carrying the assertion.'),
    method: z.string().min(1).describe('A `jwt` method of `auth.methods` whose issuer signs the assertions; its `claims.user` (and `claims.tenant`) mapping is read.'),
    required: z.boolean().default(false).describe('Refuse requests without an assertion.'),
  })
  .describe('A signed statement (JWT) from a trusted proxy in front of the gateway naming the human user behind the agent. It sets the principal\'s user; an invalid one is refused, never ignored.');

export const listenSchema = z
  .strictObject({
    host: z.string().default('127.0.0.1').describe('Address the data plane binds. Loopback unless you mean otherwise.'),
    port: z.number().int().min(0).max(65535).default(8080).describe('TCP port of the data plane (0 picks a free port).'),
    path: z.string().regex(/^\/[^\s?#]*$/).default('/mcp').describe('Path of the MCP endpoint.'),
    auth: authListSchema.describe('Authentication methods of the data plane, in the order tried (names from `auth.methods`). Required: list an `anonymous` method to serve without credentials.'),
    tls: tlsSchema.optional(),
    userAssertion: userAssertionSchema.optional(),
  })
  .describe('Where agents connect.');

export const stdioSchema = z
  .strictObject({
    auth: authListSchema.describe('Authentication methods of `gatehouse stdio`, in the order tried. The credential is the `tokenEnv` variable of the gateway process (a desktop client sets it in its server entry), or none: list an `anonymous` method for that.'),
    tokenEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default('GATEHOUSE_TOKEN').describe('Environment variable holding the API key or token in stdio mode.'),
  })
  .describe('The stdio listener (`gatehouse stdio`): one local agent on stdin/stdout.');

export const limitsSchema = z
  .strictObject({
    maxBodyBytes: z.number().int().positive().default(4 * 1024 * 1024).describe('Largest request body accepted (413 beyond).'),
    maxHeaderBytes: z.number().int().positive().default(16 * 1024).describe('Largest total request header size accepted (431 beyond).'),
    maxSessions: z.number().int().positive().default(10_000).describe('Most concurrent 2025-era sessions; a new initialize beyond it gets 503.'),
    sessionIdleSeconds: z.number().int().positive().default(1800).describe('A 2025-era session unused this long is closed.'),
  })
  .describe('Bounds on what one agent can make the edge hold.');

export const namingSchema = z
  .strictObject({
    separator: z.string().regex(/^[A-Za-z0-9_.-]{1,3}$/).default('__').describe('Placed between an upstream prefix and the upstream\'s own name.'),
    maxLength: z.number().int().min(16).max(128).default(64).describe('Longest public name. Longer names are shortened with a stable hash suffix.'),
  })
  .describe('How tool and prompt names from upstreams become public names.');

export const relaySchema = z
  .strictObject({
    stateSecret: z
      .string()
      .min(32)
      .optional()
      .describe('Secret (32+ characters, e.g. `${GATEHOUSE_STATE_SECRET}`) that seals the `requestState` given to 2026-07-28 agents. Set the same value on every instance behind one load balancer; unset, each process makes a random one (states do not survive a restart).'),
    inputTtlSeconds: z.number().int().min(5).max(86_400).default(600).describe('How long an `input_required` answer stays valid: the agent must retry within this time.'),
    maxInputRounds: z.number().int().min(1).max(100).default(10).describe('Most `input_required` rounds the gateway drives for a 2025-era agent against a 2026-07-28 upstream before giving up.'),
    maxParked: z.number().int().positive().default(10_000).describe('Most upstream calls held open at once while 2026-07-28 agents answer a 2025-era upstream\'s questions.'),
  })
  .describe('Server->client requests across eras (sampling, elicitation, roots) and multi-round-trip state.');

const endpointPath = z.string().regex(/^\/[^\s?#]*$/);

export const legacySseSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Serve the 2024-11-05 HTTP+SSE transport beside the MCP endpoint, for clients that predate Streamable HTTP.'),
    ssePath: endpointPath.default('/sse').describe('GET here opens a session and its event stream; the first event (`endpoint`) names where to POST messages.'),
    messagesPath: endpointPath
      .default('/messages')
      .describe('Clients POST each JSON-RPC message here with the `?sessionId=` the endpoint event gave them (202 Accepted); answers arrive on the event stream.'),
  })
  .refine((c) => c.ssePath !== c.messagesPath, { message: 'ssePath and messagesPath must differ', path: ['messagesPath'] })
  .describe('The deprecated HTTP+SSE transport (protocol 2024-11-05). Its sessions are 2025-era sessions: they count against limits.maxSessions and end when the event stream closes (an open stream keeps its session from idling out).');

export const gatewaySchema = z
  .strictObject({
    listen: listenSchema.prefault({}),
    publicUrl: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe('The canonical URL agents use for the MCP endpoint (e.g. `https://mcp.example.com/mcp`): the audience tokens must name and the `resource` of the protected resource metadata. Default: the listen address. Set it whenever agents reach the gateway through a proxy or a DNS name.'),
    stdio: stdioSchema.prefault({}),
    allowedOrigins: z
      .array(z.string())
      .default([])
      .describe('Origins (scheme://host[:port]) allowed to call from a browser. A request with any other Origin gets 403. Loopback origins are allowed when the data plane binds loopback.'),
    allowedHosts: z
      .array(z.string())
      .default([])
      .describe('Host header values accepted, besides the listen address itself and, on loopback, localhost/127.0.0.1/[::1]. Guards against DNS rebinding.'),
    limits: limitsSchema.prefault({}),
    naming: namingSchema.prefault({}),
    relay: relaySchema.prefault({}),
    pageSize: z.number().int().min(1).max(10_000).default(100).describe('Items per page in merged list results.'),
    drainSeconds: z.number().int().nonnegative().default(30).describe('On SIGTERM, how long in-flight calls may finish before the gateway exits.'),
    drainDelaySeconds: z
      .number()
      .int()
      .min(0)
      .max(300)
      .default(0)
      .describe('On SIGTERM, how long to go on serving while `/readyz` already answers 503, before the drain starts: load balancers and orchestrators see "not ready" and stop sending traffic while the listeners are still up. Set it a little above the probe period (e.g. 5-10 s in Kubernetes); 0 drains at once.'),
    environment: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,32}$/)
      .optional()
      .describe('Where this gateway runs (`prod`, `staging`, ...): policy rules can match it (`when.environments`).'),
    name: z.string().default('gatehouse').describe('serverInfo.name the gateway reports to agents.'),
    instructions: z.string().optional().describe('Instructions the gateway reports to agents; by default the upstreams\' instructions, each under its prefix.'),
    legacySse: legacySseSchema.prefault({}),
  })
  .superRefine((g, ctx) => {
    // A legacy path equal to the MCP endpoint would be shadowed by it (or shadow it): refuse the config.
    if (!g.legacySse.enabled) return;
    for (const key of ['ssePath', 'messagesPath'] as const) {
      if (g.legacySse[key] === g.listen.path) ctx.addIssue({ code: 'custom', message: `${key} must differ from listen.path (${g.listen.path})`, path: ['legacySse', key] });
    }
  })
  .describe('The data plane: the one endpoint agents talk to.');
