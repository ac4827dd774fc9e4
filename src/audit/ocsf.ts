// Audit entries as OCSF 1.3.0 events for SIEMs: API Activity (class 6003, category 6 Application).
// Attribute names and requirements checked against the ocsf/ocsf-schema 1.3.0 tag:
// events/application/api.json, events/base_event.json, includes/occurrence.json and objects/{actor,
// api, request, response, service, metadata, product, user, session, idp, authorization, policy,
// network_endpoint, resource_details, _resource}.json. Judgement calls are marked "Judgement:".
import { isIP } from 'node:net';
import type { AuditEntry } from './entry.ts';

export const OCSF_SCHEMA_VERSION = '1.3.0';
const CLASS_UID = 6003;
const CATEGORY_UID = 6;

type Activity = readonly [id: 1 | 2 | 3 | 4 | 99, name: string];
const CREATE: Activity = [1, 'Create'];
const READ: Activity = [2, 'Read'];
const UPDATE: Activity = [3, 'Update'];
const DELETE: Activity = [4, 'Delete'];
const OTHER: Activity = [99, 'Other'];

/**
 * API Activity only knows CRUD. Judgement: reads of prompts, resources, lists, completions and tasks
 * are Read; a subscription is created and removed; setting the log level or cancelling a task updates
 * state. A tool call can do anything, and a tool's class comes from hints that need not be true, so it
 * is Other, named "Invoke"; so is everything else (handshake, ping, notifications).
 */
const METHOD_ACTIVITY: Readonly<Record<string, Activity>> = {
  'tools/call': [99, 'Invoke'],
  'resources/read': READ,
  'prompts/get': READ,
  'tools/list': READ,
  'prompts/list': READ,
  'resources/list': READ,
  'resources/templates/list': READ,
  'completion/complete': READ,
  'tasks/get': READ,
  'tasks/list': READ,
  'tasks/result': READ,
  'resources/subscribe': CREATE,
  'resources/unsubscribe': DELETE,
  'logging/setLevel': UPDATE,
  'tasks/cancel': UPDATE,
};

/** Admin actions are `<object>.<verb>`; the verb decides. */
const ADMIN_VERBS: Readonly<Record<string, Activity>> = {
  create: CREATE,
  mint: CREATE,
  list: READ,
  show: READ,
  get: READ,
  explain: READ,
  whoami: READ,
  rotate: UPDATE,
  update: UPDATE,
  revoke: DELETE,
  delete: DELETE,
};

const DECISION: Readonly<Record<string, string>> = { allow: 'Allowed', deny: 'Denied', require_approval: 'Approval Required' };
const SEVERITY: Readonly<Record<number, string>> = { 1: 'Informational', 2: 'Low', 3: 'Medium', 4: 'High' };

function activityOf(e: AuditEntry): Activity {
  // Judgement: a gap is not an API call, but a SIEM reading this sink gets one class. Event Log
  // Activity (1008) would fit the meaning, yet it requires a `device` the trail does not record.
  if (e.type === 'gap') return [99, 'Audit Gap'];
  if (e.type === 'admin') {
    const action = e.admin?.action ?? '';
    return ADMIN_VERBS[action.slice(action.lastIndexOf('.') + 1)] ?? OTHER;
  }
  return (e.method === undefined ? undefined : METHOD_ACTIVITY[e.method]) ?? OTHER;
}

/** status_id: 1 Success, 2 Failure, 99 Other. */
function statusOf(e: AuditEntry): { id: 1 | 2 | 99; code?: string; detail?: string } {
  if (e.type === 'gap') return { id: 2, code: e.gap?.reason ?? 'gap', detail: e.gap?.detail ?? `${e.gap?.lost ?? 0} audit records lost` };
  const detail = e.error?.message ?? (e.policy?.effect === 'allow' ? undefined : e.policy?.message);
  if (e.outcome === 'ok') {
    // Judgement: the call went through but the tool reported failure: a failed activity for a SIEM.
    if (e.result?.isError === true) return { id: 2, code: 'tool_error' };
    return { id: 1, code: 'ok' };
  }
  // A client that gave up did not make the call fail.
  if (e.outcome === 'cancelled') return { id: 99, code: 'cancelled', ...(detail === undefined ? {} : { detail }) };
  return { id: 2, code: e.outcome ?? 'error', ...(detail === undefined ? {} : { detail }) };
}

/**
 * Judgement: severity is the event's, not an alert's: routine traffic is Informational; a refusal
 * (a control intervened) is Low; records lost from the trail are High, a sink fallen behind Medium.
 */
function severityOf(e: AuditEntry): 1 | 2 | 3 | 4 {
  if (e.type === 'gap') return (e.gap?.lost ?? 0) > 0 ? 4 : 3;
  return e.outcome === 'denied' ? 2 : 1;
}

function compact<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/** One OCSF API Activity event for an audit entry; `version` is Gatehouse's, `hash` the entry's. */
export function toOcsf(entry: AuditEntry, hash: string, version: string): Record<string, unknown> {
  const [activityId, activityName] = activityOf(entry);
  const status = statusOf(entry);
  const severity = severityOf(entry);
  const p = entry.principal;
  const time = Date.parse(entry.time);

  const actor: Record<string, unknown> =
    p === undefined
      ? // Gaps are the gateway's own doing.
        { app_name: 'Gatehouse' }
      : compact({
          app_uid: p.agent,
          app_name: p.agentName ?? p.agent,
          user: p.user === undefined ? undefined : { uid: p.user, name: p.user },
          // Judgement: CloudTrail-style mappings put the access key id in session.credential_uid; the
          // MCP session is the session the call was made in.
          session: entry.session === undefined && p.credentialId === undefined ? undefined : compact({ uid: entry.session, credential_uid: p.credentialId }),
          // The configured authentication method that accepted the credential is the identity provider.
          idp: { name: p.authSource },
          // Judgement: 1.3.0 gives API Activity no security_control profile (no disposition_id, no
          // top-level policy); the authorization result is where a policy decision lives.
          authorizations: entry.policy === undefined
            ? undefined
            : [
                {
                  decision: DECISION[entry.policy.effect],
                  policy: compact({ name: entry.policy.rule ?? 'default', desc: entry.policy.message, is_applied: entry.policy.enforced }),
                },
              ],
        });

  const e = entry.error;
  const response: Record<string, unknown> | undefined =
    e !== undefined ? compact({ code: e.code, error: e.name ?? String(e.code), error_message: e.message }) : entry.type === 'admin' ? { code: entry.admin?.status } : undefined;
  const api = compact({
    operation: entry.type === 'gap' ? 'audit.gap' : entry.type === 'admin' ? entry.admin?.action : entry.method ?? 'unknown',
    service: { name: entry.type === 'admin' ? 'gatehouse-admin' : entry.type === 'gap' ? entry.gap?.sink ?? 'gatehouse-audit' : entry.target?.upstream ?? 'gatehouse' },
    version: entry.protocolVersion,
    // Judgement: the JSON-RPC id is what the agent's own logs show; entries without one use the entry id.
    request: { uid: entry.requestId === undefined ? entry.id : String(entry.requestId) },
    response,
  });

  const t = entry.target;
  const resources =
    t?.name === undefined
      ? undefined
      : [
          compact({
            name: t.name,
            type: t.kind,
            uid: t.upstreamName,
            labels: t.class === undefined ? undefined : [t.class],
            data: t.definitionHash === undefined ? undefined : { definitionHash: t.definitionHash },
          }),
        ];

  const address = entry.client?.address;
  const unmapped = compact({
    hash,
    prev: entry.prev,
    type: entry.type,
    era: entry.era,
    principal: p === undefined ? undefined : compact({ id: p.id, authMethod: p.authMethod, userSource: p.userSource, roles: p.roles }),
    outcome: entry.outcome,
    policy: entry.policy?.shadow === undefined ? undefined : { shadow: entry.policy.shadow },
    args: entry.args,
    argsDigest: entry.argsDigest,
    redacted: entry.redacted,
    errorSource: e?.source,
    bytesIn: entry.bytesIn,
    bytesOut: entry.bytesOut,
    upstreamMs: entry.upstreamMs,
    result: entry.result,
    gap: entry.gap,
    admin: entry.admin?.subject === undefined ? undefined : { subject: entry.admin.subject },
  });

  return compact({
    class_uid: CLASS_UID,
    class_name: 'API Activity',
    category_uid: CATEGORY_UID,
    category_name: 'Application Activity',
    activity_id: activityId,
    activity_name: activityName,
    type_uid: CLASS_UID * 100 + activityId,
    type_name: `API Activity: ${activityName}`,
    time,
    // duration is long_t (whole ms); the exact figure stays in the native entry.
    duration: entry.durationMs === undefined ? undefined : Math.round(entry.durationMs),
    start_time: entry.gap === undefined ? undefined : Date.parse(entry.gap.from),
    end_time: entry.gap === undefined ? undefined : Date.parse(entry.gap.to),
    severity_id: severity,
    severity: SEVERITY[severity],
    status_id: status.id,
    status: status.id === 1 ? 'Success' : status.id === 2 ? 'Failure' : 'Other',
    status_code: status.code,
    status_detail: status.detail,
    actor,
    api,
    // Judgement: src_endpoint is required, but the stdio edge has no network peer; an invented
    // address would mislead more than a missing one.
    src_endpoint: address === undefined ? undefined : isIP(address) !== 0 ? { ip: address } : { name: address },
    resources,
    metadata: compact({
      product: { name: 'Gatehouse', vendor_name: 'Gatehouse', version },
      version: OCSF_SCHEMA_VERSION,
      uid: entry.id,
      correlation_uid: entry.traceId,
      log_name: entry.chain,
      log_provider: 'Gatehouse',
      sequence: entry.seq,
      original_time: entry.time,
      tenant_uid: p?.tenant,
    }),
    unmapped,
  });
}
