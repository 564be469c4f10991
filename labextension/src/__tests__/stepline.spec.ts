import {
  editStepSource,
  formatStepLine,
  isStepSource,
  makeStepSource,
  parseStepLine,
  suggestStepName
} from '../stepline';

describe('the %%step line', () => {
  it('parses a name and options, including quoted values, flags and foreach', () => {
    const step = parseStepLine(
      '%%step train --gpu 1 --memory 16G --catch --packages "numpy pandas" --foreach x in xs'
    );
    expect(step?.name).toBe('train');
    expect(Object.fromEntries(step!.options)).toEqual({
      '--gpu': '1',
      '--memory': '16G',
      '--catch': true,
      '--packages': 'numpy pandas',
      '--foreach': 'x in xs'
    });
  });

  it('is not a step line without a name', () => {
    expect(parseStepLine('%%step')).toBeNull();
    expect(parseStepLine('%%step --cpu 2')).toBeNull();
    expect(parseStepLine('x = 1')).toBeNull();
  });

  it('formats back to an equivalent line', () => {
    const line = '%%step train --cpu 2 --packages "numpy pandas" --foreach x in xs --catch';
    const again = parseStepLine(formatStepLine(parseStepLine(line)!));
    expect(again).toEqual(parseStepLine(line));
  });

  it('edits resources and keeps the rest of the cell and unknown options', () => {
    const source = '%%step train --retries 2 --image py:3.11\nmodel = fit(df)';
    const edited = editStepSource(source, { cpu: '4', memory: '8G', retries: '' });
    expect(edited).toBe('%%step train --image py:3.11 --cpu 4 --memory 8G\nmodel = fit(df)');
  });

  it('recognises step cells', () => {
    expect(isStepSource('%%step a\nx = 1')).toBe(true);
    expect(isStepSource('%%stepper a')).toBe(false);
    expect(isStepSource('x = 1\n%%step a')).toBe(false);
  });

  it('puts the magic line on top of the cell', () => {
    expect(makeStepSource('x = 1', 'load')).toBe('%%step load\nx = 1');
  });
});

describe('suggested step names', () => {
  it('come from a leading comment first', () => {
    expect(suggestStepName('# Load the data\ndf = read()')).toBe('load_data');
    expect(suggestStepName('# Summary of the result\ns = 1')).toBe('summary_result');
  });

  it('then from a function, then from the first assignment', () => {
    expect(suggestStepName('def train_model(x):\n    pass')).toBe('train_model');
    expect(suggestStepName('features = make(df)\nother = 2')).toBe('features');
  });

  it('avoid names already taken and fall back to step_N', () => {
    expect(suggestStepName('features = 1', ['features'], 3)).toBe('step_3');
    expect(suggestStepName('print(1)', ['step_2'], 2)).toBe('step_3');
  });

  it('ignore comparisons and keywords', () => {
    expect(suggestStepName('x == 1', [], 1)).toBe('step_1');
    expect(suggestStepName('# import stuff\nimport os', [], 4)).toBe('import_stuff');
  });
});
