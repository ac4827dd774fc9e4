import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';

export interface WatchOptions {
  /** Quiet time after the last event before the file is looked at (default 200 ms). */
  debounceMs?: number;
  /** The text the caller already loaded; the first change is judged against it rather than against a fresh read. */
  initialText?: string;
  /** Called after each look at the file, with whether it had changed: lets tests and logs follow along. */
  onCheck?: (changed: boolean) => void;
  /** Watcher failures (e.g. the folder was removed); watching resumes once the folder is back. */
  onError?: (err: Error) => void;
}

export interface ConfigWatcher {
  close(): void;
}

const MISSING = 'missing';

function digest(text: string): string {
  // Same view of the file as the loader, which drops a byte-order mark.
  return createHash('sha256').update(text.replace(/^\uFEFF/, '')).digest('hex');
}

function readState(file: string): string {
  try {
    return digest(readFileSync(file, 'utf8'));
  } catch {
    return MISSING;
  }
}

/** The folders to watch: the file's own, and when it is a symlink, the folder of the file it points to. */
function watchTargets(abs: string): { dir: string; base: string }[] {
  const out = [{ dir: dirname(abs), base: basename(abs) }];
  try {
    const real = realpathSync(abs);
    if (dirname(real) !== out[0]!.dir) out.push({ dir: dirname(real), base: basename(real) });
  } catch {
    // Not there (yet): the file's own folder will see it appear.
  }
  return out;
}

function targetKey(targets: { dir: string; base: string }[]): string {
  return targets.map((t) => `${t.dir}/${t.base}`).join('\n');
}

async function readStateAsync(file: string): Promise<string> {
  try {
    return digest(await readFile(file, 'utf8'));
  } catch {
    return MISSING;
  }
}

/**
 * Calls `onChange` once per real change of `file`. It watches the folder rather than the file: editors and
 * Kubernetes ConfigMaps replace the file by renaming another over it, which a watch on the old inode never sees.
 * A symlinked file is also watched in the folder of its target, where in-place edits happen.
 * Events are debounced, and a change only counts when the content hash moved, so touches and same-content saves
 * do not reload. A deleted file counts as a change (the reload then fails visibly and the old config stays).
 */
export function watchConfigFile(file: string, onChange: () => void, opts: WatchOptions = {}): ConfigWatcher {
  const abs = resolve(file);
  const debounceMs = opts.debounceMs ?? 200;
  let last = opts.initialText !== undefined ? digest(opts.initialText) : readState(abs);
  const watchers: FSWatcher[] = [];
  let watching = '';
  let timer: NodeJS.Timeout | undefined;
  let retry: NodeJS.Timeout | undefined;
  let checking = false;
  let again = false;
  let closed = false;

  const check = async (): Promise<void> => {
    if (checking) {
      again = true;
      return;
    }
    checking = true;
    try {
      do {
        again = false;
        const now = await readStateAsync(abs);
        if (closed) return;
        // A symlink that now points elsewhere (a ConfigMap update, a retargeted link) moves the folder to watch.
        if (targetKey(targets()) !== watching) {
          closeWatchers();
          start();
        }
        const changed = now !== last;
        last = now;
        if (changed) safely(onChange);
        if (opts.onCheck) safely(() => opts.onCheck!(changed));
      } while (again && !closed);
    } finally {
      checking = false;
    }
  };

  const schedule = (): void => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void check(), debounceMs);
  };

  const targets = () => watchTargets(abs);

  const safely = (fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      report(err);
    }
  };

  const report = (err: unknown): void => {
    if (!opts.onError) return;
    try {
      opts.onError(err instanceof Error ? err : new Error(String(err)));
    } catch {
      // The watcher outlives a broken error handler.
    }
  };

  const closeWatchers = (): void => {
    for (const w of watchers.splice(0)) w.close();
  };

  const start = (): void => {
    if (closed) return;
    const recovering = retry !== undefined;
    retry = undefined;
    try {
      const list = targets();
      watching = targetKey(list);
      for (const target of list) {
        const w = watch(target.dir, { persistent: true }, (_event, name) => {
          // `name` can be missing on some platforms; `..data` is how Kubernetes swaps a ConfigMap's files.
          if (name == null || name === target.base || name.startsWith('..')) schedule();
        });
        w.on('error', (err) => {
          closeWatchers();
          report(err);
          retryLater();
        });
        watchers.push(w);
      }
      // The folder may have been recreated, and the file changed, while nothing was watching.
      if (recovering) schedule();
    } catch (err) {
      closeWatchers();
      report(err);
      retryLater();
    }
  };

  const retryLater = (): void => {
    if (closed) return;
    clearTimeout(retry);
    retry = setTimeout(start, Math.max(1000, debounceMs * 5));
  };

  start();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      clearTimeout(retry);
      closeWatchers();
    },
  };
}
