import {
  changedParameters,
  defaultScheduleName,
  describeStep,
  formatWhen,
  layoutDag,
  normalizeParameters,
  problemsByCell,
  problemSteps
} from '../model';
import { IProblem, IStep } from '../types';

function step(name: string, cell: number, extra: Partial<IStep> = {}): IStep {
  return {
    name,
    cell_index: cell,
    cell_id: `id-${name}`,
    inputs: [],
    outputs: [],
    resources: { cpu: 1, memory_mb: 4096, gpu: 0 },
    ...extra
  };
}

function problem(location: IProblem['location']): IProblem {
  return { error: 'NotebookError', message: 'bad', hint: null, location, text: 'bad' };
}

describe('DAG layout', () => {
  const steps = [step('load', 2), step('a', 3), step('b', 4), step('join', 5)];
  const edges: [string, string][] = [
    ['load', 'a'],
    ['load', 'b'],
    ['a', 'join'],
    ['b', 'join']
  ];

  it('puts each step one layer below its deepest parent', () => {
    const layout = layoutDag({ steps, edges, problems: [] });
    const layers = Object.fromEntries(layout.nodes.map(n => [n.step.name, n.layer]));
    expect(layers).toEqual({ load: 0, a: 1, b: 1, join: 2 });
    expect(layout.edges).toHaveLength(4);
  });

  it('places parallel branches side by side, without overlap', () => {
    const layout = layoutDag({ steps, edges, problems: [] });
    const a = layout.nodes.find(n => n.step.name === 'a')!;
    const b = layout.nodes.find(n => n.step.name === 'b')!;
    expect(a.y).toBe(b.y);
    expect(Math.abs(a.x - b.x)).toBeGreaterThanOrEqual(140);
    expect(layout.width).toBeGreaterThanOrEqual(b.x + 140);
  });

  it('survives a cycle (the server reports it as a problem)', () => {
    const cyclic: [string, string][] = [
      ['a', 'b'],
      ['b', 'a']
    ];
    const layout = layoutDag({ steps: [step('a', 1), step('b', 2)], edges: cyclic, problems: [] });
    expect(layout.nodes).toHaveLength(2);
  });

  it('marks steps that problems point at, by step or by cell', () => {
    const problems = [
      problem({ kind: 'step', step: 'a', task: null }),
      problem({ kind: 'cell', index: 5, cell_id: null, first_line: '', line: null })
    ];
    expect([...problemSteps({ steps, problems })].sort()).toEqual(['a', 'join']);
    const layout = layoutDag({ steps, edges, problems });
    expect(layout.nodes.filter(n => n.problem).map(n => n.step.name)).toEqual(['a', 'join']);
  });
});

describe('badges', () => {
  it('describe name, resources, foreach and inferred inputs/outputs', () => {
    const text = describeStep(
      step('train', 3, {
        inputs: ['df'],
        outputs: ['model', 'score'],
        resources: { cpu: 2, memory_mb: 16384, gpu: 1 },
        foreach: 'lr in rates'
      })
    );
    expect(text).toBe(
      'step train · 2 CPU · 16G · 1 GPU · foreach lr in rates  |  in: df  |  out: model, score'
    );
  });

  it('group located problems by cell', () => {
    const byCell = problemsByCell([
      problem({ kind: 'cell', index: 2, cell_id: null, first_line: '', line: null }),
      problem({ kind: 'cell', index: 2, cell_id: null, first_line: '', line: 3 }),
      problem(null)
    ]);
    expect([...byCell.keys()]).toEqual([2]);
    expect(byCell.get(2)).toHaveLength(2);
  });
});

describe('parameters', () => {
  it('accept the name -> default mapping of the analysis', () => {
    expect(normalizeParameters({ n: 3, grid: [0.1, 1], name: 'x' })).toEqual([
      { name: 'n', value: '3', help: '', type: 'int' },
      { name: 'grid', value: '[0.1,1]', help: '', type: 'list' },
      { name: 'name', value: 'x', help: '', type: 'str' }
    ]);
  });

  it('accept a list of declarations too', () => {
    expect(normalizeParameters([{ name: 'n', default: 2, type: 'int' }, 'flag'])).toEqual([
      { name: 'n', value: '2', help: 'int' },
      { name: 'flag', value: '', help: '' }
    ]);
    expect(normalizeParameters(null)).toEqual([]);
  });

  it('send only the values the user changed', () => {
    const params = normalizeParameters({ n: 3, m: 4 });
    expect(changedParameters(params, { n: '3', m: '10' })).toEqual({ m: '10' });
  });
});

describe('run times', () => {
  it('show a time for today and a date for older runs', () => {
    const now = new Date(2026, 10, 25, 12, 0, 0);
    const today = new Date(2026, 10, 25, 9, 5, 7).getTime() / 1000;
    expect(formatWhen(today, now)).toBe('09:05:07');
    const older = new Date(2026, 0, 2, 9, 5, 7).getTime() / 1000;
    expect(formatWhen(older, now)).toMatch(/^2026-01-0[12] 09:05:07$/);
    expect(formatWhen(null, now)).toBe('');
  });
});

describe('schedule names', () => {
  it('follow the server default (kebab case of the flow name)', () => {
    expect(defaultScheduleName('SquaresFlow')).toBe('squares-flow');
    expect(defaultScheduleName('ETL_dailyFlow')).toBe('etl-daily-flow');
  });
});

describe('an unreadable step', () => {
  it('says so in its badge and is drawn as a problem node in the DAG', () => {
    const broken: IStep = {
      name: 'square',
      cell_index: 2,
      cell_id: null,
      inputs: [],
      outputs: [],
      resources: { cpu: null, memory_mb: null, gpu: null },
      unreadable: true
    };
    expect(describeStep(broken)).toBe(
      'step square · cannot be read: see the problem below the cell'
    );
    const problem: IProblem = {
      error: 'NotebookError',
      message: 'syntax error',
      hint: null,
      location: { kind: 'cell', index: 2, cell_id: null, first_line: '%%step square', line: 2 },
      text: ''
    };
    const layout = layoutDag({ steps: [broken], edges: [], problems: [problem] });
    expect(layout.nodes.map((n: any) => [n.step.name, n.problem])).toEqual([['square', true]]);
  });
});
