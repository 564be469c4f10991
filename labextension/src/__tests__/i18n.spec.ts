/**
 * @jest-environment jsdom
 */
// The panel's words go through the application's translator once the plugin set it.
const scope = globalThis as { DragEvent?: unknown };
scope.DragEvent ??= class extends MouseEvent {};

const warning = jest.fn();
jest.mock('@jupyterlab/apputils', () => ({
  Dialog: { cancelButton: jest.fn(), okButton: jest.fn(), warnButton: jest.fn() },
  showDialog: jest.fn(),
  InputDialog: { getText: jest.fn() },
  Notification: {
    warning: (...args: unknown[]) => warning(...args),
    error: jest.fn(),
    info: jest.fn(),
    success: jest.fn()
  }
}));

import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';

import { addCommands, CommandIDs, ICommandOptions } from '../commands';
import { describeCron } from '../cron';
import { __, setTranslator } from '../i18n';
import { RunsView } from '../runsView';
import { IFlowClient } from '../tokens';

afterEach(() => setTranslator(null));

/** A translator whose bundle shouts: each msgid uppercased, its %1.. still filled in. */
const shouting = {
  load: () => ({
    __: (id: string, ...args: (string | number)[]) =>
      nullTranslator.load('').__(id.toUpperCase(), ...args)
  })
} as any;

function commands(exportFlow: () => Promise<unknown>): CommandRegistry {
  const registry = new CommandRegistry();
  addCommands({
    app: { commands: registry, shell: { activateById: jest.fn() } },
    tracker: { currentWidget: {} },
    flows: { current: { exportFlow } },
    client: {},
    defaultBackend: () => ''
  } as unknown as ICommandOptions);
  return registry;
}

it('passes words through until a translator is set, then uses it', async () => {
  expect(__('Logs of %1', 'train')).toBe('Logs of train');
  const german: Record<string, string> = { 'No flow in this notebook yet.': 'Noch kein Flow.' };
  setTranslator({ load: () => ({ __: (id: string) => german[id] ?? id }) } as any);
  const view = new RunsView({} as IFlowClient);
  await view.refresh(); // no notebook: nothing is asked of the server
  expect(view.node.querySelector('.jp-Flow-note')?.textContent).toBe('Noch kein Flow.');
  view.dispose();
});

it('words a cron expression with whole translated phrases', () => {
  setTranslator(shouting);
  expect(describeCron('*/15 * * * *')).toBe('EVERY 15 MINUTES');
  expect(describeCron('0 6 * * 1-5')).toBe('AT 06:00, ON MONDAY THROUGH FRIDAY');
});

it('translates the frame of a notification, not the server note inside it', async () => {
  setTranslator(shouting);
  const notes = ['step train was never run: its outputs are guessed'];
  await commands(async () => ({ notes })).execute(CommandIDs.export);
  expect(warning).toHaveBeenCalledWith(`EXPORT TO FLOW: ${notes[0]}`, { autoClose: false });
});

it('shows the %%step magic as written (a %% in a msgid would show as one %)', () => {
  const registry = commands(async () => null);
  expect(registry.caption(CommandIDs.makeStep)).toBe('Put a %%step line on top of the cell');
});
