import { compileConfig } from '../config/compile.ts';
import { ConfigError } from '../config/errors.ts';
import { loadConfig } from '../config/load.ts';

export async function validateCommand(file: string): Promise<void> {
  try {
    const snap = compileConfig(await loadConfig(file));
    process.stdout.write(`${file}: ok (${snap.upstreams.length} upstream${snap.upstreams.length === 1 ? '' : 's'})\n`);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}
