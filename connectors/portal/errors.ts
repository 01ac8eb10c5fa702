import { GatewayError, type GatewayErrorOptions } from '../../src/errors/index.ts';

/** Where in a recipe a failure happened: recipe, flow, 1-based step, and what the step looked for. */
export interface StepRef {
  readonly recipe: string;
  readonly flow: string;
  readonly step: number;
  readonly description: string;
}

/**
 * A portal robot failure. `step` says where, `evidenceId` names the screenshot of the page it stopped on;
 * both go into the error's problems, which the failed case carries for the person who handles the exception.
 */
export class PortalError extends GatewayError {
  readonly step?: StepRef;
  readonly evidenceId?: number;

  constructor(
    code: ConstructorParameters<typeof GatewayError>[0],
    message: string,
    options: GatewayErrorOptions & { step?: StepRef; evidenceId?: number } = {},
  ) {
    const where = options.step
      ? [
          {
            location: `recipe ${options.step.recipe}, flow ${options.step.flow}, step ${options.step.step} (${options.step.description})`,
            message: `${message}${options.evidenceId !== undefined ? ` — screenshot: portal evidence ${options.evidenceId}` : ''}`,
          },
        ]
      : [];
    super(code, message, { ...options, problems: [...where, ...(options.problems ?? [])] });
    if (options.step) this.step = options.step;
    if (options.evidenceId !== undefined) this.evidenceId = options.evidenceId;
  }
}
