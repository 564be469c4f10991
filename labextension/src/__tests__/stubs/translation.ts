// @jupyterlab/translation ships ES modules, which jest does not load: this stands in for it
// in unit tests, as JupyterLab's nullTranslator behaves: the msgid with %1.. filled in and
// %% made % (Gettext.strfmt, copied: a literal "%%step" in a msgid shows as "%step").
function strfmt(fmt: string, ...args: (string | number)[]): string {
  return fmt
    .replace(/%%/g, '%% ')
    .replace(/%(\d+)/g, (_, n: string) => String(args[Number(n) - 1]))
    .replace(/%% /g, '%');
}

export const nullTranslator = {
  load: () => ({ __: strfmt })
};
