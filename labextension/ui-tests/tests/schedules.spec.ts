/**
 * Schedules from the Flow panel (local target): the create dialog previews the cron in
 * words with the next fire times; the schedule can be paused and deleted. And
 * File > Save and Export Notebook As > Flow goes through the nbconvert exporter.
 */
import { expect, openFlowPanel, openNotebook, shot, test } from './helpers';

const NOTEBOOK = 'squares.ipynb';

test('create, pause and delete a schedule from the Flow panel', async ({
  page,
  tmpPath
}, info) => {
  await openNotebook(page, tmpPath, NOTEBOOK);
  await expect(page.locator('.jp-Notebook .jp-Flow-badge')).toHaveCount(3);
  await openFlowPanel(page);
  const panel = page.locator('#jp-Flow-panel');
  await expect(panel.locator('.jp-Flow-schedules')).toContainText('No schedules yet.');

  await panel.locator('.jp-Flow-newSchedule').click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog.locator('select[name="target"]')).toHaveValue('local');
  await dialog.locator('input[name="timezone"]').fill('UTC');
  await dialog.locator('input[name="cron"]').fill('30 7 * * 1-5');
  await expect(dialog.locator('.jp-Flow-cronWords')).toHaveText(
    'At 07:30, on Monday through Friday (UTC)'
  );
  await expect(dialog.locator('.jp-Flow-nextFires li')).toHaveCount(5);
  await expect(dialog.locator('.jp-Flow-nextFires li').first()).toContainText('07:30:00+00:00');
  await dialog.locator('input[name="n"]').fill('6');
  await shot(page, info, '09-schedule-dialog');
  await dialog.locator('.jp-mod-accept').click();

  const row = panel.locator('.jp-Flow-schedule[data-name="squares-flow"]');
  await expect(row).toHaveAttribute('data-paused', 'false');
  await expect(row).toContainText('30 7 * * 1-5');
  await expect(row.locator('.jp-Flow-nextFire')).toContainText('07:30:00+00:00');
  await shot(page, info, '10-schedule-created');

  await row.locator('button[data-action="pause"]').click();
  await expect(row).toHaveAttribute('data-paused', 'true');
  await expect(row).toContainText('paused');
  await shot(page, info, '11-schedule-paused');

  await row.locator('button[data-action="delete"]').click();
  await page.locator('.jp-Dialog .jp-mod-accept').click();
  await expect(row).toHaveCount(0);
  await expect(panel.locator('.jp-Flow-schedules')).toContainText('No schedules yet.');
  await shot(page, info, '12-schedule-deleted');
});

test('File > Save and Export Notebook As > Flow uses the nbconvert exporter', async ({
  page,
  tmpPath
}, info) => {
  await openNotebook(page, tmpPath, NOTEBOOK);
  await expect(page.locator('.jp-Notebook .jp-Flow-badge')).toHaveCount(3);
  await page.menu.openLocator('File>Save and Export Notebook As');
  const item = page.getByRole('menuitem', { name: 'Flow', exact: true });
  await expect(item).toBeVisible();
  await shot(page, info, '13-export-menu');
  const exported = page
    .context()
    .waitForEvent('request', request => request.url().includes('/nbconvert/flow/'));
  await item.click();
  const request = await exported;
  expect(request.url()).toContain(`/nbconvert/flow/${tmpPath}/${NOTEBOOK}`);
  expect(request.url()).toContain('download=true');
  const response = await page.request.get(`nbconvert/flow/${tmpPath}/${NOTEBOOK}?download=true`);
  expect(response.ok()).toBe(true);
  const module = await response.text();
  expect(module).toContain('flow = Flow("SquaresFlow"');
  expect(module).toContain('def total(squares):');
});
