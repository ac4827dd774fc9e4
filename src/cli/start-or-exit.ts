import { ConfigError } from '../config/errors.ts';

/** Starts the gateway; a config that does not load or compile is printed (file:line:column) and exits 2. */
export async function startOrExit<T>(start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
