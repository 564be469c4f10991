/**
 * "Export to Flow" and "Run Flow" on every notebook's toolbar. They are declared in the
 * settings schema (``jupyter.lab.toolbars``), so users can move or hide them in Settings;
 * this module makes the buttons those entries name.
 */
import { CommandRegistry } from '@lumino/commands';
import { IToolbarWidgetRegistry } from '@jupyterlab/apputils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { INotebookModel, NotebookPanel } from '@jupyterlab/notebook';
import { ToolbarButton } from '@jupyterlab/ui-components';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';
import { Widget } from '@lumino/widgets';

import { CommandIDs } from './commands';
import { __ } from './i18n';

/** The toolbar entries of the schema: item name -> command, label, class (translated
 * when asked, not at import). */
const BUTTONS = (): [string, string, string, string][] => [
  ['jupyterFlowExport', CommandIDs.export, __('Export to Flow'), 'jp-Flow-exportButton'],
  ['jupyterFlowRun', CommandIDs.run, __('Run Flow'), 'jp-Flow-runButton']
];

function button(
  commands: CommandRegistry,
  panel: NotebookPanel,
  command: string,
  label: string,
  className: string
): ToolbarButton {
  return new ToolbarButton({
    label,
    className,
    tooltip: commands.caption(command),
    onClick: () => {
      panel.activate(); // the command acts on the current notebook: make it this one
      void commands.execute(command);
    }
  });
}

/** Make the schema's toolbar entries: the user's Settings decide where they go. */
export function registerToolbarButtons(
  registry: IToolbarWidgetRegistry,
  commands: CommandRegistry
): void {
  for (const [name, command, label, className] of BUTTONS()) {
    registry.addFactory<NotebookPanel>('Notebook', name, panel =>
      button(commands, panel, command, label, className)
    );
  }
}

/** Without a toolbar registry (another front end): add the buttons after the cell type. */
export class FlowToolbarExtension implements DocumentRegistry.IWidgetExtension<
  NotebookPanel,
  INotebookModel
> {
  constructor(private readonly _commands: CommandRegistry) {}

  createNew(panel: NotebookPanel): IDisposable {
    let after = 'cellType';
    const made: Widget[] = [];
    for (const [name, command, label, className] of BUTTONS()) {
      const widget = button(this._commands, panel, command, label, className);
      panel.toolbar.insertAfter(after, name, widget);
      made.push(widget);
      after = name;
    }
    return new DisposableDelegate(() => made.forEach(widget => widget.dispose()));
  }
}
