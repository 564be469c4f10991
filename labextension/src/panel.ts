/**
 * The "Flow" side panel: the current notebook's DAG, its located problems (links jump to
 * the cell), and the runs of its flow.
 */
import { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';

import { paintRun, renderDag } from './dag';
import { note as text } from './dom';
import { normalizeParameters } from './model';
import { RunsView } from './runsView';
import { SchedulesView } from './schedulesView';
import { IFlowClient, IFlowNotebooks, INotebookFlow } from './tokens';
import { IRunSummary, IStartedRun } from './types';
import { __ } from './i18n';
import { STEP_MAGIC } from './stepline';

export const PANEL_ID = 'jp-Flow-panel';

export class FlowPanel extends Widget {
  constructor(
    flows: IFlowNotebooks,
    client: IFlowClient,
    private readonly _commands: CommandRegistry
  ) {
    super();
    this.id = PANEL_ID;
    this.addClass('jp-Flow-panel');
    this.title.caption = 'Flow';
    this._header = section('jp-Flow-header');
    this._dag = section('jp-Flow-dagSection');
    this._problems = section('jp-Flow-problems');
    const runsTitle = document.createElement('h3');
    runsTitle.textContent = __('Runs');
    this._runs = new RunsView(client);
    this._runs.shownRun.connect((_, run) => {
      this._shown = run;
      this._paintDag();
    });
    this._schedules = new SchedulesView(client);
    this.node.append(
      this._header,
      this._dag,
      this._problems,
      runsTitle,
      this._runs.node,
      this._schedules.node
    );
    flows.currentChanged.connect((_, flow) => this._watch(flow));
    flows.runStarted.connect((_, run) => this._onRunStarted(run));
    this._watch(flows.current);
  }

  dispose(): void {
    this._runs.dispose();
    this._schedules.dispose();
    super.dispose();
  }

  private _watch(flow: INotebookFlow | null): void {
    if (flow === this._flow && flow !== null) {
      return;
    }
    this._flow?.changed.disconnect(this._render, this);
    this._flow = flow;
    flow?.changed.connect(this._render, this);
    this._render();
  }

  private _onRunStarted(run: IStartedRun): void {
    this._render();
    this._runs.follow(run.id);
  }

  private _render(): void {
    const flow = this._flow;
    const graph = flow?.graph ?? null;
    this._header.textContent = '';
    this._dag.textContent = '';
    this._problems.textContent = '';
    const title = document.createElement('h2');
    title.textContent = graph?.flow ?? 'Flow';
    this._header.appendChild(title);
    if (!flow) {
      this._header.appendChild(text(__('Open a notebook to see its flow.')));
      this._runs.setFlow(null, null);
      this._schedules.setFlow(null, null, []);
      return;
    }
    const toolbar = document.createElement('div');
    toolbar.className = 'jp-Flow-actions';
    for (const [label, command] of [
      [__('Export'), 'jupyter-flow:export'],
      [__('Run'), 'jupyter-flow:run'],
      [__('Refresh'), 'jupyter-flow:refresh']
    ]) {
      const button = document.createElement('button');
      button.className = 'jp-Button jp-mod-styled jp-mod-reject';
      button.textContent = label;
      button.dataset.command = command;
      button.addEventListener('click', () => void this._commands.execute(command));
      toolbar.appendChild(button);
    }
    this._header.append(text(flow.panel.context.path, 'jp-Flow-path'), toolbar);
    if (graph && graph.steps.length) {
      this._dag.appendChild(renderDag(graph, index => flow.revealCell(index)));
      this._paintDag();
    } else {
      this._dag.appendChild(text(__('No %1 cells yet: use "Make this cell a step".', STEP_MAGIC)));
    }
    this._renderProblems(flow);
    const hasFlow = graph !== null && graph.steps.length > 0;
    this._runs.setFlow(flow.panel.context.path, hasFlow ? graph.flow : null);
    this._schedules.setFlow(
      flow.panel.context.path,
      hasFlow ? graph.flow : null,
      normalizeParameters(graph?.parameters)
    );
  }

  private _renderProblems(flow: INotebookFlow): void {
    if (!flow.problems.length) {
      return;
    }
    const heading = document.createElement('h3');
    heading.textContent = __('Problems');
    const list = document.createElement('ul');
    for (const problem of flow.problems) {
      const item = document.createElement('li');
      item.className = 'jp-Flow-problem';
      const location = problem.location;
      if (location?.kind === 'cell') {
        const link = document.createElement('a');
        link.href = '#';
        link.className = 'jp-Flow-cellLink';
        link.textContent = __('cell %1', location.index);
        link.addEventListener('click', event => {
          event.preventDefault();
          flow.revealCell(location.index);
        });
        item.append(link, ': ');
      } else if (location?.kind === 'step') {
        item.append(__('step %1: ', location.step));
      }
      item.append(problem.message);
      if (problem.hint) {
        item.appendChild(text(problem.hint, 'jp-Flow-hint'));
      }
      list.appendChild(item);
    }
    this._problems.append(heading, list);
  }

  private _flow: INotebookFlow | null = null;
  private _header: HTMLElement;
  private _dag: HTMLElement;
  private _problems: HTMLElement;
  private _runs: RunsView;
  /** The run whose page is shown: its step statuses are painted on the DAG. */
  private _shown: IRunSummary | null = null;

  private _paintDag(): void {
    const svg = this._dag.querySelector('svg.jp-Flow-dag');
    const flow = this._flow?.graph?.flow;
    if (svg) {
      paintRun(svg, this._shown && this._shown.flow === flow ? this._shown : null);
    }
  }
  private _schedules: SchedulesView;
}

function section(className: string): HTMLElement {
  const div = document.createElement('div');
  div.className = className;
  return div;
}
