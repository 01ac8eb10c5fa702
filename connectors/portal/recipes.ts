/**
 * Portal recipes: connectors/portal/recipes/*.json, checked against schemas/portal-recipe.json and the flow rules
 * the engine relies on (one `submits` click in each of the submit, update, upload and cancel flows with the
 * confirmation number — the upload's receipt, the cancel's status — extracted after it, the cancel's status also
 * read before it, documents set in the upload flow only, a status extract,
 * fields the request has, patterns that compile). Adding a portal is adding a file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import recipeSchema from '../../schemas/portal-recipe.json' with { type: 'json' };
import { ajvErrorsToProblems, createAjv } from '../../src/canonical/schema-validator.ts';
import type { Problem } from '../../src/errors/index.ts';
import { PortalError } from './errors.ts';
import { fileFieldNames, portalFieldNames } from './fields.ts';
import type { PortalRecipe, Step } from './types.generated.ts';

export type { PortalRecipe, Step, Target } from './types.generated.ts';

export const defaultRecipesDir = path.join(import.meta.dirname, 'recipes');

const ajv = createAjv([recipeSchema]);
const validateRecipe = ajv.getSchema(recipeSchema.$id)!;
const placeholders = new Set(['confirmationNumber', 'traceNumber']);

/** Flows that send something to the payer: one click each `submits`, and what proves it arrived is read after it. */
const sendingFlows = {
  submit: 'confirmationNumber',
  update: 'confirmationNumber',
  upload: 'receipt',
  cancel: 'status',
} as const;

const proofNames = {
  confirmationNumber: 'confirmation number',
  receipt: 'receipt',
  status: 'status',
} as const;

function flowRules(recipe: PortalRecipe): Problem[] {
  const problems: Problem[] = [];
  const at = (flow: string, i: number) => `flows.${flow}[${i}]`;
  for (const [flow, steps] of Object.entries(recipe.flows) as Array<[string, Step[]]>) {
    steps.forEach((step, i) => {
      const field = step.from?.field;
      if (field && !(portalFieldNames as readonly string[]).includes(field))
        problems.push({
          location: at(flow, i),
          message: `field ${field} is not one of ${portalFieldNames.join(', ')}`,
        });
      if (step.action === 'upload' && field && !(fileFieldNames as readonly string[]).includes(field))
        problems.push({
          location: at(flow, i),
          message: `an upload sets files: ${fileFieldNames.join(' or ')}`,
        });
      if (step.action !== 'upload' && (fileFieldNames as readonly string[]).includes(field ?? ''))
        problems.push({ location: at(flow, i), message: `${field} is a file: only an upload sets it` });
      if (field === 'documents' && flow !== 'upload')
        problems.push({ location: at(flow, i), message: 'documents are set in the upload flow only' });
      if (step.from?.secret && flow !== 'login')
        problems.push({ location: at(flow, i), message: 'secrets are typed in the login flow only' });
      if (step.action === 'totp' && flow !== 'login')
        problems.push({ location: at(flow, i), message: 'a TOTP code is typed in the login flow only' });
      for (const name of step.path?.matchAll(/\{(\w+)\}/g) ?? [])
        if (!placeholders.has(name[1]!))
          problems.push({ location: at(flow, i), message: `unknown placeholder {${name[1]}}` });
      if (step.pattern !== undefined) {
        try {
          new RegExp(step.pattern);
        } catch {
          problems.push({ location: at(flow, i), message: 'pattern is not a regular expression' });
        }
      }
      if (step.submits && (!(flow in sendingFlows) || step.action !== 'click'))
        problems.push({
          location: at(flow, i),
          message: 'only a click of the submit, update, upload or cancel flow submits',
        });
    });
  }
  for (const [flow, proof] of Object.entries(sendingFlows) as Array<
    [keyof typeof sendingFlows, (typeof sendingFlows)[keyof typeof sendingFlows]]
  >) {
    const steps = recipe.flows[flow];
    if (!steps) continue; // update, upload and cancel are optional
    const submitsAt = steps.findIndex((s) => s.submits);
    if (steps.filter((s) => s.submits).length !== 1)
      problems.push({ location: `flows.${flow}`, message: 'exactly one click must be marked `submits`' });
    else if (
      !steps.slice(submitsAt + 1).some((s) => s.action === 'extract' && s.into === proof && !s.optional)
    )
      problems.push({
        location: `flows.${flow}`,
        message: `the ${proofNames[proof]} must be extracted after the submitting click`,
      });
  }
  if (
    recipe.flows.upload &&
    !recipe.flows.upload.some(
      (s, i) =>
        s.action === 'upload' &&
        s.from?.field === 'documents' &&
        i < recipe.flows.upload!.findIndex((x) => x.submits),
    )
  )
    problems.push({
      location: 'flows.upload',
      message:
        'the upload flow must set the documents (`from: {field: documents}`) before the submitting click',
    });
  // A retried withdrawal looks first: the request's status read before the click ends the flow when it is cancelled.
  const cancel = recipe.flows.cancel;
  if (
    cancel &&
    !cancel.some(
      (s, i) => s.action === 'extract' && s.into === 'status' && i < cancel.findIndex((x) => x.submits),
    )
  )
    problems.push({
      location: 'flows.cancel',
      message: "the cancel flow must extract the request's `status` before the submitting click",
    });
  if (!recipe.flows.status.some((s) => s.action === 'extract' && s.into === 'status' && !s.optional))
    problems.push({ location: 'flows.status', message: 'the status flow must extract `status`' });
  const searchExtract = recipe.flows.search.find(
    (s) => s.action === 'extract' && s.into === 'confirmationNumber',
  );
  if (!searchExtract?.optional || !searchExtract.absentWhen)
    problems.push({
      location: 'flows.search',
      message:
        'the search flow must extract `confirmationNumber` as optional, with `absentWhen` saying not found',
    });
  return problems;
}

/** Checks one recipe document; PAGW_PORTAL_RECIPE_INVALID names every problem. */
export function checkRecipe(document: unknown, source: string): PortalRecipe {
  const copy = structuredClone(document);
  if (!validateRecipe(copy)) {
    const problems = ajvErrorsToProblems(validateRecipe.errors).map((p) => ({
      ...p,
      location: `${source}: ${p.location}`,
    }));
    throw new PortalError('PAGW_PORTAL_RECIPE_INVALID', `Portal recipe ${source} is invalid`, { problems });
  }
  const recipe = copy as PortalRecipe;
  const problems = flowRules(recipe).map((p) => ({ ...p, location: `${source}: ${p.location}` }));
  if (problems.length > 0)
    throw new PortalError('PAGW_PORTAL_RECIPE_INVALID', `Portal recipe ${source} breaks the flow rules`, {
      problems,
    });
  return recipe;
}

export interface RecipeBook {
  get(id: string): PortalRecipe | undefined;
  readonly ids: readonly string[];
}

export function loadRecipes(dir = defaultRecipesDir): RecipeBook {
  const recipes = new Map<string, PortalRecipe>();
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .sort();
  } catch (error) {
    throw new PortalError('PAGW_PORTAL_RECIPE_INVALID', `Cannot read the recipe directory ${dir}`, {
      cause: error,
    });
  }
  for (const name of names) {
    let document: unknown;
    try {
      document = JSON.parse(readFileSync(path.join(dir, name), 'utf8'));
    } catch (error) {
      throw new PortalError('PAGW_PORTAL_RECIPE_INVALID', `${name} is not readable JSON`, { cause: error });
    }
    const recipe = checkRecipe(document, name);
    if (`${recipe.id}.json` !== name)
      throw new PortalError(
        'PAGW_PORTAL_RECIPE_INVALID',
        `${name}: the id ${recipe.id} must match the file name`,
      );
    recipes.set(recipe.id, recipe);
  }
  return { get: (id) => recipes.get(id), ids: [...recipes.keys()] };
}
