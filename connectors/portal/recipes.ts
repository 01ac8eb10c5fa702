/**
 * Portal recipes: connectors/portal/recipes/*.json, checked against schemas/portal-recipe.json and the flow rules
 * the engine relies on (one `submits` click in the submit flow with the confirmation number extracted after it, a
 * status extract, fields the request has, patterns that compile). Adding a portal is adding a file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import recipeSchema from '../../schemas/portal-recipe.json' with { type: 'json' };
import { ajvErrorsToProblems, createAjv } from '../../src/canonical/schema-validator.ts';
import type { Problem } from '../../src/errors/index.ts';
import { PortalError } from './errors.ts';
import { portalFieldNames } from './fields.ts';
import type { PortalRecipe, Step } from './types.generated.ts';

export type { PortalRecipe, Step, Target } from './types.generated.ts';

export const defaultRecipesDir = path.join(import.meta.dirname, 'recipes');

const ajv = createAjv([recipeSchema]);
const validateRecipe = ajv.getSchema(recipeSchema.$id)!;
const placeholders = new Set(['confirmationNumber', 'traceNumber']);

function flowRules(recipe: PortalRecipe): Problem[] {
  const problems: Problem[] = [];
  const at = (flow: string, i: number) => `flows.${flow}[${i}]`;
  for (const [flow, steps] of Object.entries(recipe.flows) as Array<[string, Step[]]>) {
    steps.forEach((step, i) => {
      if (step.from?.field && !(portalFieldNames as readonly string[]).includes(step.from.field))
        problems.push({
          location: at(flow, i),
          message: `field ${step.from.field} is not one of ${portalFieldNames.join(', ')}`,
        });
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
      if (step.submits && (flow !== 'submit' || step.action !== 'click'))
        problems.push({ location: at(flow, i), message: 'only a click of the submit flow submits' });
    });
  }
  const submit = recipe.flows.submit;
  const submitsAt = submit.findIndex((s) => s.submits);
  if (submit.filter((s) => s.submits).length !== 1)
    problems.push({ location: 'flows.submit', message: 'exactly one click must be marked `submits`' });
  else if (
    !submit
      .slice(submitsAt + 1)
      .some((s) => s.action === 'extract' && s.into === 'confirmationNumber' && !s.optional)
  )
    problems.push({
      location: 'flows.submit',
      message: 'the confirmation number must be extracted after the submitting click',
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
