// @jupyterlab/translation ships ES modules, which jest does not load: this stands in for it
// in unit tests, as JupyterLab's nullTranslator behaves (the msgid, %1.. filled in).
export const nullTranslator = {
  load: () => ({
    __: (msgid: string, ...args: (string | number)[]) =>
      args.reduce<string>((text, arg, i) => text.replace(`%${i + 1}`, String(arg)), msgid)
  })
};
