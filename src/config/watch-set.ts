import { resolve } from 'node:path';
import { watchConfigFile, type ConfigWatcher } from './watch.ts';

/**
 * Watches a set of files that may change with each reload (the config's `policy.files`): files that
 * leave the set are unwatched, new ones watched, unchanged ones keep their watcher and its last hash.
 */
export class WatchSet {
  readonly #watchers = new Map<string, ConfigWatcher>();
  readonly #onChange: () => void;

  constructor(onChange: () => void) {
    this.#onChange = onChange;
  }

  /** Make the set exactly `files` (relative paths resolve against `dir`); `texts` are the contents already loaded. */
  follow(files: readonly string[], dir: string, texts: ReadonlyMap<string, string> = new Map()): void {
    const want = new Set(files.map((f) => resolve(dir, f)));
    for (const [file, w] of this.#watchers) {
      if (want.has(file)) continue;
      w.close();
      this.#watchers.delete(file);
    }
    for (const file of want) {
      if (this.#watchers.has(file)) continue;
      const initialText = texts.get(file);
      this.#watchers.set(file, watchConfigFile(file, this.#onChange, initialText === undefined ? {} : { initialText }));
    }
  }

  close(): void {
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
  }
}
