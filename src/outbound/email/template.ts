/**
 * A deliberately small template language for e-mail templates kept as data (templates/email/*.json):
 *   {{name}}              a value (HTML-escaped in the html part)
 *   {{#name}}…{{/name}}   the block when the value is present (non-empty); for a list, once per item, whose
 *                         fields are then in scope
 *   {{^name}}…{{/name}}   the block when the value is absent or empty
 * Every name must be one the renderer knows: a typo fails when the template is loaded, not in a clinic's inbox.
 */
import { OutboundBuildError } from '../errors.ts';

export type TemplateValue = string | number | boolean | undefined | null | readonly TemplateScope[];
export interface TemplateScope {
  readonly [name: string]: TemplateValue;
}

export type TemplateNode =
  | { kind: 'text'; text: string }
  | { kind: 'var'; name: string }
  | { kind: 'section'; name: string; inverted: boolean; children: TemplateNode[] };

const tag = /\{\{\s*([#^/]?)\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g;

function fail(templateId: string, message: string): never {
  throw new OutboundBuildError(
    'PAGW_OUTBOUND_TEMPLATE_INVALID',
    `E-mail template '${templateId}': ${message}`,
  );
}

export function parseTemplate(templateId: string, source: string): TemplateNode[] {
  const root: TemplateNode[] = [];
  const stack: Array<{ name: string; children: TemplateNode[] }> = [{ name: '', children: root }];
  let last = 0;
  for (const match of source.matchAll(tag)) {
    const [whole, sigil, name] = match as unknown as [string, string, string];
    const top = stack.at(-1)!;
    if (match.index > last) top.children.push({ kind: 'text', text: source.slice(last, match.index) });
    last = match.index + whole.length;
    if (sigil === '#' || sigil === '^') {
      const section: TemplateNode = { kind: 'section', name, inverted: sigil === '^', children: [] };
      top.children.push(section);
      stack.push({ name, children: section.children });
    } else if (sigil === '/') {
      if (stack.length === 1 || top.name !== name) fail(templateId, `{{/${name}}} closes nothing open`);
      stack.pop();
    } else {
      top.children.push({ kind: 'var', name });
    }
  }
  if (stack.length > 1) fail(templateId, `{{#${stack.at(-1)!.name}}} is never closed`);
  if (last < source.length) root.push({ kind: 'text', text: source.slice(last) });
  if (
    /\{\{|\}\}/.test(
      root
        .filter((n) => n.kind === 'text')
        .map((n) => n.text)
        .join(''),
    )
  ) {
    fail(templateId, 'has a malformed {{…}} tag');
  }
  return root;
}

/** Every name a parsed template uses, with the names valid inside list sections checked against `listFields`. */
export function checkNames(
  templateId: string,
  nodes: readonly TemplateNode[],
  known: ReadonlySet<string>,
  listFields: Readonly<Record<string, ReadonlySet<string>>>,
): void {
  const walk = (list: readonly TemplateNode[], scope: ReadonlySet<string>): void => {
    for (const node of list) {
      if (node.kind === 'text') continue;
      if (!scope.has(node.name)) fail(templateId, `unknown placeholder {{${node.name}}}`);
      if (node.kind === 'section') {
        const inner = listFields[node.name];
        walk(node.children, inner && !node.inverted ? new Set([...scope, ...inner]) : scope);
      }
    }
  };
  walk(nodes, known);
}

function present(value: TemplateValue): boolean {
  if (value === undefined || value === null || value === false || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  return true;
}

const htmlEscapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => htmlEscapes[c]!);
}

export function renderNodes(
  nodes: readonly TemplateNode[],
  scopes: readonly TemplateScope[],
  html: boolean,
): string {
  const get = (name: string): TemplateValue => {
    for (let i = scopes.length - 1; i >= 0; i--) {
      if (name in scopes[i]!) return scopes[i]![name];
    }
    return undefined;
  };
  let out = '';
  for (const node of nodes) {
    if (node.kind === 'text') {
      out += node.text;
    } else if (node.kind === 'var') {
      const value = get(node.name);
      const text = present(value) && !Array.isArray(value) ? String(value) : '';
      out += html ? escapeHtml(text) : text;
    } else {
      const value = get(node.name);
      if (node.inverted) {
        if (!present(value)) out += renderNodes(node.children, scopes, html);
      } else if (Array.isArray(value)) {
        for (const item of value) out += renderNodes(node.children, [...scopes, item], html);
      } else if (present(value)) {
        out += renderNodes(node.children, scopes, html);
      }
    }
  }
  return out;
}
