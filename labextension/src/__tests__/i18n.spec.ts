/**
 * @jest-environment jsdom
 */
// The panel's words go through the application's translator once the plugin set it.
const scope = globalThis as { DragEvent?: unknown };
scope.DragEvent ??= class extends MouseEvent {};

import { __, setTranslator } from '../i18n';
import { RunsView } from '../runsView';
import { IFlowClient } from '../tokens';

afterEach(() => setTranslator(null));

it('passes words through until a translator is set, then uses it', async () => {
  expect(__('Logs of %1', 'train')).toBe('Logs of train');
  const german: Record<string, string> = { 'No flow in this notebook yet.': 'Noch kein Flow.' };
  setTranslator({ load: () => ({ __: (id: string) => german[id] ?? id }) } as any);
  const view = new RunsView({} as IFlowClient);
  await view.refresh(); // no notebook: nothing is asked of the server
  expect(view.node.querySelector('.jp-Flow-note')?.textContent).toBe('Noch kein Flow.');
  view.dispose();
});
