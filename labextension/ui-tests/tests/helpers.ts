/**
 * Shared UI-test helpers: a patient application wait (CI machines can be busy), opening a
 * notebook from a folder of this repository, and screenshots kept as test artifacts.
 */
import { expect, IJupyterLabPageFixture, test as base } from '@jupyterlab/galata';
import { Page, TestInfo } from '@playwright/test';
import * as path from 'path';

export { expect };

const APP_TIMEOUT = 90000;

export const test = base.extend({
  waitForApplication: async ({}, use) => {
    await use(async (page, helpers) => {
      await page.locator('#jupyterlab-splash').waitFor({ state: 'detached', timeout: APP_TIMEOUT });
      await helpers.waitForCondition(() => helpers.activity.isTabActive('Launcher'), APP_TIMEOUT);
    });
  }
});

/**
 * Load JupyterLab on the test folder. Galata's own `goto` gives the application a fixed 15 s
 * to start, which a busy 2-core CI machine can exceed; this waits up to APP_TIMEOUT.
 */
export async function gotoLab(page: IJupyterLabPageFixture, tmpPath: string): Promise<void> {
  const raw = (page as unknown as { page: Page }).page;
  const patient = { timeout: APP_TIMEOUT };
  await raw.goto(`lab/tree/${tmpPath}?reset`, { waitUntil: 'domcontentloaded', ...patient });
  await raw.waitForFunction(() => typeof (window as any).jupyterapp === 'object', null, patient);
  await raw.evaluate(() => (window as any).jupyterapp.started);
  await raw.locator('#jupyterlab-splash').waitFor({ state: 'detached', ...patient });
  await raw.waitForFunction(() => typeof (window as any).galata?.app === 'object', null, patient);
}

export const NOTEBOOKS = path.resolve(__dirname, '..', 'notebooks');
export const EXAMPLES = path.resolve(__dirname, '..', '..', '..', 'examples', 'notebooks');

export async function openNotebook(
  page: IJupyterLabPageFixture,
  tmpPath: string,
  name: string,
  folder: string = NOTEBOOKS
): Promise<void> {
  await page.contents.uploadFile(path.join(folder, name), `${tmpPath}/${name}`);
  await gotoLab(page, tmpPath);
  // Open it as the file browser does, then wait as long as a busy machine needs.
  await page.evaluate(async (file: string) => {
    const app = (window as any).jupyterapp;
    await app.commands.execute('docmanager:open', { path: file });
  }, `${tmpPath}/${name}`);
  const tab = page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab', { hasText: name });
  await expect(tab).toBeVisible({ timeout: APP_TIMEOUT });
  await tab.click();
  await expect(page.locator('.jp-NotebookPanel:visible .jp-Cell').first()).toBeVisible({
    timeout: APP_TIMEOUT
  });
}

export async function shot(page: IJupyterLabPageFixture, info: TestInfo, name: string) {
  const file = info.outputPath(`${name}.png`);
  await page.screenshot({ path: file });
  await info.attach(name, { path: file, contentType: 'image/png' });
}

export async function openFlowPanel(page: IJupyterLabPageFixture): Promise<void> {
  await page.locator('.jp-SideBar .lm-TabBar-tab[data-id="jp-Flow-panel"]').click();
  await expect(page.locator('#jp-Flow-panel')).toBeVisible();
}
