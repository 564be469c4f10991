/**
 * The Run dialog's rules, as pure functions: which backend to preselect, what a backend's
 * capabilities mean for this flow, and whether a parameter's text converts to its type.
 * The checks mirror the server's (`Parameter.convert` in jupyter_flow/flow/spec.py), so a
 * run the dialog lets through is one the server accepts.
 */
import { IParameter } from './model';
import { IBackendInfo, IStep } from './types';
import { __ } from './i18n';

const INT = /^\s*[+-]?\d+(?:_\d+)*\s*$/;
const DIGITS = String.raw`\d+(?:_\d+)*`;
const MANTISSA = String.raw`(?:${DIGITS}(?:\.(?:${DIGITS})?)?|\.${DIGITS})`;
const FLOAT = new RegExp(
  String.raw`^\s*[+-]?(?:${MANTISSA}(?:[eE][+-]?${DIGITS})?|inf(?:inity)?|nan)\s*$`,
  'i'
);
const BOOLS = ['1', 'true', 'yes', 'on', '0', 'false', 'no', 'off'];
const SETTABLE = ['int', 'float', 'bool', 'str', 'list', 'tuple', 'dict', 'NoneType', ''];

/** What a value of each type looks like (a function: the words are translated when shown). */
const EXAMPLES = (): Record<string, string> => ({
  int: __('a whole number, e.g. 42'),
  float: __('a number, e.g. 0.5'),
  bool: __('true or false'),
  list: __('a JSON list, e.g. [1, 2]'),
  tuple: __('a JSON list, e.g. [1, 2]'),
  dict: __('a JSON object, e.g. {"a": 1}')
});

function parses(text: string, check: (value: unknown) => boolean): boolean {
  try {
    return check(JSON.parse(text));
  } catch {
    return false;
  }
}

/** Why `text` is not a value of `param`'s type, or null when it is. An unchanged default
 * is always fine: it is not sent. */
export function parameterError(param: IParameter, text: string): string | null {
  if (param.secret !== undefined || text === param.value) {
    return null;
  }
  const type = param.type ?? '';
  let ok: boolean;
  switch (type) {
    case 'int':
      ok = INT.test(text);
      break;
    case 'float':
      ok = FLOAT.test(text);
      break;
    case 'bool':
      ok = BOOLS.includes(text.trim().toLowerCase());
      break;
    case 'list':
    case 'tuple':
      ok = parses(text, Array.isArray);
      break;
    case 'dict':
      ok = parses(text, v => v !== null && typeof v === 'object' && !Array.isArray(v));
      break;
    default:
      ok = SETTABLE.includes(type);
      if (!ok) {
        return __(
          '%1 has a default of type %2, which cannot be changed here: keep it, or give it a str, int, float, bool, list or dict default',
          param.name,
          type
        );
      }
  }
  const wanted = EXAMPLES()[type] ?? __('a %1', type);
  return ok ? null : __('%1 expects %2; got %3', param.name, wanted, JSON.stringify(text));
}

/** The backend to preselect: the preferred one if usable, else the first usable; null when
 * none is. */
export function chooseBackend(backends: IBackendInfo[], preferred: string): string | null {
  const usable = backends.filter(b => b.usable);
  return (usable.find(b => b.name === preferred) ?? usable[0])?.name ?? null;
}

/** What the user should know about an unusable backend, in one line. */
export function unusableText(backend: IBackendInfo): string {
  const why = backend.reason ?? __('it cannot run here');
  return backend.hint
    ? __('%1: %2 — %3', backend.name, why, backend.hint)
    : __('%1: %2', backend.name, why);
}

/** What running this flow on `backend` means, from its capabilities: steps that ask for a
 * GPU it does not give. */
export function capabilityNotes(backend: IBackendInfo | undefined, steps: IStep[]): string[] {
  if (!backend) {
    return [];
  }
  const notes: string[] = [];
  const gpu = steps.filter(step => (step.resources?.gpu ?? 0) > 0).map(step => step.name);
  if (gpu.length && !backend.capabilities.includes('gpu')) {
    notes.push(
      __(
        '%1 gives no GPU: %2 will run without one (gpu= is for remote backends)',
        backend.name,
        gpu.join(', ')
      )
    );
  }
  return notes;
}

/** Whether a secret value typed in the dialog reaches this backend's tasks (they inherit
 * the environment the run starts with). */
export function takesSecretValues(backend: IBackendInfo | undefined): boolean {
  return backend?.capabilities.includes('secret-env') ?? false;
}

/** The hint under a secret parameter's password field. */
export function secretHint(param: IParameter, backend: IBackendInfo | undefined): string {
  const env = param.secret ?? param.name;
  if (takesSecretValues(backend)) {
    return __(
      "Optional, never stored. Empty: the run reads $%1 from the Jupyter server's environment.",
      env
    );
  }
  const name = backend?.name ?? __('this backend');
  return __(
    "On %1 the tasks read $%2 from the backend's secrets setting ([%1] secrets): a value typed here would not reach them.",
    name,
    env
  );
}
