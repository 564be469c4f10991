/**
 * The `%%step NAME [--option value ...]` first line of a cell: parse, edit, format.
 * Pure functions (unit-tested), used by the "Make this cell a step" and "Edit step" commands.
 */

export const STEP_MAGIC = '%%step';

/** Options that take no value. */
const FLAGS = new Set(['--catch']);

export interface IStepLine {
  name: string;
  /** Option -> value, in the order written; flags map to `true`. */
  options: Map<string, string | true>;
}

export function isStepSource(source: string): boolean {
  const first = source.split('\n', 1)[0].trim();
  return first === STEP_MAGIC || first.startsWith(`${STEP_MAGIC} `);
}

/** Split on spaces, honouring single and double quotes. */
export function tokenize(line: string): string[] {
  const tokens: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(line)) !== null) {
    tokens.push(match[1] ?? match[2] ?? match[3]);
  }
  return tokens;
}

export function parseStepLine(line: string): IStepLine | null {
  const tokens = tokenize(line.trim());
  if (tokens[0] !== STEP_MAGIC || tokens.length < 2 || tokens[1].startsWith('--')) {
    return null;
  }
  const options = new Map<string, string | true>();
  let i = 2;
  while (i < tokens.length) {
    const token = tokens[i];
    if (!token.startsWith('--')) {
      i += 1;
      continue;
    }
    const eq = token.indexOf('=');
    if (eq > 0) {
      options.set(token.slice(0, eq), token.slice(eq + 1));
      i += 1;
    } else if (FLAGS.has(token)) {
      options.set(token, true);
      i += 1;
    } else if (token === '--foreach' && tokens[i + 2] === 'in') {
      options.set(token, `${tokens[i + 1]} in ${tokens[i + 3] ?? ''}`.trim());
      i += 4;
    } else {
      options.set(token, tokens[i + 1] ?? '');
      i += 2;
    }
  }
  return { name: tokens[1], options };
}

function quote(value: string): string {
  return /[\s"']/.test(value) ? `"${value.replace(/"/g, "'")}"` : value;
}

export function formatStepLine(step: IStepLine): string {
  const parts = [STEP_MAGIC, step.name];
  for (const [key, value] of step.options) {
    if (value === true) {
      parts.push(key);
    } else if (value !== '') {
      parts.push(key, key === '--foreach' ? value : quote(value));
    }
  }
  return parts.join(' ');
}

/** Set (or, with an empty value, remove) options of the step line at the top of `source`. */
export function editStepSource(source: string, changes: Record<string, string>): string {
  const [first, ...rest] = source.split('\n');
  const step = parseStepLine(first);
  if (!step) {
    return source;
  }
  for (const [key, value] of Object.entries(changes)) {
    const option = key.startsWith('--') ? key : `--${key}`;
    if (value.trim() === '') {
      step.options.delete(option);
    } else {
      step.options.set(option, value.trim());
    }
  }
  return [formatStepLine(step), ...rest].join('\n');
}

export function isIdentifier(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}

const STOPWORDS = new Set(['a', 'an', 'the', 'of', 'to', 'and', 'for', 'in', 'on', 'with']);

const KEYWORDS = new Set([
  'import',
  'from',
  'def',
  'class',
  'return',
  'for',
  'if',
  'with',
  'print'
]);

/**
 * A step name suggested from the cell: words of a leading comment, else the first
 * function defined, else the first name assigned, else `step_N`.
 */
export function suggestStepName(source: string, taken: Iterable<string> = [], index = 1): string {
  const candidates: string[] = [];
  const comment = /^\s*#\s*([A-Za-z][A-Za-z0-9_ ]*)/m.exec(source);
  if (comment) {
    const words = comment[1]
      .trim()
      .toLowerCase()
      .split(/\s+/)
      .filter(word => !STOPWORDS.has(word))
      .slice(0, 3);
    candidates.push(words.join('_'));
  }
  const def = /^\s*(?:async\s+)?def\s+([A-Za-z_]\w*)/m.exec(source);
  if (def) {
    candidates.push(def[1]);
  }
  const assign = /^([A-Za-z_]\w*)\s*(?:,\s*[A-Za-z_]\w*\s*)*(?::[^=\n]+)?=(?!=)/m.exec(source);
  if (assign) {
    candidates.push(assign[1]);
  }
  const used = new Set(taken);
  for (const raw of candidates) {
    const name = raw.toLowerCase();
    if (isIdentifier(name) && !KEYWORDS.has(name) && !used.has(name)) {
      return name;
    }
  }
  let n = index;
  while (used.has(`step_${n}`)) {
    n += 1;
  }
  return `step_${n}`;
}

/** The cell source with a `%%step NAME` line on top. */
export function makeStepSource(source: string, name: string): string {
  return `${STEP_MAGIC} ${name}\n${source}`;
}
