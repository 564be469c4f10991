/**
 * @jest-environment jsdom
 */
// The New schedule dialog never offers a field for a secret parameter: a schedule holds no
// secret value (each fire's tasks read the variable), so it says so instead.
const shown: { body?: any } = {};

const scope = globalThis as { DragEvent?: unknown };
scope.DragEvent ??= class extends MouseEvent {};

jest.mock('@jupyterlab/apputils', () => ({
  Dialog: { cancelButton: () => ({ accept: false }), okButton: () => ({ accept: true }) },
  showDialog: (options: { body: any }) => {
    shown.body = options.body;
    return new Promise(() => undefined);
  }
}));

import { askSchedule } from '../scheduleDialog';
import { IFlowClient } from '../tokens';

const client = {
  cronPreview: async () => ({ cron: '0 * * * *', timezone: 'UTC', next: [], description: '' })
} as unknown as IFlowClient;

it('shows a secret parameter as a note, never as a field, and sends no value for it', () => {
  void askSchedule(client, ['local'], 'nightly', [
    { name: 'n', value: '4', help: '' },
    { name: 'token', value: '', help: '', type: 'secret', secret: 'API_TOKEN' }
  ]);
  const node: HTMLElement = shown.body.node;
  expect(node.querySelector('input[name="token"]')).toBeNull();
  expect(node.querySelector('[data-param="token"]')?.textContent).toContain('$API_TOKEN');
  const field = node.querySelector<HTMLInputElement>('input[name="n"]')!;
  field.value = '5';
  expect(shown.body.getValue().parameters).toEqual({ n: '5' });
});
