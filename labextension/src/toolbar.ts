/**
 * "Export to Flow" and "Run Flow" on every notebook's toolbar.
 */
import { CommandRegistry } from '@lumino/commands';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { INotebookModel, NotebookPanel } from '@jupyterlab/notebook';
import { ToolbarButton } from '@jupyterlab/ui-components';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';

import { CommandIDs } from './commands';

export class FlowToolbarExtension
  implements DocumentRegistry.IWidgetExtension<NotebookPanel, INotebookModel>
{
  constructor(private readonly _commands: CommandRegistry) {}

  createNew(panel: NotebookPanel): IDisposable {
    const make = (command: string, label: string, className: string) =>
      new ToolbarButton({
        label,
        className,
        tooltip: this._commands.caption(command),
        onClick: () => {
          panel.activate();
          void this._commands.execute(command);
        }
      });
    const exportButton = make(CommandIDs.export, 'Export to Flow', 'jp-Flow-exportButton');
    const runButton = make(CommandIDs.run, 'Run Flow', 'jp-Flow-runButton');
    panel.toolbar.insertAfter('cellType', 'jupyterFlowExport', exportButton);
    panel.toolbar.insertAfter('jupyterFlowExport', 'jupyterFlowRun', runButton);
    return new DisposableDelegate(() => {
      exportButton.dispose();
      runButton.dispose();
    });
  }
}
