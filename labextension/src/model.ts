/**
 * Pure view-model logic: DAG layout, human descriptions of steps and runs, parameters.
 */
import { IGraph, IProblem, IResources, IRunSummary, IStep } from './types';
import { __ } from './i18n';

export interface INodeLayout {
  step: IStep;
  layer: number;
  slot: number;
  x: number;
  y: number;
  problem: boolean;
}

export interface IEdgeLayout {
  from: INodeLayout;
  to: INodeLayout;
}

export interface IDagLayout {
  nodes: INodeLayout[];
  edges: IEdgeLayout[];
  width: number;
  height: number;
}

export const NODE_WIDTH = 140;
export const NODE_HEIGHT = 36;
const GAP_X = 24;
const GAP_Y = 36;
const MARGIN = 12;

/** Top-down layered layout: a step's layer is the longest path from a start step. */
export function layoutDag(graph: Pick<IGraph, 'steps' | 'edges' | 'problems'>): IDagLayout {
  const byName = new Map(graph.steps.map(step => [step.name, step]));
  const parents = new Map<string, string[]>();
  for (const step of graph.steps) {
    parents.set(step.name, []);
  }
  for (const [from, to] of graph.edges) {
    if (byName.has(from) && byName.has(to)) {
      parents.get(to)!.push(from);
    }
  }
  const layer = new Map<string, number>();
  const visiting = new Set<string>();
  const depth = (name: string): number => {
    const known = layer.get(name);
    if (known !== undefined) {
      return known;
    }
    if (visiting.has(name)) {
      return 0; // a cycle is reported as a problem by the server; do not loop here
    }
    visiting.add(name);
    const value = Math.max(-1, ...parents.get(name)!.map(depth)) + 1;
    visiting.delete(name);
    layer.set(name, value);
    return value;
  };
  const broken = problemSteps(graph);
  const slots = new Map<number, number>();
  const nodes: INodeLayout[] = graph.steps.map(step => {
    const l = depth(step.name);
    const slot = slots.get(l) ?? 0;
    slots.set(l, slot + 1);
    return {
      step,
      layer: l,
      slot,
      x: MARGIN + slot * (NODE_WIDTH + GAP_X),
      y: MARGIN + l * (NODE_HEIGHT + GAP_Y),
      problem: broken.has(step.name)
    };
  });
  const nodeOf = new Map(nodes.map(node => [node.step.name, node]));
  const edges: IEdgeLayout[] = [];
  for (const [from, to] of graph.edges) {
    const a = nodeOf.get(from);
    const b = nodeOf.get(to);
    if (a && b) {
      edges.push({ from: a, to: b });
    }
  }
  const widest = Math.max(1, ...slots.values());
  const layers = Math.max(1, slots.size);
  return {
    nodes,
    edges,
    width: 2 * MARGIN + widest * NODE_WIDTH + (widest - 1) * GAP_X,
    height: 2 * MARGIN + layers * NODE_HEIGHT + (layers - 1) * GAP_Y
  };
}

/** Names of steps a problem points at (by step name or by the step's cell). */
export function problemSteps(graph: Pick<IGraph, 'steps' | 'problems'>): Set<string> {
  const names = new Set<string>();
  for (const problem of graph.problems) {
    const location = problem.location;
    if (!location) {
      continue;
    }
    if (location.kind === 'step') {
      names.add(location.step);
    } else {
      for (const step of graph.steps) {
        if (step.cell_index === location.index) {
          names.add(step.name);
        }
      }
    }
  }
  return names;
}

/** Problems keyed by the 1-based cell index they are located at. */
export function problemsByCell(problems: IProblem[]): Map<number, IProblem[]> {
  const byCell = new Map<number, IProblem[]>();
  for (const problem of problems) {
    if (problem.location?.kind === 'cell') {
      const list = byCell.get(problem.location.index) ?? [];
      list.push(problem);
      byCell.set(problem.location.index, list);
    }
  }
  return byCell;
}

export function formatMemory(mb: number): string {
  if (mb >= 1024 && mb % 1024 === 0) {
    return `${mb / 1024}G`;
  }
  if (mb >= 1024) {
    return `${(mb / 1024).toFixed(1)}G`;
  }
  return `${mb}M`;
}

export function describeResources(resources: IResources | undefined): string {
  const parts: string[] = [];
  if (resources?.cpu) {
    parts.push(__('%1 CPU', resources.cpu));
  }
  if (resources?.memory_mb) {
    parts.push(formatMemory(resources.memory_mb));
  }
  if (resources?.gpu) {
    parts.push(__('%1 GPU', resources.gpu));
  }
  return parts.join(' · ');
}

/** The one-line text of a step badge. */
export function describeStep(step: IStep): string {
  if (step.unreadable) {
    return __('step %1 · cannot be read: see the problem below the cell', step.name);
  }
  const parts = [__('step %1', step.name)];
  const resources = describeResources(step.resources);
  if (resources) {
    parts.push(resources);
  }
  if (step.foreach) {
    parts.push(__('foreach %1', step.foreach));
  }
  const io: string[] = [];
  if (step.inputs.length) {
    io.push(__('in: %1', step.inputs.join(', ')));
  }
  if (step.outputs.length) {
    io.push(__('out: %1', step.outputs.join(', ')));
  }
  return [parts.join(' · '), ...io].join('  |  ');
}

export function isActive(run: Pick<IRunSummary, 'status'>): boolean {
  return run.status === 'starting' || run.status === 'running';
}

/** A run time as the user reads it: today's as a time, older ones with their date. */
export function formatWhen(value: number | string | null, now: Date = new Date()): string {
  if (value === null || value === '') {
    return '';
  }
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) {
    return String(value);
  }
  const time = date.toTimeString().slice(0, 8);
  return date.toDateString() === now.toDateString()
    ? time
    : `${date.toISOString().slice(0, 10)} ${time}`;
}

export function runProgress(run: IRunSummary): string {
  const total = run.steps.reduce((n, s) => n + s.tasks_total, 0);
  const done = run.steps.reduce((n, s) => n + s.tasks_done, 0);
  return total ? __('%1/%2 tasks', done, total) : '';
}

export interface IParameter {
  name: string;
  value: string;
  help: string;
  /** The type a value is converted to (int, float, bool, str, list, dict, secret, ...);
   * empty when the server did not say. */
  type?: string;
  /** For a secret parameter: the environment variable its tasks read it from. */
  secret?: string;
}

/** `{"secret": "ENV"}`: how the server describes a secret parameter (never a value). */
function secretEnv(value: unknown): string | undefined {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1 && entries[0][0] === 'secret' && typeof entries[0][1] === 'string') {
      return entries[0][1];
    }
  }
  return undefined;
}

/** The type of a JSON default when the server gave none (a whole float reads as int). */
function jsonType(value: unknown): string {
  if (typeof value === 'boolean') {
    return 'bool';
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) ? 'int' : 'float';
  }
  if (typeof value === 'string') {
    return 'str';
  }
  if (Array.isArray(value)) {
    return 'list';
  }
  return value === null || value === undefined ? 'NoneType' : 'dict';
}

/** Parameters from the graph, whatever shape the analysis gave them; `types` (the graph's
 * `parameter_types`) says what each value converts to. */
export function normalizeParameters(
  raw: unknown,
  types: Record<string, string> = {}
): IParameter[] {
  const asText = (value: unknown): string =>
    value === undefined || value === null
      ? ''
      : typeof value === 'string'
        ? value
        : JSON.stringify(value);
  if (Array.isArray(raw)) {
    return raw
      .map(item => {
        if (typeof item === 'string') {
          return { name: item, value: '', help: '' };
        }
        const p = (item ?? {}) as Record<string, unknown>;
        return {
          name: asText(p.name),
          value: asText(p.default ?? p.value),
          help: asText(p.help ?? p.type)
        };
      })
      .filter(p => p.name);
  }
  if (raw && typeof raw === 'object') {
    return Object.entries(raw as Record<string, unknown>).map(([name, value]) => {
      const secret = secretEnv(value);
      if (secret !== undefined) {
        return { name, value: '', help: '', type: 'secret', secret };
      }
      const type = types[name] ?? jsonType(value);
      // JSON gives a float default of 1.0 as 1: show it as Python wrote it
      const text = type === 'float' && Number.isInteger(value) ? `${value}.0` : asText(value);
      return { name, value: text, help: '', type };
    });
  }
  return [];
}

/** Only the parameters the user changed from their defaults are sent (never a secret:
 * its value travels apart, in the run request's `secrets`). */
export function changedParameters(
  params: IParameter[],
  values: Record<string, string>
): Record<string, string> {
  const changed: Record<string, string> = {};
  for (const p of params) {
    if (p.secret !== undefined) {
      continue;
    }
    const value = values[p.name];
    if (value !== undefined && value !== p.value) {
      changed[p.name] = value;
    }
  }
  return changed;
}

/** `SquaresFlow` -> `squares-flow`: the name the server gives a schedule by default. */
export function defaultScheduleName(flow: string): string {
  return flow
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/_/g, '-')
    .toLowerCase();
}
