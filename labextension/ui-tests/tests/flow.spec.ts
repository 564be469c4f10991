/**
 * The user's journey in a real JupyterLab: step badges, "Make this cell a step",
 * Export to Flow, the Flow panel's DAG, a local run watched to the end, located problems.
 * Every screen is kept as a screenshot (test-results/<test>/NN-name.png).
 */
import { expect, openFlowPanel, openNotebook, shot, test } from './helpers';

const NOTEBOOK = 'squares.ipynb';

test('step cells carry badges; a cell becomes a step from its context menu', async ({
  page,
  tmpPath
}, info) => {
  await openNotebook(page, tmpPath, NOTEBOOK);
  const badges = page.locator('.jp-Notebook .jp-Flow-badge');
  await expect(badges).toHaveCount(3);
  await expect(badges.nth(0)).toContainText('step load');
  await expect(badges.nth(0)).toContainText('in: n');
  await expect(badges.nth(0)).toContainText('out: numbers');
  await expect(badges.nth(1)).toContainText('step square · 2 CPU · 512M');
  await shot(page, info, '01-step-badges');

  const cell = page.locator('.jp-Notebook .jp-Cell').nth(4);
  await cell.locator('.jp-InputArea-editor').click({ button: 'right' });
  await page.getByRole('menuitem', { name: 'Make this cell a step' }).click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog.locator('input')).toHaveValue('summary_result');
  await shot(page, info, '02-make-step-dialog');
  await dialog.locator('.jp-mod-accept').click();

  await expect(badges).toHaveCount(4);
  await expect(cell.locator('.jp-Flow-badge')).toContainText('step summary_result');
  await expect(cell.locator('.jp-Flow-badge')).toContainText('in: n, result');
  expect(await page.notebook.getCellTextInput(4)).toMatch(/^%%step summary_result\n# Summary/);
  await shot(page, info, '03-new-step-badge');

  const square = page.locator('.jp-Notebook .jp-Cell').nth(2);
  await square.locator('.jp-InputArea-editor').click({ button: 'right' });
  await page.getByRole('menuitem', { name: 'Edit step' }).click();
  await expect(dialog.locator('input[name="cpu"]')).toHaveValue('2');
  await expect(dialog.locator('input[name="memory"]')).toHaveValue('512M');
  await dialog.locator('input[name="cpu"]').fill('3');
  await dialog.locator('input[name="gpu"]').fill('1');
  await shot(page, info, '03b-edit-step-dialog');
  await dialog.locator('.jp-mod-accept').click();
  expect(await page.notebook.getCellTextInput(2)).toMatch(
    /^%%step square --cpu 3 --memory 512M --gpu 1\n/
  );
  await expect(square.locator('.jp-Flow-badge')).toContainText(
    'step square · 3 CPU · 512M · 1 GPU'
  );
});

test('Export to Flow writes the module and opens it beside the notebook', async ({
  page,
  tmpPath
}, info) => {
  await openNotebook(page, tmpPath, NOTEBOOK);
  await expect(page.locator('.jp-Flow-badge')).toHaveCount(3);
  await expect(page.locator('.jp-Flow-runButton')).toBeVisible();
  await page.locator('.jp-Flow-exportButton').click();

  const tab = page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab', { hasText: 'squares_flow.py' });
  await expect(tab).toBeVisible();
  const editor = page.locator('.jp-FileEditor .cm-content');
  await expect(editor).toContainText('flow = Flow("SquaresFlow"');
  await expect(editor).toContainText('def load(n):');
  await expect(editor).toContainText('def square(numbers):');
  await expect(editor).toContainText('def total(squares):');
  expect(await page.contents.fileExists(`${tmpPath}/squares_flow.py`)).toBe(true);
  // the notebook never ran in a kernel: the button says so, as every export path does
  await expect
    .poll(async () =>
      (await page.evaluate(() => window.galata.getNotifications())).map(n => n.message)
    )
    .toContainEqual(expect.stringContaining('were not run with the extension'));
  await shot(page, info, '04-exported-module');
});

test('the Flow panel draws the DAG and follows a local run to the end', async ({
  page,
  tmpPath
}, info) => {
  await openNotebook(page, tmpPath, NOTEBOOK);
  await openFlowPanel(page);
  const panel = page.locator('#jp-Flow-panel');
  await expect(panel.locator('h2')).toHaveText('SquaresFlow');
  await expect(panel.locator('.jp-Flow-dag-node')).toHaveCount(3);
  await expect(panel.locator('.jp-Flow-dag-edge')).toHaveCount(2);
  await expect(panel.locator('.jp-Flow-dag-edge[data-edge="load->square"]')).toHaveCount(1);
  await shot(page, info, '05-flow-panel-dag');

  await panel.locator('button[data-command="jupyter-flow:run"]').click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog.locator('select.jp-Flow-backend')).toHaveValue('local');
  await expect(dialog.locator('input[name="n"]')).toHaveValue('4');
  await dialog.locator('input[name="n"]').fill('5');
  await shot(page, info, '06-run-dialog');
  await dialog.locator('.jp-mod-accept').click();

  const run = panel.locator('.jp-Flow-run').first();
  await expect(run).toHaveAttribute('data-status', 'done', { timeout: 60000 });
  await expect(panel.locator('.jp-Flow-steps tr')).toHaveCount(3);
  await expect(panel.locator('.jp-Flow-logs')).toContainText('total 30');
  await shot(page, info, '07-run-done');
});

test('export problems are located: the link jumps to the cell', async ({ page, tmpPath }, info) => {
  await openNotebook(page, tmpPath, NOTEBOOK);
  await expect(page.locator('.jp-Flow-badge')).toHaveCount(3);
  await page.notebook.setCell(4, 'code', '%%step load\nagain = 1');
  await page.locator('.jp-Flow-exportButton').click();

  const panel = page.locator('#jp-Flow-panel');
  await expect(panel).toBeVisible();
  const link = panel.locator('.jp-Flow-problem .jp-Flow-cellLink').first();
  await expect(link).toHaveText('cell 5');
  await expect(page.locator('.jp-Flow-badge-problem')).toHaveCount(1);
  const cells = page.locator('.jp-Notebook .jp-Cell');
  await cells.nth(0).locator('.jp-InputArea-editor').click();
  await expect(cells.nth(4)).not.toHaveClass(/jp-mod-active/);
  await link.click();
  await expect(cells.nth(4)).toHaveClass(/jp-mod-active/);
  expect(await page.contents.fileExists(`${tmpPath}/squares_flow.py`)).toBe(false);
  await shot(page, info, '08-located-problem');
});
