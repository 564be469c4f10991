/**
 * The DAG drawn as SVG: steps as boxes (foreach doubled, problems highlighted), edges
 * as arrows. Clicking a step reveals its cell.
 */
import { IDagLayout, layoutDag, NODE_HEIGHT, NODE_WIDTH } from './model';
import { IGraph, IRunSummary } from './types';
import { __ } from './i18n';

const SVG = 'http://www.w3.org/2000/svg';

function el<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    node.setAttribute(key, String(value));
  }
  return node;
}

export function renderDag(graph: IGraph, onStep: (cellIndex: number) => void): SVGSVGElement {
  const layout: IDagLayout = layoutDag(graph);
  const svg = el('svg', {
    class: 'jp-Flow-dag',
    width: layout.width,
    height: layout.height,
    viewBox: `0 0 ${layout.width} ${layout.height}`,
    role: 'img',
    'aria-label': __('DAG of %1', graph.flow)
  });
  const defs = el('defs', {});
  const marker = el('marker', {
    id: 'jp-Flow-arrow',
    viewBox: '0 0 10 10',
    refX: 10,
    refY: 5,
    markerWidth: 6,
    markerHeight: 6,
    orient: 'auto-start-reverse'
  });
  marker.appendChild(el('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'jp-Flow-dag-arrow' }));
  defs.appendChild(marker);
  svg.appendChild(defs);
  for (const edge of layout.edges) {
    const x1 = edge.from.x + NODE_WIDTH / 2;
    const y1 = edge.from.y + NODE_HEIGHT;
    const x2 = edge.to.x + NODE_WIDTH / 2;
    const y2 = edge.to.y;
    const mid = (y1 + y2) / 2;
    const path = el('path', {
      d: `M ${x1} ${y1} C ${x1} ${mid}, ${x2} ${mid}, ${x2} ${y2}`,
      class: 'jp-Flow-dag-edge',
      'marker-end': 'url(#jp-Flow-arrow)'
    });
    path.dataset.edge = `${edge.from.step.name}->${edge.to.step.name}`;
    svg.appendChild(path);
  }
  for (const node of layout.nodes) {
    const classes = ['jp-Flow-dag-node'];
    if (node.step.foreach) {
      classes.push('jp-Flow-dag-foreach');
    }
    if (node.problem) {
      classes.push('jp-Flow-dag-problem');
    }
    const group = el('g', { class: classes.join(' '), tabindex: 0 });
    group.dataset.step = node.step.name;
    if (node.step.foreach) {
      group.appendChild(
        el('rect', { x: node.x + 4, y: node.y + 4, width: NODE_WIDTH, height: NODE_HEIGHT, rx: 6 })
      );
    }
    group.appendChild(
      el('rect', { x: node.x, y: node.y, width: NODE_WIDTH, height: NODE_HEIGHT, rx: 6 })
    );
    const label = el('text', {
      x: node.x + NODE_WIDTH / 2,
      y: node.y + NODE_HEIGHT / 2,
      'text-anchor': 'middle',
      'dominant-baseline': 'central'
    });
    label.textContent = node.step.name;
    group.appendChild(label);
    const title = el('title', {});
    title.textContent = node.step.foreach
      ? __('%1 (foreach %2), cell %3', node.step.name, node.step.foreach, node.step.cell_index)
      : __('%1, cell %2', node.step.name, node.step.cell_index);
    group.appendChild(title);
    group.addEventListener('click', () => onStep(node.step.cell_index));
    svg.appendChild(group);
  }
  return svg;
}

/**
 * Paint the steps of `run` (the run whose page is shown) on a drawn DAG: each node gets
 * its step's status (`data-status`, styled), and its tooltip says it; null clears them.
 */
export function paintRun(svg: Element, run: IRunSummary | null): void {
  const steps = new Map((run?.steps ?? []).map(step => [step.name, step]));
  for (const group of Array.from(svg.querySelectorAll<SVGGElement>('.jp-Flow-dag-node'))) {
    const step = steps.get(group.dataset.step ?? '');
    const title = group.querySelector('title');
    const base = (title?.textContent ?? '').split(' — ')[0];
    if (step) {
      group.dataset.status = step.status;
      if (title) {
        title.textContent = `${base} — ${step.status} ${step.tasks_done}/${step.tasks_total}`;
      }
    } else {
      delete group.dataset.status;
      if (title) {
        title.textContent = base;
      }
    }
  }
}
