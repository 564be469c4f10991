const makeRequest = jest.fn();

jest.mock('@jupyterlab/services', () => ({
  ServerConnection: {
    makeSettings: () => ({ baseUrl: 'http://127.0.0.1:8888/lab-base/' }),
    makeRequest: (...args: unknown[]) => makeRequest(...args)
  }
}));

import { FlowClient } from '../client';
import { FlowRequestError, makeUrl, requestAPI } from '../request';

function reply(status: number, body: unknown): Response {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return new Response(text, { status, headers: { 'Content-Type': 'application/json' } });
}

async function failure(call: Promise<unknown>): Promise<FlowRequestError> {
  const error = await call.then(
    () => null,
    (e: unknown) => e
  );
  expect(error).toBeInstanceOf(FlowRequestError);
  return error as FlowRequestError;
}

beforeEach(() => makeRequest.mockReset());

describe('makeUrl', () => {
  it('joins the base url, the namespace, encoded parts and the non-empty query', () => {
    expect(
      makeUrl('http://h/base', 'runs/My Flow/1', { path: 'a b.ipynb', flow: '', x: undefined })
    ).toBe('http://h/base/jupyter-flow/runs/My%20Flow/1?path=a+b.ipynb');
  });
});

describe('requestAPI', () => {
  it('sends JSON bodies and parses JSON answers', async () => {
    makeRequest.mockResolvedValue(reply(200, { ok: 1 }));
    const answer = await requestAPI<{ ok: number }>('export', {
      method: 'POST',
      body: { path: 'nb.ipynb' }
    });
    expect(answer).toEqual({ ok: 1 });
    const [url, init] = makeRequest.mock.calls[0];
    expect(url).toBe('http://127.0.0.1:8888/lab-base/jupyter-flow/export');
    expect(init.method).toBe('POST');
    expect(JSON.parse(init.body)).toEqual({ path: 'nb.ipynb' });
  });

  it('turns a located 4xx into an error carrying message, hint and problems', async () => {
    const located = {
      error: 'NotebookError',
      message: "step name 'load' is used twice",
      hint: 'rename one of them',
      location: { kind: 'cell', index: 5, cell_id: 'c5', first_line: '%%step load', line: null },
      text: "cell 5 ('%%step load'): step name 'load' is used twice\n  hint: rename one of them"
    };
    makeRequest.mockResolvedValue(reply(422, { ...located, problems: [located] }));
    const error = await failure(requestAPI('export', { method: 'POST', body: {} }));
    expect(error).toBeInstanceOf(FlowRequestError);
    expect(error.status).toBe(422);
    expect(error.message).toContain('cell 5');
    expect(error.hint).toBe('rename one of them');
    expect(error.problems[0].location).toMatchObject({ kind: 'cell', index: 5 });
  });

  it("uses jupyter_server's own error message (e.g. 403) when there is no located one", async () => {
    makeRequest.mockResolvedValue(reply(403, { message: 'Forbidden', reason: null }));
    const error = await failure(requestAPI('runs'));
    expect(error.status).toBe(403);
    expect(error.message).toBe('Forbidden');
    expect(error.problems).toEqual([]);
  });

  it('reports a non-JSON failure and an unreachable server', async () => {
    makeRequest.mockResolvedValueOnce(reply(502, 'Bad gateway'));
    await expect(requestAPI('runs')).rejects.toThrow('Bad gateway');
    makeRequest.mockRejectedValueOnce(new TypeError('network down'));
    const error = await failure(requestAPI('runs'));
    expect(error.status).toBe(0);
    expect(error.message).toContain('could not be reached');
  });
});

describe('FlowClient', () => {
  it('posts unsaved content for the graph and GETs the saved one', async () => {
    makeRequest.mockImplementation(async () => reply(200, { steps: [] }));
    const client = new FlowClient();
    await client.graph('nb.ipynb', { cells: [] });
    await client.graph('nb.ipynb');
    expect(makeRequest.mock.calls[0][1].method).toBe('POST');
    expect(JSON.parse(makeRequest.mock.calls[0][1].body)).toEqual({
      path: 'nb.ipynb',
      content: { cells: [] }
    });
    expect(makeRequest.mock.calls[1][0]).toContain('/jupyter-flow/graph?path=nb.ipynb');
  });

  it('sends the store location setting with run queries and run starts', async () => {
    makeRequest.mockImplementation(async () => reply(200, { runs: [] }));
    const client = new FlowClient(() => ({ root: 's3://bucket/flows' }));
    await client.runs('d/nb.ipynb', 'DemoFlow');
    expect(makeRequest.mock.calls[0][0]).toContain('root=s3%3A%2F%2Fbucket%2Fflows');
    makeRequest.mockImplementation(async () => reply(202, { id: 'r1' }));
    await client.startRun('d/nb.ipynb', 'local', { n: '5' });
    expect(JSON.parse(makeRequest.mock.calls[1][1].body)).toEqual({
      path: 'd/nb.ipynb',
      backend: 'local',
      parameters: { n: '5' },
      root: 's3://bucket/flows'
    });
  });

  it('reads one run and its log tail', async () => {
    makeRequest.mockImplementation(async () => reply(200, { logs: 'x' }));
    const client = new FlowClient();
    await client.logs('nb.ipynb', 'DemoFlow', '2026-1', 'train', 50);
    expect(makeRequest.mock.calls[0][0]).toBe(
      'http://127.0.0.1:8888/lab-base/jupyter-flow/runs/DemoFlow/2026-1/logs?path=nb.ipynb&step=train&tail=50'
    );
  });

  it('creates, pauses and deletes schedules, and previews cron', async () => {
    makeRequest.mockImplementation(async () => reply(200, {}));
    const client = new FlowClient();
    const spec = {
      cron: '0 6 * * 1-5',
      timezone: 'UTC',
      target: 'local',
      name: '',
      parameters: {}
    };
    await client.createSchedule('nb.ipynb', spec);
    await client.setSchedulePaused('nb.ipynb', 'squares-flow', true);
    await client.setSchedulePaused('nb.ipynb', 'squares-flow', false);
    await client.deleteSchedule('nb.ipynb', 'squares-flow');
    await client.cronPreview('0 6 * * 1-5', 'Europe/Berlin', 3);
    const calls = makeRequest.mock.calls.map(([url, init]) => `${init.method} ${url}`);
    const base = 'http://127.0.0.1:8888/lab-base/jupyter-flow';
    expect(calls).toEqual([
      `POST ${base}/schedules`,
      `POST ${base}/schedules/squares-flow/pause?path=nb.ipynb`,
      `POST ${base}/schedules/squares-flow/resume?path=nb.ipynb`,
      `DELETE ${base}/schedules/squares-flow?path=nb.ipynb`,
      `GET ${base}/cron?cron=0+6+*+*+1-5&timezone=Europe%2FBerlin&n=3`
    ]);
    const body = JSON.parse(makeRequest.mock.calls[0][1].body);
    expect(body).toEqual({
      path: 'nb.ipynb',
      cron: '0 6 * * 1-5',
      timezone: 'UTC',
      target: 'local',
      parameters: {}
    });
  });
});
