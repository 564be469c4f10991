/**
 * Commands: export, run, refresh, open the panel, make a cell a step, edit a step.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { InputDialog, Notification } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';

import { askRun, askStepResources } from './dialogs';
import { changedParameters, normalizeParameters } from './model';
import { PANEL_ID } from './panel';
import { FlowRequestError } from './request';
import {
  editStepSource,
  isIdentifier,
  isStepSource,
  makeStepSource,
  parseStepLine,
  STEP_MAGIC,
  suggestStepName
} from './stepline';
import { IFlowClient, IFlowNotebooks } from './tokens';
import { IStartedRun } from './types';
import { __ } from './i18n';

export const CommandIDs = {
  export: 'jupyter-flow:export',
  run: 'jupyter-flow:run',
  refresh: 'jupyter-flow:refresh',
  openPanel: 'jupyter-flow:open-panel',
  makeStep: 'jupyter-flow:make-step',
  editStep: 'jupyter-flow:edit-step'
};

export interface ICommandOptions {
  app: JupyterFrontEnd;
  tracker: INotebookTracker;
  flows: IFlowNotebooks;
  client: IFlowClient;
  /** The "default backend" setting (empty: the server's default). */
  defaultBackend: () => string;
}

export function addCommands(options: ICommandOptions): void {
  const { app, tracker, flows, client } = options;
  const hasNotebook = () => tracker.currentWidget !== null;
  /** The cell a context menu was opened on (made active), else the active cell. */
  const targetCell = () => {
    const node = app.contextMenuHitTest(n => n.classList.contains('jp-Cell'));
    const notebook = tracker.currentWidget?.content;
    if (node && notebook) {
      const index = notebook.widgets.findIndex(cell => cell.node === node);
      if (index >= 0) {
        notebook.activeCellIndex = index;
      }
    }
    return tracker.activeCell;
  };
  const activeSource = () => targetCell()?.model.sharedModel.getSource() ?? '';

  app.commands.addCommand(CommandIDs.openPanel, {
    label: __('Show the Flow panel'),
    execute: () => app.shell.activateById(PANEL_ID)
  });

  app.commands.addCommand(CommandIDs.refresh, {
    label: __('Refresh the flow of this notebook'),
    isEnabled: hasNotebook,
    execute: () => flows.current?.refresh()
  });

  app.commands.addCommand(CommandIDs.export, {
    label: __('Export to Flow'),
    caption: __('Save the notebook and export its %1 cells to a flow module', STEP_MAGIC),
    isEnabled: hasNotebook,
    execute: async () => {
      const flow = flows.current;
      const result = await flow?.exportFlow();
      if (flow && result === null) {
        app.shell.activateById(PANEL_ID);
      }
      // What export could not check (step cells never run with the extension, unseeded
      // draws): the same notes every export path gives, kept on screen until dismissed.
      const notes = (result as { notes?: string[] } | null | undefined)?.notes ?? [];
      for (const note of notes) {
        Notification.warning(__('Export to Flow: %1', note), { autoClose: false });
      }
      return result;
    }
  });

  app.commands.addCommand(CommandIDs.run, {
    label: __('Run Flow'),
    caption: __('Export the notebook and run its flow on a backend'),
    isEnabled: hasNotebook,
    execute: async () => {
      const flow = flows.current;
      if (!flow) {
        return;
      }
      const path = flow.panel.context.path;
      try {
        await flow.panel.context.save();
        await flow.refresh();
        const info = await client.backends(path);
        const graph = flow.graph;
        const params = normalizeParameters(graph?.parameters, graph?.parameter_types);
        const choices = {
          backends: info.backends,
          preferred: options.defaultBackend() || info.default,
          params,
          steps: graph?.steps ?? []
        };
        let answer = await askRun(choices);
        let started: IStartedRun | null = null;
        while (answer && !started) {
          const parameters = changedParameters(params, answer.values);
          try {
            started = await client.startRun(path, answer.backend, parameters, answer.secrets);
          } catch (error) {
            if (!(error instanceof FlowRequestError) || error.status !== 400) {
              throw error;
            }
            // refused as asked (a secret the server lacks, ...): ask again, keeping the answers
            answer = await askRun({ ...choices, previous: answer, error: error.message });
          }
        }
        if (!started) {
          return;
        }
        flows.notifyRunStarted(started);
        app.shell.activateById(PANEL_ID);
        Notification.info(__('Started %1 on %2', started.pathspec, started.backend), {
          autoClose: 3000
        });
      } catch (error) {
        if (error instanceof FlowRequestError) {
          Notification.error(__('Run Flow failed: %1', error.message), { autoClose: false });
          await flow.refresh();
          return;
        }
        throw error;
      }
    }
  });

  app.commands.addCommand(CommandIDs.makeStep, {
    label: __('Make this cell a step'),
    caption: __('Put a %1 line on top of the cell', STEP_MAGIC),
    isEnabled: () => targetCell()?.model.type === 'code' && !isStepSource(activeSource()),
    execute: async () => {
      const cell = targetCell();
      if (!cell || cell.model.type !== 'code') {
        return;
      }
      const source = cell.model.sharedModel.getSource();
      const taken = (flows.current?.graph?.steps ?? []).map(step => step.name);
      const index = (tracker.currentWidget?.content.activeCellIndex ?? 0) + 1;
      const suggestion = suggestStepName(source, taken, index);
      const answer = await InputDialog.getText({
        title: __('Make this cell a step'),
        label: __('Step name'),
        text: suggestion
      });
      const name = (answer.value ?? '').trim();
      if (!answer.button.accept || !name) {
        return;
      }
      if (!isIdentifier(name)) {
        Notification.error(__('%1 is not a valid step name: use letters, digits and _', name));
        return;
      }
      cell.model.sharedModel.setSource(makeStepSource(source, name));
    }
  });

  app.commands.addCommand(CommandIDs.editStep, {
    label: __('Edit step'),
    caption: __('Edit the resources of this %1 cell', STEP_MAGIC),
    isEnabled: () => isStepSource(activeSource()),
    execute: async () => {
      const cell = targetCell();
      if (!cell) {
        return;
      }
      const source = cell.model.sharedModel.getSource();
      const first = source.split('\n', 1)[0];
      const step = parseStepLine(first);
      if (!step) {
        return;
      }
      const changes = await askStepResources(step.name, first);
      if (changes) {
        cell.model.sharedModel.setSource(editStepSource(source, changes));
      }
    }
  });

  // menus, the notebook toolbar and keyboard shortcuts are declared in schema/plugin.json
}
