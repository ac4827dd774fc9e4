// GCRA (see gcra.ts) as Redis scripts: each runs atomically, so every gateway sharing a Redis shares one
// bucket exactly. Time comes from Redis (TIME), not from the gateways, so instances whose clocks disagree
// still agree on the bucket. Numbers travel as strings with three decimals: a Lua number returned as a
// reply would lose its fraction, and tostring() would round a timestamp in ms to 14 digits.

/** KEYS[1] bucket; ARGV interval ms, capacity ms, longest acceptable wait ms. Returns {1, wait} reserved or {0, ms until a token}. */
export const GCRA_RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then
  local s = tonumber(stored)
  if s and s > now then tat = s end
end
local next_tat = tat + interval
local wait = (tat - now) + (interval - capacity)
if wait > max_wait then
  return {0, string.format('%.3f', wait)}
end
redis.call('SET', KEYS[1], string.format('%.3f', next_tat), 'PX', math.ceil(next_tat - now) + 1000)
if wait < 0 then wait = 0 end
return {1, string.format('%.3f', wait)}
`;

/** KEYS[1] bucket; ARGV interval ms. Moves the arrival time back one interval (one token given back). */
export const GCRA_REFUND = `
local stored = redis.call('GET', KEYS[1])
if not stored then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local tat = tonumber(stored) - tonumber(ARGV[1])
if tat <= now then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], string.format('%.3f', tat), 'PX', math.ceil(tat - now) + 1000)
end
return 1
`;

/** The commands defineCommand() adds to the client. */
export interface GcraCommands {
  gatehouseGcraReserve(key: string, intervalMs: string, capacityMs: string, maxWaitMs: string): Promise<[number, string]>;
  gatehouseGcraRefund(key: string, intervalMs: string): Promise<number>;
}
