/** Target paths of mapping rules (`coverage.memberId`, `serviceLines[0].code`): parsed once, set many times. */

export interface TargetStep {
  readonly key: string;
  readonly index?: number;
}

export type TargetPath = readonly TargetStep[];

export function parseTarget(text: string): TargetPath {
  return text.split('.').map((part) => {
    const match = /^([A-Za-z][A-Za-z0-9]*)(?:\[(\d+)\])?$/.exec(part);
    if (!match) throw new Error(`Bad target path '${text}'`);
    return match[2] === undefined ? { key: match[1]! } : { key: match[1]!, index: Number(match[2]) };
  });
}

type Json = Record<string, unknown>;

function child(node: Json, step: TargetStep, create: boolean): Json | undefined {
  if (step.index === undefined) {
    let next = node[step.key];
    if (next === undefined && create) node[step.key] = next = {};
    return next as Json | undefined;
  }
  let list = node[step.key] as unknown[] | undefined;
  if (list === undefined) {
    if (!create) return undefined;
    node[step.key] = list = [];
  }
  let next = list[step.index];
  if (next === undefined && create) list[step.index] = next = {};
  return next as Json | undefined;
}

export function getTarget(root: Json, path: TargetPath): unknown {
  let node: Json | undefined = root;
  for (let i = 0; i < path.length - 1 && node; i++) node = child(node, path[i]!, false);
  if (!node) return undefined;
  const last = path[path.length - 1]!;
  const value = node[last.key];
  return last.index === undefined ? value : (value as unknown[] | undefined)?.[last.index];
}

export function setTarget(root: Json, path: TargetPath, value: unknown): void {
  let node: Json = root;
  for (let i = 0; i < path.length - 1; i++) node = child(node, path[i]!, true)!;
  const last = path[path.length - 1]!;
  if (last.index === undefined) {
    node[last.key] = value;
    return;
  }
  let list = node[last.key] as unknown[] | undefined;
  if (list === undefined) node[last.key] = list = [];
  list[last.index] = value;
}

/** The JSON path (`$.serviceLines[0].code`) of a target, to match validation problems back to their rule. */
export function targetJsonPath(path: TargetPath): string {
  return `$${path.map((s) => (s.index === undefined ? `.${s.key}` : `.${s.key}[${s.index}]`)).join('')}`;
}
