/**
 * The schedules of the current notebook's flow: trigger, target, next fire times;
 * create (dialog), pause/resume and delete.
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { describeCron } from './cron';
import { defaultScheduleName, IParameter } from './model';
import { FlowRequestError } from './request';
import { askSchedule } from './scheduleDialog';
import { IFlowClient } from './tokens';
import { ISchedule } from './types';

export class SchedulesView extends Widget {
  constructor(private readonly _client: IFlowClient) {
    super();
    this.addClass('jp-Flow-schedulesView');
    const title = document.createElement('h3');
    title.textContent = 'Schedules';
    this._create = document.createElement('button');
    this._create.className = 'jp-Button jp-mod-styled jp-mod-reject jp-Flow-newSchedule';
    this._create.textContent = 'New schedule';
    this._create.addEventListener('click', () => void this._createSchedule());
    this._list = document.createElement('ul');
    this._list.className = 'jp-Flow-schedules';
    this.node.append(title, this._create, this._list);
  }

  setFlow(path: string | null, flow: string | null, params: IParameter[]): void {
    this._params = params;
    if (path === this._path && flow === this._flow) {
      return;
    }
    this._path = path;
    this._flow = flow;
    void this.refresh();
  }

  async refresh(): Promise<void> {
    const { _path: path, _flow: flow } = this;
    this._create.disabled = !path || !flow;
    if (!path || !flow) {
      this._render([]);
      return;
    }
    try {
      const answer = await this._client.schedules(path, flow);
      this._targets = answer.targets;
      this.setHidden(false);
      if (path === this._path && flow === this._flow) {
        this._render(answer.schedules);
      }
    } catch (error) {
      // Schedules are an optional part of jupyter_flow: no routes, no section.
      this.setHidden(error instanceof FlowRequestError && error.status === 404);
      this._render([], String((error as Error).message));
    }
  }

  private async _createSchedule(): Promise<void> {
    const { _path: path, _flow: flow } = this;
    if (!path || !flow) {
      return;
    }
    const spec = await askSchedule(
      this._client,
      this._targets,
      defaultScheduleName(flow),
      this._params
    );
    if (!spec) {
      return;
    }
    await this._act(async () => {
      const created = await this._client.createSchedule(path, spec);
      Notification.success(`Scheduled ${created.flow.name} as ${created.name}`, {
        autoClose: 3000
      });
    });
  }

  private async _act(action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (error) {
      Notification.error(String((error as Error).message), { autoClose: false });
    }
    await this.refresh();
  }

  private _render(schedules: ISchedule[], error = ''): void {
    this._list.textContent = '';
    if (error) {
      this._list.appendChild(item(error, 'jp-Flow-error'));
      return;
    }
    if (!schedules.length) {
      this._list.appendChild(item(this._flow ? 'No schedules yet.' : '', 'jp-Flow-note'));
      return;
    }
    for (const schedule of schedules) {
      this._list.appendChild(this._row(schedule));
    }
  }

  private _row(schedule: ISchedule): HTMLElement {
    const row = document.createElement('li');
    row.className = 'jp-Flow-schedule';
    row.dataset.name = schedule.name;
    row.dataset.paused = String(schedule.paused);
    const head = document.createElement('div');
    head.className = 'jp-Flow-scheduleHead';
    const title = document.createElement('strong');
    title.textContent = schedule.name;
    const state = document.createElement('span');
    state.className = `jp-Flow-status jp-Flow-status-${schedule.paused ? 'cancelled' : 'done'}`;
    state.textContent = schedule.paused ? 'paused' : 'active';
    head.append(title, state);
    const trigger = document.createElement('div');
    trigger.className = 'jp-Flow-note';
    const words = schedule.cron ? describeCron(schedule.cron) : '';
    trigger.textContent = `${schedule.cron ?? ''} — ${words} (${schedule.timezone}) on ${schedule.target}`;
    const next = document.createElement('div');
    next.className = 'jp-Flow-note jp-Flow-nextFire';
    next.textContent = schedule.next_fire_times.length
      ? `next: ${schedule.next_fire_times[0].replace('T', ' ')}`
      : '';
    const actions = document.createElement('div');
    actions.className = 'jp-Flow-actions';
    const path = this._path!;
    actions.append(
      button(schedule.paused ? 'Resume' : 'Pause', () =>
        this._act(async () => {
          await this._client.setSchedulePaused(path, schedule.name, !schedule.paused);
        })
      ),
      button('Delete', () => this._delete(path, schedule.name))
    );
    row.append(head, trigger, next, actions);
    return row;
  }

  private async _delete(path: string, name: string): Promise<void> {
    const answer = await showDialog({
      title: 'Delete schedule',
      body: `Delete the schedule ${name}? Runs it already started are kept.`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
    });
    if (answer.button.accept) {
      await this._act(() => this._client.deleteSchedule(path, name));
    }
  }

  private _create: HTMLButtonElement;
  private _list: HTMLUListElement;
  private _path: string | null = null;
  private _flow: string | null = null;
  private _targets: string[] = ['local'];
  private _params: IParameter[] = [];
}

function item(text: string, className: string): HTMLElement {
  const li = document.createElement('li');
  li.className = className;
  li.textContent = text;
  return li;
}

function button(label: string, onClick: () => Promise<void>): HTMLButtonElement {
  const element = document.createElement('button');
  element.className = 'jp-Button jp-mod-styled jp-mod-reject';
  element.textContent = label;
  element.dataset.action = label.toLowerCase();
  element.addEventListener('click', () => void onClick());
  return element;
}
