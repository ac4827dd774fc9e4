import { z } from 'zod';

export const storeSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('sqlite'),
      path: z.string().default('./data/gatehouse.db').describe('Database file; relative paths resolve against the config file\'s folder. `:memory:` keeps nothing.'),
    }),
  ])
  .describe('Where the gateway keeps state (catalog memory, upstream eras).');
