/**
 * @jest-environment jsdom
 */
// The Run dialog's body in a DOM: inline errors mark the field invalid (the dialog keeps Run
// disabled while any field is :invalid), unusable backends are disabled with their reason,
// a secret is a password field whose value travels apart from the parameters.
const shown: { body?: any } = {};

// jsdom has no DragEvent, which @lumino/dragdrop (under @lumino/widgets) extends on import.
const scope = globalThis as { DragEvent?: unknown };
scope.DragEvent ??= class extends MouseEvent {};

jest.mock('@jupyterlab/apputils', () => ({
  Dialog: { cancelButton: () => ({ accept: false }), okButton: () => ({ accept: true }) },
  showDialog: (options: { body: any }) => {
    shown.body = options.body;
    return new Promise(resolve => {
      (shown as any).resolve = (accept: boolean) =>
        resolve({ button: { accept }, value: options.body.getValue() });
    });
  }
}));

import { askRun } from '../dialogs';
import { normalizeParameters } from '../model';
import { IBackendInfo } from '../types';

const backends: IBackendInfo[] = [
  {
    name: 'batch',
    usable: false,
    reason: "the 'boto3' package is not installed here",
    hint: "pip install 'jupyter-flow[aws]'",
    capabilities: ['gpu']
  },
  { name: 'kubernetes', usable: true, reason: null, hint: null, capabilities: ['gpu'] },
  { name: 'local', usable: true, reason: null, hint: null, capabilities: ['secret-env'] }
];

function open() {
  const params = normalizeParameters(
    { n: 4, token: { secret: 'DEMO_TOKEN' } },
    { n: 'int', token: 'secret' }
  );
  const answer = askRun({ backends, preferred: 'batch', params, steps: [] });
  const node: HTMLElement = shown.body.node;
  const q = <T extends Element>(sel: string) => node.querySelector(sel) as T;
  return { answer, node, q };
}

function type(input: HTMLInputElement, text: string) {
  input.value = text;
  input.dispatchEvent(new Event('input', { bubbles: true }));
}

it('refuses an int parameter inline, and lets it through once fixed', async () => {
  const { answer, node, q } = open();
  const n = q<HTMLInputElement>('input[name="n"]');
  type(n, 'abc');
  expect(n.validationMessage).toBe('n expects a whole number, e.g. 42; got "abc"');
  expect(n.classList.contains('jp-mod-error')).toBe(true);
  expect(node.querySelector('.jp-Flow-fieldError')!.textContent).toContain('n expects');
  expect(shown.body.problems()).toHaveLength(1);
  type(n, '7');
  expect(n.validationMessage).toBe('');
  expect(shown.body.problems()).toEqual([]);
  (shown as any).resolve(true);
  expect(await answer).toEqual({ backend: 'kubernetes', values: { n: '7' }, secrets: {} });
});

it('shows an unusable backend disabled with its reason, and never preselects it', () => {
  const { q, node } = open();
  const select = q<HTMLSelectElement>('select.jp-Flow-backend');
  const batch = select.querySelector('option[value="batch"]') as HTMLOptionElement;
  expect(batch.disabled).toBe(true);
  expect(batch.textContent).toBe('batch (not available here)');
  expect(select.value).toBe('kubernetes');
  expect(node.querySelector('.jp-Flow-unusable li')!.textContent).toBe(
    "batch: the 'boto3' package is not installed here — pip install 'jupyter-flow[aws]'"
  );
});

it('a secret is a password field, sent apart, only where tasks can receive it', async () => {
  const { answer, q } = open();
  const token = q<HTMLInputElement>('input[name="token"]');
  expect(token.type).toBe('password');
  expect(token.disabled).toBe(true); // kubernetes tasks read it from [kubernetes] secrets
  const select = q<HTMLSelectElement>('select.jp-Flow-backend');
  select.value = 'local';
  select.dispatchEvent(new Event('change'));
  expect(token.disabled).toBe(false);
  expect(token.parentElement!.textContent).toContain(
    "Empty: the run reads $DEMO_TOKEN from the Jupyter server's environment"
  );
  type(token, 'hunter2-secret');
  (shown as any).resolve(true);
  expect(await answer).toEqual({
    backend: 'local',
    values: { n: '4' },
    secrets: { token: 'hunter2-secret' }
  });
});

it('asked again after a refusal: the reason on top, the answers kept', () => {
  const params = normalizeParameters({ n: 4, token: { secret: 'T' } }, { n: 'int' });
  void askRun({
    backends,
    preferred: 'kubernetes',
    params,
    steps: [],
    previous: { backend: 'local', values: { n: '9' }, secrets: { token: 'abc-123' } },
    error: "secret parameter 'token' reads $T, which is not set"
  });
  const node: HTMLElement = shown.body.node;
  expect(node.querySelector('.jp-Flow-runRefused')!.textContent).toContain('reads $T');
  expect((node.querySelector('select') as HTMLSelectElement).value).toBe('local');
  expect((node.querySelector('input[name="n"]') as HTMLInputElement).value).toBe('9');
  expect((node.querySelector('input[name="token"]') as HTMLInputElement).value).toBe('abc-123');
});
