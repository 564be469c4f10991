/**
 * @jest-environment jsdom
 */
const makeRequest = jest.fn();

// jsdom has no DragEvent, which @lumino/dragdrop (under @lumino/widgets) extends on import.
const scope = globalThis as { DragEvent?: unknown };
scope.DragEvent ??= class extends MouseEvent {};

jest.mock('@jupyterlab/services', () => ({
  ServerConnection: {
    makeSettings: () => ({ baseUrl: 'http://127.0.0.1:8888/lab-base/' }),
    makeRequest: (...args: unknown[]) => makeRequest(...args)
  }
}));

import { FlowClient } from '../client';
import { RunsView } from '../runsView';
import { IRunSummary, RunStatus } from '../types';

const BASE = 'http://127.0.0.1:8888/lab-base/jupyter-flow';
const CANCEL = `${BASE}/runs/DemoFlow/r-run/cancel?path=nb.ipynb`;

/** What ServerConnection.makeRequest resolves to (jsdom has no fetch Response). */
function reply(status: number, body: unknown): unknown {
  return { ok: status < 400, status, text: async () => JSON.stringify(body) };
}

function run(id: string, status: RunStatus): IRunSummary {
  return { id, flow: 'DemoFlow', status, created: null, finished: null, params: {}, steps: [] };
}

/** A server whose run `r-run` is running until it is told otherwise. */
function server(answerCancel: () => Promise<unknown>): { statuses: Record<string, RunStatus> } {
  const statuses: Record<string, RunStatus> = {
    'r-run': 'running',
    'r-new': 'starting',
    'r-done': 'done',
    'r-failed': 'failed',
    'r-cancelled': 'cancelled'
  };
  makeRequest.mockImplementation(async (url: string, init: RequestInit) => {
    if (init.method === 'POST') {
      return answerCancel();
    }
    if (url.includes('/logs')) {
      return reply(200, { logs: '' });
    }
    if (url.includes('/artifacts')) {
      return reply(200, { artifacts: [] });
    }
    return reply(200, { runs: Object.entries(statuses).map(([id, status]) => run(id, status)) });
  });
  return { statuses };
}

/** Let the view's pending requests and re-render happen. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await new Promise(resolve => setTimeout(resolve, 0));
  }
}

function stopButton(view: RunsView, id: string): HTMLButtonElement | null {
  return view.node.querySelector(`.jp-Flow-run[data-id="${id}"] button[data-action="stop"]`);
}

async function showRuns(): Promise<RunsView> {
  const view = new RunsView(new FlowClient());
  view.setFlow('nb.ipynb', 'DemoFlow');
  await settle();
  return view;
}

let view: RunsView | null = null;

beforeEach(() => makeRequest.mockReset());
afterEach(() => view?.dispose());

describe('RunsView Stop button', () => {
  it('is shown on running and starting runs only', async () => {
    server(async () => reply(202, {}));
    view = await showRuns();
    expect(view.node.querySelectorAll('.jp-Flow-run')).toHaveLength(5);
    expect(stopButton(view, 'r-run')?.textContent).toBe('Stop');
    expect(stopButton(view, 'r-new')?.textContent).toBe('Stop');
    for (const ended of ['r-done', 'r-failed', 'r-cancelled']) {
      expect(stopButton(view, ended)).toBeNull();
    }
  });

  it('POSTs to the run cancel URL and says Stopping… until the run has ended', async () => {
    let answer: (value: unknown) => void = () => undefined;
    const { statuses } = server(() => new Promise(resolve => (answer = resolve)));
    view = await showRuns();
    stopButton(view, 'r-run')!.click();
    const posts = makeRequest.mock.calls.filter(([, init]) => init.method === 'POST');
    expect(posts.map(([url]) => url)).toEqual([CANCEL]);
    expect(stopButton(view, 'r-run')!.disabled).toBe(true);
    expect(stopButton(view, 'r-run')!.textContent).toBe('Stopping…');
    answer(reply(202, { id: 'r-run', flow: 'DemoFlow', status: 'cancelling' }));
    await settle();
    // still running while its driver cancels the tasks: the button stays disabled
    expect(stopButton(view, 'r-run')!.disabled).toBe(true);
    expect(stopButton(view, 'r-run')!.textContent).toBe('Stopping…');
    statuses['r-run'] = 'cancelled';
    await view.refresh();
    expect(stopButton(view, 'r-run')).toBeNull();
    expect(view.node.querySelector('.jp-Flow-error')).toBeNull();
  });

  it('shows the server refusal as the view shows errors, and offers Stop again', async () => {
    const text =
      'run DemoFlow/r-run was not started by this Jupyter server\n' +
      '  hint: it was started elsewhere: stop it where it runs (Ctrl-C, `%flow cancel`)';
    server(async () => reply(409, { error: 'Conflict', message: 'not started here', text }));
    view = await showRuns();
    stopButton(view, 'r-run')!.click();
    await settle();
    expect(view.node.querySelector('.jp-Flow-runDetail .jp-Flow-error')?.textContent).toBe(text);
    expect(stopButton(view, 'r-run')!.disabled).toBe(false);
    expect(stopButton(view, 'r-run')!.textContent).toBe('Stop');
  });
});

describe('RunsView failed run', () => {
  it('shows where in the notebook and why the selected run failed', async () => {
    const headline =
      "step 'combine' failed (cell 3, line 8: 'bad = df[\"y\"].sum()'): KeyError: 'y'";
    const failed = {
      ...run('r-failed', 'failed'),
      failure: { headline, where: 'cell 3, line 8', cell: 3, cell_id: 'c3', line: 8 }
    };
    makeRequest.mockImplementation(async (url: string) =>
      url.includes('/logs')
        ? reply(200, { logs: '' })
        : url.includes('/artifacts')
          ? reply(200, { artifacts: [] })
          : reply(200, { runs: [failed] })
    );
    view = await showRuns();
    const shown = view.node.querySelector<HTMLElement>('.jp-Flow-runDetail .jp-Flow-failure');
    expect(shown?.textContent).toBe(headline);
    expect(shown?.dataset.cell).toBe('3');
    expect(shown?.dataset.line).toBe('8');
  });

  it('shows nothing of the kind for a run that did not fail', async () => {
    makeRequest.mockImplementation(async (url: string) =>
      url.includes('/logs')
        ? reply(200, { logs: '' })
        : url.includes('/artifacts')
          ? reply(200, { artifacts: [] })
          : reply(200, { runs: [run('r', 'done')] })
    );
    view = await showRuns();
    expect(view.node.querySelector('.jp-Flow-failure')).toBeNull();
  });
});

describe('RunsView run page', () => {
  const done = {
    ...run('r-done', 'done'),
    params: { n: 3 },
    schedule: 'nightly',
    executor: 'local',
    steps: [
      {
        name: 'load',
        status: 'done',
        tasks_total: 1,
        tasks_done: 1,
        tasks_running: 0,
        tasks_failed: 0
      }
    ]
  };
  const table = {
    step: 'load',
    index: 0,
    foreach: false,
    name: 'table',
    type: 'pandas.DataFrame',
    size: 900,
    summary: 'DataFrame 30x2',
    final: true
  };

  function serve(): string[] {
    const asked: string[] = [];
    makeRequest.mockImplementation(async (url: string) => {
      asked.push(url);
      if (url.includes('/logs')) {
        return reply(200, { logs: url.includes('step=load') ? 'only load' : 'everything' });
      }
      if (url.includes('/artifacts/load/table')) {
        const rows = [['Oslo', '0']];
        const preview = { columns: ['city', 't'], index: ['0'], rows, shape: [30, 2] };
        return reply(200, { kind: 'table', step: 'load', name: 'table', ...preview });
      }
      if (url.includes('/artifacts')) {
        return reply(200, { artifacts: [table] });
      }
      return reply(200, { runs: [done] });
    });
    return asked;
  }

  it('says what the run ran with, and shows one step\u2019s logs on a click', async () => {
    const asked = serve();
    view = await showRuns();
    const facts = view.node.querySelector('.jp-Flow-runFacts')?.textContent;
    expect(facts).toContain('n=3');
    expect(facts).toContain('schedule nightly');
    expect(view.node.querySelector('.jp-Flow-logs')?.textContent).toBe('everything');
    view.node.querySelector<HTMLElement>('.jp-Flow-steps tr[data-step="load"]')!.click();
    await settle();
    expect(asked.some(url => url.includes('/logs') && url.includes('step=load'))).toBe(true);
    expect(view.node.querySelector('.jp-Flow-logs')?.textContent).toBe('only load');
    expect(view.node.querySelector('.jp-Flow-logsTitle')?.textContent).toBe('Logs of load');
  });

  it('previews an output as a table on a click, and fetches a finished run\u2019s outputs once', async () => {
    const asked = serve();
    view = await showRuns();
    await view.refresh();
    expect(asked.filter(url => url.endsWith('/artifacts?path=nb.ipynb'))).toHaveLength(1);
    view.node.querySelector<HTMLElement>('tr[data-artifact="load/0/table"]')!.click();
    await settle();
    const preview = view.node.querySelector<HTMLElement>('.jp-Flow-preview');
    expect(preview?.dataset.kind).toBe('table');
    expect(preview?.querySelector('td')?.textContent).toBe('Oslo');
  });
});
