/**
 * jupyter-flow: step badges, Export to Flow / Run Flow, and the Flow side panel.
 */
import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, IToolbarWidgetRegistry } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';

import { FlowClient, IStoreOptions } from './client';
import { addCommands, CommandIDs } from './commands';
import { FlowNotebooks } from './flows';
import { setTranslator } from './i18n';
import { FlowPanel } from './panel';
import { FlowToolbarExtension, registerToolbarButtons } from './toolbar';
import { IFlowClient, IFlowNotebooks } from './tokens';

export * from './tokens';
export * from './types';

const PLUGIN_ID = 'jupyter-flow:plugin';

const flowIcon = new LabIcon({
  name: 'jupyter-flow:flow',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
    '<g class="jp-icon3" fill="#616161"><rect x="9" y="2" width="6" height="5" rx="1"/>' +
    '<rect x="2" y="17" width="6" height="5" rx="1"/><rect x="16" y="17" width="6" height="5" rx="1"/>' +
    '<path d="M11.5 7h1v4h6.5v6h-1v-5h-12v5h-1v-6h6.5z"/></g></svg>'
});

interface IFlowSettings {
  defaultBackend: string;
  storeLocation: string;
}

const settings: IFlowSettings = { defaultBackend: '', storeLocation: '' };

const clientPlugin: JupyterFrontEndPlugin<IFlowClient> = {
  id: 'jupyter-flow:client',
  description: 'Typed access to the jupyter_flow server extension.',
  autoStart: true,
  provides: IFlowClient,
  activate: (): IFlowClient => {
    const store = (): IStoreOptions =>
      settings.storeLocation ? { root: settings.storeLocation } : {};
    return new FlowClient(store);
  }
};

const plugin: JupyterFrontEndPlugin<IFlowNotebooks> = {
  id: PLUGIN_ID,
  description: 'Step badges, Export to Flow, Run Flow and the Flow panel.',
  autoStart: true,
  requires: [IFlowClient, INotebookTracker, IDocumentManager],
  optional: [ISettingRegistry, ICommandPalette, ILabShell, IToolbarWidgetRegistry, ITranslator],
  provides: IFlowNotebooks,
  activate: (
    app: JupyterFrontEnd,
    client: IFlowClient,
    tracker: INotebookTracker,
    docManager: IDocumentManager,
    registry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    _shell: ILabShell | null,
    toolbars: IToolbarWidgetRegistry | null,
    translator: ITranslator | null
  ): IFlowNotebooks => {
    setTranslator(translator); // before any label is made
    const flows = new FlowNotebooks(tracker, client, docManager);
    addCommands({ app, tracker, flows, client, defaultBackend: () => settings.defaultBackend });
    if (toolbars && registry) {
      registerToolbarButtons(toolbars, app.commands); // placed by jupyter.lab.toolbars
    } else {
      app.docRegistry.addWidgetExtension('Notebook', new FlowToolbarExtension(app.commands));
    }

    const panel = new FlowPanel(flows, client, app.commands);
    panel.title.icon = flowIcon;
    app.shell.add(panel, 'right', { rank: 600 });

    if (palette) {
      for (const command of Object.values(CommandIDs)) {
        palette.addItem({ command, category: 'Flow' });
      }
    }
    if (registry) {
      void registry
        .load(PLUGIN_ID)
        .then(loaded => {
          const update = () => {
            settings.defaultBackend = String(loaded.get('defaultBackend').composite ?? '');
            settings.storeLocation = String(loaded.get('storeLocation').composite ?? '');
          };
          update();
          loaded.changed.connect(update);
        })
        .catch(reason => console.error('jupyter-flow: cannot load settings', reason));
    }
    return flows;
  }
};

export default [clientPlugin, plugin];
