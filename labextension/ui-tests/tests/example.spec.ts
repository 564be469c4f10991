/**
 * The repository's example notebook ridge_sweep.ipynb, end to end: badges (with foreach),
 * Export to Flow, the DAG in the Flow panel, a local run watched until it is done.
 */
import { EXAMPLES, expect, openFlowPanel, openNotebook, shot, test } from './helpers';

const NOTEBOOK = 'ridge_sweep.ipynb';

test('ridge_sweep example: badges, export, DAG with foreach, a local run', async ({
  page,
  tmpPath
}, info) => {
  await openNotebook(page, tmpPath, NOTEBOOK, EXAMPLES);

  const badges = page.locator('.jp-Notebook .jp-Flow-badge');
  await expect(badges).toHaveCount(3);
  await expect(badges.nth(1)).toContainText('step fit');
  await expect(badges.nth(1)).toContainText('foreach alpha in alphas');
  await expect(badges.nth(1)).toContainText('out: model, score');
  await shot(page, info, '21-example-badges');

  await page.locator('.jp-Flow-exportButton').click();
  const editor = page.locator('.jp-FileEditor .cm-content');
  await expect(editor).toContainText('def prepare(');
  await expect(editor).toContainText('foreach="alpha in alphas"');
  await expect(editor).toContainText('def pick(');
  await shot(page, info, '22-example-exported');

  await openFlowPanel(page);
  await page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab', { hasText: NOTEBOOK }).click();
  const panel = page.locator('#jp-Flow-panel');
  await expect(panel.locator('h2')).toHaveText('RidgeSweepFlow');
  await expect(panel.locator('.jp-Flow-dag-node')).toHaveCount(3);
  await expect(panel.locator('.jp-Flow-dag-foreach[data-step="fit"]')).toHaveCount(1);
  await expect(panel.locator('.jp-Flow-dag-edge')).toHaveCount(2);
  await shot(page, info, '23-example-dag');

  await panel.locator('button[data-command="jupyter-flow:run"]').click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog.locator('input[name="alphas"]')).toHaveValue('[0.001,0.01,0.1,1,10]');
  await dialog.locator('.jp-mod-accept').click();
  const run = panel.locator('.jp-Flow-run').first();
  await expect(run).toHaveAttribute('data-status', 'done', { timeout: 90000 });
  await expect(panel.locator('.jp-Flow-steps tr[data-step="fit"]')).toContainText('5/5');
  await shot(page, info, '24-example-run-done');
});
