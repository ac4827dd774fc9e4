// Protocol facts the gateway relies on. See shared/PROTOCOL-NOTES.md.
export const MODERN_VERSION = '2026-07-28';
export const LEGACY_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'] as const;
/** Every version the gateway accepts from agents, newest first. */
export const SUPPORTED_VERSIONS: readonly string[] = [MODERN_VERSION, ...LEGACY_VERSIONS];
export const LATEST_LEGACY_VERSION = '2025-11-25';

export type Era = 'modern' | 'legacy';

export const META_PROTOCOL_VERSION = 'io.modelcontextprotocol/protocolVersion';
export const META_CLIENT_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities';
export const META_CLIENT_INFO = 'io.modelcontextprotocol/clientInfo';
export const META_SERVER_INFO = 'io.modelcontextprotocol/serverInfo';
export const META_LOG_LEVEL = 'io.modelcontextprotocol/logLevel';
export const META_SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId';
export const META_RELATED_TASK = 'io.modelcontextprotocol/related-task';

/** `_meta` keys that describe one hop of a modern exchange; never forwarded to the next hop as-is. */
export const HOP_META_KEYS: readonly string[] = [META_PROTOCOL_VERSION, META_CLIENT_CAPABILITIES, META_CLIENT_INFO, META_LOG_LEVEL];

export function isModernVersion(v: string): boolean {
  return v >= MODERN_VERSION;
}

/** Methods whose `params.name` (or `params.uri`, `params.taskId`) must be mirrored in `Mcp-Name` on 2026-07-28 HTTP. */
export const NAMED_METHODS: Readonly<Record<string, 'name' | 'uri' | 'taskId'>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  // The tasks extension (io.modelcontextprotocol/tasks) names the task the same way.
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
};

export const TOOL_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;
