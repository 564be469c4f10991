/**
 * The Run dialog's rules: a value that the server (Parameter.convert) would refuse is
 * refused here first, with a message naming the parameter; unusable backends are never
 * preselected; capabilities decide the GPU note and whether a typed secret reaches tasks.
 */
import { IParameter, changedParameters, normalizeParameters } from '../model';
import {
  capabilityNotes,
  chooseBackend,
  parameterError,
  secretHint,
  takesSecretValues,
  unusableText
} from '../runForm';
import { IBackendInfo, IStep } from '../types';

const param = (name: string, type: string, value: string): IParameter => ({
  name,
  value,
  help: '',
  type
});

const local: IBackendInfo = {
  name: 'local',
  usable: true,
  reason: null,
  hint: null,
  capabilities: ['cancel', 'logs', 'secret-env', 'timeout']
};
const kube: IBackendInfo = {
  name: 'kubernetes',
  usable: false,
  reason: "the 'kubernetes' package is not installed here",
  hint: "pip install 'jupyter-flow[kubernetes]'",
  capabilities: ['cancel', 'gpu', 'logs', 'remote']
};
const batch: IBackendInfo = { ...kube, name: 'batch', usable: true, reason: null, hint: null };

describe('parameter values against their type', () => {
  it.each([
    ['int', '3', ['7', ' -12 ', '+4', '1_000'], ['abc', '1.5', '', '1e3', '1__0', '0x10']],
    [
      'float',
      '1.0',
      ['0.5', '3', '-2.', '.5', '1e-3', 'inf', 'NaN', ' 2_5.0 '],
      ['fast', '', '1.2.3', 'e5']
    ],
    ['bool', 'False', ['true', 'NO', ' on ', '1', '0'], ['maybe', '', '2']],
    ['list', '[1, 2]', ['[]', '["a", 3]'], ['1, 2', '{"a": 1}', '[1,']],
    ['dict', '{"a": 1}', ['{}', '{"b": [1]}'], ['[1]', 'null', 'a=1']],
    ['str', 'hello', ['', 'anything at all', '123'], []]
  ])('%s', (type, value, good, bad) => {
    const p = param('x', type, value);
    for (const text of good) {
      expect(parameterError(p, text)).toBeNull();
    }
    for (const text of bad) {
      expect(parameterError(p, text)).toContain('x expects');
    }
  });

  it('names the parameter, the type wanted and what was typed', () => {
    expect(parameterError(param('seed', 'int', '0'), 'abc')).toBe(
      'seed expects a whole number, e.g. 42; got "abc"'
    );
  });

  it('never refuses an unchanged default (it is not sent)', () => {
    expect(parameterError(param('tags', 'set', "{'a'}"), "{'a'}")).toBeNull();
    expect(parameterError(param('tags', 'set', "{'a'}"), "{'b'}")).toContain(
      'cannot be changed here'
    );
  });

  it('types come from the server: a float default of 1.0 takes 0.5', () => {
    const params = normalizeParameters(
      { seed: 0, rate: 1, token: { secret: 'HF_TOKEN' } },
      {
        seed: 'int',
        rate: 'float',
        token: 'secret'
      }
    );
    expect(params.map(p => [p.name, p.type, p.value, p.secret])).toEqual([
      ['seed', 'int', '0', undefined],
      ['rate', 'float', '1.0', undefined],
      ['token', 'secret', '', 'HF_TOKEN']
    ]);
    expect(parameterError(params[1], '0.5')).toBeNull();
    expect(parameterError(params[0], '0.5')).toContain('seed expects a whole number');
    // a secret is never sent as a parameter, whatever its field holds
    expect(changedParameters(params, { seed: '4', rate: '1.0', token: 'x' })).toEqual({
      seed: '4'
    });
  });
});

describe('backends', () => {
  it('preselects the preferred backend only when it is usable', () => {
    expect(chooseBackend([local, kube, batch], 'batch')).toBe('batch');
    expect(chooseBackend([local, kube, batch], 'kubernetes')).toBe('local');
    expect(chooseBackend([kube], 'kubernetes')).toBeNull();
  });

  it('says why a backend is unavailable and what to do', () => {
    expect(unusableText(kube)).toBe(
      "kubernetes: the 'kubernetes' package is not installed here — " +
        "pip install 'jupyter-flow[kubernetes]'"
    );
  });

  it('notes GPU steps on a backend without the gpu capability', () => {
    const steps = [
      { name: 'train', resources: { gpu: 1 } },
      { name: 'load', resources: { gpu: 0 } }
    ] as IStep[];
    expect(capabilityNotes(local, steps)).toEqual([
      'local gives no GPU: train will run without one (gpu= is for remote backends)'
    ]);
    expect(capabilityNotes(batch, steps)).toEqual([]);
  });

  it('a typed secret reaches tasks only where they inherit the run environment', () => {
    const token: IParameter = { name: 'token', value: '', help: '', type: 'secret', secret: 'HF' };
    expect(takesSecretValues(local)).toBe(true);
    expect(takesSecretValues(batch)).toBe(false);
    expect(secretHint(token, local)).toBe(
      "Optional, never stored. Empty: the run reads $HF from the Jupyter server's environment."
    );
    expect(secretHint(token, batch)).toContain('[batch] secrets');
  });
});
