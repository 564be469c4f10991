/**
 * Galata (Playwright) UI tests against a real JupyterLab started by `ci.sh test`
 * (TARGET_URL), in Debian's Chromium (Playwright's own browser download is not used).
 */
const base = require('@jupyterlab/galata/lib/playwright-config');

module.exports = {
  ...base,
  testDir: './tests',
  outputDir: './test-results',
  reporter: [['list'], ['html', { open: 'never', outputFolder: './playwright-report' }]],
  retries: 0,
  workers: 1,
  timeout: 120000,
  expect: { timeout: 20000 },
  use: {
    ...base.use,
    viewport: { width: 1280, height: 800 },
    autoGoto: false, // tests call gotoLab (a patient wait for the application)
    serverFiles: 'only-on-failure',
    baseURL: process.env.TARGET_URL || 'http://127.0.0.1:8888',
    screenshot: 'only-on-failure',
    video: 'off',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync'
      ]
    }
  }
};
