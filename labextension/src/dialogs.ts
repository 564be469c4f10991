/**
 * Dialog bodies: "Run Flow" (backend, parameters, secrets) and "Edit step" (resources).
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { IParameter } from './model';
import {
  capabilityNotes,
  chooseBackend,
  parameterError,
  secretHint,
  takesSecretValues,
  unusableText
} from './runForm';
import { parseStepLine } from './stepline';
import { IBackendInfo, IStep } from './types';
import { __ } from './i18n';

function field(label: string, input: HTMLElement, ...more: (string | HTMLElement)[]): HTMLElement {
  const row = document.createElement('label');
  row.className = 'jp-Flow-field';
  const text = document.createElement('span');
  text.textContent = label;
  row.append(text, input);
  for (const item of more) {
    if (typeof item !== 'string') {
      row.appendChild(item);
    } else if (item) {
      const small = document.createElement('small');
      small.textContent = item;
      row.appendChild(small);
    }
  }
  return row;
}

function textInput(name: string, value: string, placeholder = ''): HTMLInputElement {
  const input = document.createElement('input');
  input.className = 'jp-mod-styled jp-Flow-input';
  input.name = name;
  input.value = value;
  input.placeholder = placeholder;
  return input;
}

export interface IRunRequest {
  backend: string;
  values: Record<string, string>;
  /** Secret parameter -> value typed in the dialog (empty ones left out). */
  secrets: Record<string, string>;
}

export interface IRunChoices {
  backends: IBackendInfo[];
  /** The backend to preselect when it is usable. */
  preferred: string;
  params: IParameter[];
  steps: IStep[];
  /** What the user entered last time, when the server refused it (shown again). */
  previous?: IRunRequest;
  /** The server's refusal of `previous`, shown on top. */
  error?: string;
}

class RunBody extends Widget implements Dialog.IBodyWidget<IRunRequest> {
  constructor(private readonly _choices: IRunChoices) {
    super();
    this.addClass('jp-Flow-runDialog');
    const { backends, preferred, params, previous, error } = _choices;
    if (error) {
      const refused = document.createElement('p');
      refused.className = 'jp-Flow-runRefused';
      refused.setAttribute('role', 'alert');
      refused.textContent = error;
      this.node.appendChild(refused);
    }
    const chosen = chooseBackend(backends, previous?.backend ?? preferred);
    this._backend = document.createElement('select');
    this._backend.className = 'jp-mod-styled jp-Flow-backend';
    this._backend.name = 'backend';
    for (const info of backends) {
      const option = document.createElement('option');
      option.value = info.name;
      option.textContent = info.usable ? info.name : __('%1 (not available here)', info.name);
      option.disabled = !info.usable;
      option.title = info.usable ? '' : unusableText(info);
      option.selected = info.name === chosen;
      this._backend.appendChild(option);
    }
    this._backend.addEventListener('change', () => this._update());
    this.node.appendChild(field('Backend', this._backend));
    const unusable = backends.filter(b => !b.usable);
    if (unusable.length) {
      const list = document.createElement('ul');
      list.className = 'jp-Flow-unusable';
      for (const info of unusable) {
        const item = document.createElement('li');
        item.dataset.backend = info.name;
        item.textContent = unusableText(info);
        list.appendChild(item);
      }
      this.node.appendChild(list);
    }
    this._notes.className = 'jp-Flow-runNotes';
    this.node.appendChild(this._notes);
    if (params.length) {
      const title = document.createElement('h4');
      title.textContent = __('Parameters');
      this.node.appendChild(title);
    }
    for (const p of params) {
      const input = textInput(p.name, p.value);
      const before = p.secret === undefined ? previous?.values[p.name] : previous?.secrets[p.name];
      if (before !== undefined) {
        input.value = before;
      }
      input.classList.add('jp-Flow-param');
      const error = document.createElement('small');
      error.className = 'jp-Flow-fieldError';
      error.setAttribute('role', 'alert');
      const hint = document.createElement('small');
      hint.textContent = p.help;
      if (p.secret !== undefined) {
        input.type = 'password';
        input.autocomplete = 'new-password';
        input.placeholder = `$${p.secret}`;
        input.classList.add('jp-Flow-secret');
      }
      input.addEventListener('input', () => this._update());
      this._params.set(p.name, { param: p, input, error, hint });
      const type = p.secret !== undefined ? 'secret' : p.type;
      const row = field(p.name, input, error, hint);
      if (type) {
        const tag = document.createElement('span');
        tag.className = 'jp-Flow-paramType';
        tag.textContent = type;
        row.firstElementChild!.append(' ', tag);
      }
      this.node.appendChild(row);
    }
    this._update(false);
  }

  getValue(): IRunRequest {
    const values: Record<string, string> = {};
    const secrets: Record<string, string> = {};
    for (const [name, { param, input }] of this._params) {
      if (param.secret === undefined) {
        values[name] = input.value;
      } else if (input.value && !input.disabled) {
        secrets[name] = input.value;
      }
    }
    return { backend: this._backend.value, values, secrets };
  }

  /** What stops the run from starting, in the user's words (empty: Run is enabled). */
  problems(): string[] {
    const found: string[] = [];
    if (!this._selected()?.usable) {
      found.push('no backend can run here');
    }
    for (const { param, input } of this._params.values()) {
      const error = parameterError(param, input.value);
      if (error) {
        found.push(error);
      }
    }
    return found;
  }

  private _selected(): IBackendInfo | undefined {
    return this._choices.backends.find(b => b.name === this._backend.value);
  }

  /** Re-check every field; inline errors, notes for the chosen backend, and an invalid
   * field marked so the dialog keeps Run disabled. */
  private _update(notify = true): void {
    const backend = this._selected();
    this._backend.setCustomValidity(backend?.usable ? '' : 'no backend can run here');
    this._notes.replaceChildren(
      ...capabilityNotes(backend, this._choices.steps).map(note => {
        const item = document.createElement('small');
        item.textContent = note;
        return item;
      })
    );
    for (const { param, input, error, hint } of this._params.values()) {
      if (param.secret !== undefined) {
        input.disabled = !takesSecretValues(backend);
        hint.textContent = secretHint(param, backend);
        continue;
      }
      const problem = parameterError(param, input.value) ?? '';
      input.setCustomValidity(problem);
      input.classList.toggle('jp-mod-error', problem !== '');
      input.setAttribute('aria-invalid', problem ? 'true' : 'false');
      error.textContent = problem;
    }
    if (notify) {
      this.notifyDialog();
    }
  }

  /** The dialog checks validity on input events only, and its listener (document,
   * capture) runs before ours updated the fields: a synthetic input event lets it see the
   * current state (also once it is shown). */
  notifyDialog(): void {
    this.node.dispatchEvent(new Event('input', { bubbles: true }));
  }

  private _backend: HTMLSelectElement;
  private _notes = document.createElement('div');
  private _params = new Map<
    string,
    { param: IParameter; input: HTMLInputElement; error: HTMLElement; hint: HTMLElement }
  >();
}

/** Ask how to run; null when cancelled. Run stays disabled while a field is invalid. */
export async function askRun(choices: IRunChoices): Promise<IRunRequest | null> {
  const body = new RunBody(choices);
  const shown = showDialog({
    title: __('Run Flow'),
    body,
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: __('Run') })]
  });
  requestAnimationFrame(() => body.notifyDialog());
  const result = await shown;
  return result.button.accept && result.value && !body.problems().length ? result.value : null;
}

const STEP_FIELDS: [string, string, string][] = [
  ['cpu', 'CPUs', 'e.g. 2'],
  ['memory', 'Memory', 'e.g. 4G or 512M'],
  ['gpu', 'GPUs', 'e.g. 1'],
  ['retries', 'Retries', 'e.g. 2'],
  ['timeout', 'Timeout', 'e.g. 30m'],
  ['image', 'Image', 'container image (remote backends)']
];

class StepBody extends Widget implements Dialog.IBodyWidget<Record<string, string>> {
  constructor(firstLine: string) {
    super();
    this.addClass('jp-Flow-stepDialog');
    const step = parseStepLine(firstLine);
    for (const [key, label, hint] of STEP_FIELDS) {
      const current = step?.options.get(`--${key}`);
      const input = textInput(key, typeof current === 'string' ? current : '', hint);
      this._inputs.set(key, input);
      this.node.appendChild(field(label, input));
    }
  }

  getValue(): Record<string, string> {
    const values: Record<string, string> = {};
    for (const [key, input] of this._inputs) {
      values[key] = input.value;
    }
    return values;
  }

  private _inputs = new Map<string, HTMLInputElement>();
}

export async function askStepResources(
  name: string,
  firstLine: string
): Promise<Record<string, string> | null> {
  const result = await showDialog({
    title: __('Edit step %1', name),
    body: new StepBody(firstLine),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: __('Save') })]
  });
  return result.button.accept && result.value ? result.value : null;
}
