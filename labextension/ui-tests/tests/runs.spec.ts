/**
 * The Flow panel lists every run of the notebook's flow, whatever started it: a run from a
 * terminal appears on its own, with no click on Refresh.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import { expect, openFlowPanel, openNotebook, shot, test } from './helpers';

const NOTEBOOK = 'squares.ipynb';

test('a run started from a terminal appears in the Flow panel by itself', async ({
  page,
  tmpPath
}, info) => {
  const root = process.env.JUPYTER_FLOW_UI_ROOT;
  expect(root, 'ci.sh sets JUPYTER_FLOW_UI_ROOT to the server root').toBeTruthy();
  await openNotebook(page, tmpPath, NOTEBOOK);
  await openFlowPanel(page);
  const panel = page.locator('#jp-Flow-panel');
  await expect(panel.locator('h2')).toHaveText('SquaresFlow');
  await expect(panel.locator('.jp-Flow-runs')).toContainText('No runs yet');

  // as a user in a terminal next to the notebook: export, then run the module
  const folder = path.join(root as string, tmpPath);
  execFileSync('jupyter', ['flow', 'export', NOTEBOOK], { cwd: folder });
  const module = fs.readdirSync(folder).find(name => name.endsWith('.py'));
  expect(module, `export wrote a module in ${folder}`).toBeTruthy();
  execFileSync('python', [module as string, 'run', '--quiet', '--param', 'n=3'], { cwd: folder });

  const run = panel.locator('.jp-Flow-run').first();
  await expect(run).toHaveAttribute('data-status', 'done', { timeout: 20000 });
  await expect(panel.locator('.jp-Flow-steps tr')).toHaveCount(3);
  // the DAG shows the shown run's step statuses
  await expect(panel.locator('.jp-Flow-dag-node[data-status="done"]')).toHaveCount(3);
  await shot(page, info, '01-run-from-terminal-listed');

  // the run's page: what it ran with, one step's logs, an output's preview
  await expect(panel.locator('.jp-Flow-runFacts')).toContainText('n=3');
  await expect(panel.locator('.jp-Flow-runFacts')).toContainText('local');
  await panel.locator('.jp-Flow-steps tr[data-step="load"]').click();
  await expect(panel.locator('.jp-Flow-logsTitle')).toHaveText('Logs of load');
  await expect(panel.locator('.jp-Flow-logs')).toContainText('loaded');
  await expect(panel.locator('.jp-Flow-logs')).not.toContainText('total');
  await panel.locator('tr[data-artifact="square/0/squares"]').click();
  await expect(panel.locator('.jp-Flow-preview')).toContainText('[0, 1, 4]');
  await shot(page, info, '02-run-page-step-logs-and-preview');
});
