/**
 * Dialog bodies: "Run Flow" (backend, parameters) and "Edit step" (resources).
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { IParameter } from './model';
import { parseStepLine } from './stepline';

function field(label: string, input: HTMLElement, help = ''): HTMLElement {
  const row = document.createElement('label');
  row.className = 'jp-Flow-field';
  const text = document.createElement('span');
  text.textContent = label;
  row.append(text, input);
  if (help) {
    const small = document.createElement('small');
    small.textContent = help;
    row.appendChild(small);
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
}

class RunBody extends Widget implements Dialog.IBodyWidget<IRunRequest> {
  constructor(backends: string[], chosen: string, params: IParameter[]) {
    super();
    this.addClass('jp-Flow-runDialog');
    this._backend = document.createElement('select');
    this._backend.className = 'jp-mod-styled jp-Flow-backend';
    this._backend.name = 'backend';
    for (const name of backends) {
      const option = document.createElement('option');
      option.value = name;
      option.textContent = name;
      option.selected = name === chosen;
      this._backend.appendChild(option);
    }
    this.node.appendChild(field('Backend', this._backend));
    if (params.length) {
      const title = document.createElement('h4');
      title.textContent = 'Parameters';
      this.node.appendChild(title);
    }
    for (const p of params) {
      const input = textInput(p.name, p.value);
      input.classList.add('jp-Flow-param');
      this._params.set(p.name, input);
      this.node.appendChild(field(p.name, input, p.help));
    }
  }

  getValue(): IRunRequest {
    const values: Record<string, string> = {};
    for (const [name, input] of this._params) {
      values[name] = input.value;
    }
    return { backend: this._backend.value, values };
  }

  private _backend: HTMLSelectElement;
  private _params = new Map<string, HTMLInputElement>();
}

export async function askRun(
  backends: string[],
  chosen: string,
  params: IParameter[]
): Promise<IRunRequest | null> {
  const result = await showDialog({
    title: 'Run Flow',
    body: new RunBody(backends, chosen, params),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Run' })]
  });
  return result.button.accept && result.value ? result.value : null;
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
    title: `Edit step ${name}`,
    body: new StepBody(firstLine),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Save' })]
  });
  return result.button.accept && result.value ? result.value : null;
}
