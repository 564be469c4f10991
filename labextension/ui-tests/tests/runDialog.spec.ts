/**
 * The Run dialog validates before a run starts: a backend that cannot run here is shown
 * disabled with the reason and what to install, an int parameter given "abc" is refused
 * next to its field (Run disabled until fixed), a secret parameter is a password field
 * whose value reaches the run's tasks (and is never shown). Screenshots at the default
 * window size: test-results/<test>/NN-name.png.
 */
import { expect, openFlowPanel, openNotebook, shot, test } from './helpers';

const NOTEBOOK = 'run_dialog.ipynb';

test('the Run dialog refuses what would fail and takes a secret as a password', async ({
  page,
  tmpPath
}, info) => {
  // This machine has every SDK, so every backend is usable: answer as a server without
  // boto3 would (the server side of this is tested in test_server_run_checks.py).
  await page.route(/\/jupyter-flow\/backends(\?|$)/, async route => {
    const response = await route.fetch();
    const json = await response.json();
    for (const backend of json.backends) {
      if (backend.name === 'batch') {
        Object.assign(backend, {
          usable: false,
          reason: "the 'boto3' package is not installed here",
          hint: "pip install 'jupyter-flow[aws]'"
        });
      }
    }
    await route.fulfill({ response, json });
  });
  await openNotebook(page, tmpPath, NOTEBOOK);
  await openFlowPanel(page);
  const panel = page.locator('#jp-Flow-panel');
  await expect(panel.locator('.jp-Flow-dag-node')).toHaveCount(2);
  await panel.locator('button[data-command="jupyter-flow:run"]').click();

  const dialog = page.locator('.jp-Dialog');
  const fieldOf = (name: string) =>
    dialog.locator('label.jp-Flow-field', { has: page.locator(`input[name="${name}"]`) });
  const backend = dialog.locator('select.jp-Flow-backend');
  await expect(backend).toHaveValue('local');
  await expect(backend.locator('option[value="batch"]')).toHaveJSProperty('disabled', true);
  await expect(backend.locator('option[value="batch"]')).toHaveText('batch (not available here)');
  await expect(dialog.locator('.jp-Flow-unusable li[data-backend="batch"]')).toHaveText(
    "batch: the 'boto3' package is not installed here — pip install 'jupyter-flow[aws]'"
  );
  await expect(dialog.locator('.jp-Flow-runNotes')).toContainText(
    'local gives no GPU: score will run without one'
  );
  const token = dialog.locator('input[name="token"]');
  await expect(token).toHaveAttribute('type', 'password');
  await expect(fieldOf('token')).toContainText(
    "Empty: the run reads $DEMO_TOKEN from the Jupyter server's environment"
  );
  await shot(page, info, '01-run-dialog');

  const run = dialog.locator('.jp-mod-accept');
  const n = dialog.locator('input[name="n"]');
  await n.fill('abc');
  await expect(fieldOf('n').locator('.jp-Flow-fieldError')).toHaveText(
    'n expects a whole number, e.g. 42; got "abc"'
  );
  await expect(run).toBeDisabled();
  await n.press('Enter'); // Enter does not start it either
  await expect(dialog).toBeVisible();
  await shot(page, info, '02-int-refused-inline');

  await dialog.locator('input[name="rate"]').fill('0.5'); // a float default of 1.0
  await n.fill('5');
  await expect(dialog.locator('.jp-Flow-fieldError:visible')).toHaveCount(0);
  await expect(run).toBeEnabled();
  await shot(page, info, '03-fixed');
  await run.click(); // the token left empty, and the server's environment lacks it

  // refused by the server: the dialog comes back with the reason and the answers kept
  await expect(dialog.locator('.jp-Flow-runRefused')).toContainText(
    "secret parameter 'token' reads $DEMO_TOKEN, which is not set in the Jupyter server's environment"
  );
  await expect(dialog.locator('.jp-Flow-runRefused')).toContainText(
    'hint: enter its value in the Run dialog'
  );
  await expect(n).toHaveValue('5');
  await expect(dialog.locator('input[name="rate"]')).toHaveValue('0.5');
  await token.fill('hunter2-demo');
  await shot(page, info, '04-refused-then-secret');
  await run.click();

  const started = panel.locator('.jp-Flow-run').first();
  await expect(started).toHaveAttribute('data-status', 'done', { timeout: 60000 });
  await expect(panel.locator('.jp-Flow-logs')).toContainText('token length 12');
  await expect(panel.locator('.jp-Flow-logs')).toContainText('result 5.0');
  await expect(panel).not.toContainText('hunter2-demo');
  await shot(page, info, '05-run-done');
});
