/**
 * The "New schedule" dialog: cron with a human-readable preview and the next fire times
 * (computed by the server in the chosen time zone), time zone, target, name, parameters.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { describeCron } from './cron';
import { IParameter } from './model';
import { IFlowClient } from './tokens';
import { IScheduleSpec } from './types';
import { __ } from './i18n';

const PREVIEW_DELAY_MS = 300;

function labelled(label: string, input: HTMLElement): HTMLElement {
  const row = document.createElement('label');
  row.className = 'jp-Flow-field';
  const text = document.createElement('span');
  text.textContent = label;
  row.append(text, input);
  return row;
}

function input(name: string, value: string, placeholder = ''): HTMLInputElement {
  const element = document.createElement('input');
  element.className = 'jp-mod-styled jp-Flow-input';
  element.name = name;
  element.value = value;
  element.placeholder = placeholder;
  return element;
}

export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

class ScheduleBody extends Widget implements Dialog.IBodyWidget<IScheduleSpec> {
  constructor(
    private readonly _client: IFlowClient,
    targets: string[],
    defaultName: string,
    params: IParameter[]
  ) {
    super();
    this.addClass('jp-Flow-scheduleDialog');
    this._cron = input('cron', '0 6 * * 1-5', 'minute hour day-of-month month day-of-week');
    this._timezone = input('timezone', browserTimeZone(), 'e.g. UTC, Europe/Berlin');
    this._target = document.createElement('select');
    this._target.className = 'jp-mod-styled jp-Flow-target';
    this._target.name = 'target';
    for (const target of targets) {
      const option = document.createElement('option');
      option.value = option.textContent = target;
      option.selected = target === 'local';
      this._target.appendChild(option);
    }
    this._name = input('name', '', defaultName);
    this._preview = document.createElement('div');
    this._preview.className = 'jp-Flow-cronPreview';
    this.node.append(
      labelled(__('Cron'), this._cron),
      this._preview,
      labelled(__('Time zone'), this._timezone),
      labelled(__('Target'), this._target),
      labelled(__('Name'), this._name)
    );
    for (const p of params) {
      if (p.secret !== undefined) {
        // a schedule never holds a secret's value: each fire's tasks read the variable
        const note = document.createElement('p');
        note.className = 'jp-Flow-note jp-Flow-secretNote';
        note.dataset.param = p.name;
        note.textContent = __(
          "Parameter %1: secret, read from $%2 where each scheduled run's tasks run (it is never stored in the schedule).",
          p.name,
          p.secret
        );
        this.node.appendChild(note);
        continue;
      }
      const field = input(p.name, p.value);
      field.classList.add('jp-Flow-param');
      this._params.set(p.name, [field, p.value]);
      this.node.appendChild(labelled(__('Parameter %1', p.name), field));
    }
    for (const element of [this._cron, this._timezone]) {
      element.addEventListener('input', () => this._schedulePreview());
    }
    this._schedulePreview();
  }

  getValue(): IScheduleSpec {
    const parameters: Record<string, string> = {};
    for (const [name, [field, initial]] of this._params) {
      if (field.value !== initial) {
        parameters[name] = field.value;
      }
    }
    return {
      cron: this._cron.value.trim(),
      timezone: this._timezone.value.trim() || 'UTC',
      target: this._target.value,
      name: this._name.value.trim(),
      parameters
    };
  }

  dispose(): void {
    window.clearTimeout(this._timer);
    super.dispose();
  }

  private _schedulePreview(): void {
    window.clearTimeout(this._timer);
    this._timer = window.setTimeout(() => void this._updatePreview(), PREVIEW_DELAY_MS);
  }

  private async _updatePreview(): Promise<void> {
    const cron = this._cron.value.trim();
    const timezone = this._timezone.value.trim() || 'UTC';
    const ticket = ++this._ticket;
    const words = describeCron(cron);
    let lines: string[];
    let failed = false;
    try {
      const preview = await this._client.cronPreview(cron, timezone);
      lines = preview.next.map(t => t.replace('T', ' '));
    } catch (error) {
      lines = [(error as Error).message];
      failed = true;
    }
    if (ticket !== this._ticket || this.isDisposed) {
      return;
    }
    this._preview.textContent = '';
    this._preview.classList.toggle('jp-Flow-error', failed);
    const summary = document.createElement('p');
    summary.className = 'jp-Flow-cronWords';
    summary.textContent = failed ? '' : __('%1 (%2)', words, timezone);
    const list = document.createElement('ul');
    list.className = 'jp-Flow-nextFires';
    for (const line of lines) {
      const item = document.createElement('li');
      item.textContent = line;
      list.appendChild(item);
    }
    this._preview.append(summary, list);
  }

  private _cron: HTMLInputElement;
  private _timezone: HTMLInputElement;
  private _target: HTMLSelectElement;
  private _name: HTMLInputElement;
  private _preview: HTMLDivElement;
  private _params = new Map<string, [HTMLInputElement, string]>();
  private _timer = 0;
  private _ticket = 0;
}

export async function askSchedule(
  client: IFlowClient,
  targets: string[],
  defaultName: string,
  params: IParameter[]
): Promise<IScheduleSpec | null> {
  const result = await showDialog({
    title: __('New schedule'),
    body: new ScheduleBody(client, targets, defaultName, params),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: __('Create') })]
  });
  return result.button.accept && result.value ? result.value : null;
}
