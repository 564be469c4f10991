/**
 * Schedules from the Flow panel (local target): the create dialog previews the cron in
 * words with the next fire times; the schedule can be paused and deleted; a schedule fires
 * from the Jupyter server itself and its run shows up in its History; a server whose
 * scheduler is off (and no daemon) shows a warning instead of a next fire. And
 * File > Save and Export Notebook As > Flow goes through the nbconvert exporter.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { Page, TestInfo } from '@playwright/test';

import { expect, NOTEBOOKS, openFlowPanel, openNotebook, shot, test } from './helpers';

const NOTEBOOK = 'squares.ipynb';

test('create, pause and delete a schedule from the Flow panel', async ({ page, tmpPath }, info) => {
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
  // at the default sidebar width every button shows its whole label on one line
  const clipped = await row
    .locator('.jp-Flow-actions button')
    .evaluateAll(buttons =>
      buttons
        .filter(b => b.scrollWidth > b.clientWidth + 1 || b.scrollHeight > b.clientHeight + 1)
        .map(b => b.textContent)
    );
  expect(clipped).toEqual([]);
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

test('a schedule fires from the Jupyter server and its run shows up in History', async ({
  page,
  tmpPath
}, info) => {
  await openNotebook(page, tmpPath, NOTEBOOK);
  await openFlowPanel(page);
  const panel = page.locator('#jp-Flow-panel');
  await panel.locator('.jp-Flow-newSchedule').click();
  const dialog = page.locator('.jp-Dialog');
  await dialog.locator('input[name="timezone"]').fill('UTC');
  await dialog.locator('input[name="cron"]').fill('*/20 * * * * *'); // every 20 seconds
  await expect(dialog.locator('.jp-Flow-nextFires li')).toHaveCount(5);
  await dialog.locator('.jp-mod-accept').click();

  const row = panel.locator('.jp-Flow-schedule[data-name="squares-flow"]');
  try {
    // this server runs the local scheduler: no warning, a next fire ahead
    await expect(row.locator('.jp-Flow-status')).toHaveText('active');
    await expect(panel.locator('.jp-Flow-noScheduler')).toBeHidden();
    await expect(row.locator('.jp-Flow-nextFire')).toHaveAttribute('data-kind', 'upcoming');
    await row.locator('button[data-action="history"]').click();
    // no daemon runs here: the fire comes from the server; the open History refreshes itself
    const fired = row.locator('.jp-Flow-historyEntry[data-trigger="cron"][data-status="done"]');
    await expect(fired.first()).toBeVisible({ timeout: 90000 });
    await expect(fired.first().locator('.jp-Flow-runId')).toHaveText(/^\d{8}-\d{6}-[0-9a-f]+$/);
    await fired.first().scrollIntoViewIfNeeded();
    await shot(page, info, '14-schedule-fired-by-server');
  } finally {
    await row.locator('button[data-action="delete"]').click();
    await page.locator('.jp-Dialog .jp-mod-accept').click();
    await expect(row).toHaveCount(0);
  }
});

/** A free port on 127.0.0.1. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const port = (probe.address() as net.AddressInfo).port;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * A second JupyterLab like the one under test (same config: 127.0.0.1, this extension),
 * with its local scheduler turned off and its own root folder; stopped by PID.
 */
async function startLabWithoutScheduler(root: string): Promise<{ url: string; lab: ChildProcess }> {
  const port = await freePort();
  const config = path.resolve(__dirname, '..', 'jupyter_server_test_config.py');
  const log = fs.openSync(path.join(root, '..', 'lab.log'), 'w');
  const lab = spawn('jupyter', ['lab', '--config', config, '--FlowSchedulerApp.enabled=False'], {
    env: { ...process.env, JUPYTER_FLOW_UI_PORT: String(port), JUPYTER_FLOW_UI_ROOT: root },
    stdio: ['ignore', log, log]
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 240; i++) {
    try {
      if ((await fetch(`${url}/api/status`)).ok) {
        return { url, lab };
      }
    } catch {
      // not answering yet
    }
    await new Promise(resolve => setTimeout(resolve, 500));
  }
  lab.kill('SIGKILL');
  throw new Error(`the second JupyterLab did not answer at ${url}`);
}

async function snap(page: Page, info: TestInfo, name: string): Promise<void> {
  const file = info.outputPath(`${name}.png`);
  await page.screenshot({ path: file });
  await info.attach(name, { path: file, contentType: 'image/png' });
}

test('without a scheduler the panel warns instead of promising a next fire', async ({
  browser
}, info) => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-no-scheduler-'));
  const root = path.join(work, 'root');
  fs.mkdirSync(root);
  fs.copyFileSync(path.join(NOTEBOOKS, NOTEBOOK), path.join(root, NOTEBOOK));
  const { url, lab } = await startLabWithoutScheduler(root);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const created = await context.request.post(`${url}/jupyter-flow/schedules`, {
      data: { path: NOTEBOOK, cron: '*/2 * * * *', timezone: 'UTC' }
    });
    expect(created.status()).toBe(201);
    const page = await context.newPage();
    await page.goto(`${url}/lab/tree/${NOTEBOOK}?reset`);
    await page.locator('#jupyterlab-splash').waitFor({ state: 'detached', timeout: 90000 });
    await expect(page.locator('.jp-Notebook .jp-Flow-badge')).toHaveCount(3, { timeout: 90000 });
    // a fresh browser profile is asked about Jupyter news (Galata's own page is not)
    const news = page.locator('.jp-toast-button', { hasText: 'No' });
    await news.click({ timeout: 10000 }).catch(() => undefined);
    await page.locator('.jp-SideBar .lm-TabBar-tab[data-id="jp-Flow-panel"]').click();
    const panel = page.locator('#jp-Flow-panel');
    const warning = panel.locator('.jp-Flow-noScheduler');
    await expect(warning).toBeVisible();
    await expect(warning).toContainText('local schedules will not fire');
    await expect(warning).toContainText('jupyter flow scheduler');
    const row = panel.locator('.jp-Flow-schedule[data-name="squares-flow"]');
    await expect(row.locator('.jp-Flow-status')).toHaveText('not firing');
    const next = row.locator('.jp-Flow-nextFire');
    await expect(next).toHaveAttribute('data-kind', 'never');
    await expect(next).not.toContainText('next:');
    await warning.scrollIntoViewIfNeeded();
    await snap(page, info, '15-schedule-no-scheduler');
  } finally {
    await context.close();
    if (lab.exitCode === null) {
      const exited = new Promise(resolve => lab.once('exit', resolve));
      lab.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(work, { recursive: true, force: true });
  }
});
