/**
 * Turns an RFC 6570 URI template into an anchored matcher, only to decide which upstream a
 * `resources/read` belongs to (the upstream expands and checks the URI itself).
 */
export function templateMatcher(template: string): RegExp | undefined {
  let src = '^';
  let last = 0;
  const expr = /\{([+#./;?&]?)([^}]*)\}/g;
  for (let m = expr.exec(template); m !== null; m = expr.exec(template)) {
    src += escape(template.slice(last, m.index));
    const op = m[1];
    // Reserved expansions may contain slashes; query forms are optional tails.
    if (op === '+' || op === '#') src += '.*';
    else if (op === '?' || op === '&') src += '(?:[?&].*)?';
    else src += '[^/?#]*';
    last = m.index + m[0].length;
  }
  src += escape(template.slice(last)) + '$';
  try {
    return new RegExp(src);
  } catch {
    return undefined;
  }
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
