/**
 * Daily volume forecast: additive Holt-Winters (triple exponential smoothing) with a weekly season (m = 7).
 * Pure and deterministic.
 *
 *   level    L_t = α (y_t − s_{t−m}) + (1 − α)(L_{t−1} + b_{t−1})
 *   trend    b_t = β (L_t − L_{t−1}) + (1 − β) b_{t−1}
 *   season   s_t = γ (y_t − L_t) + (1 − γ) s_{t−m}
 *   forecast ŷ_{n+h} = L_n + h·b_n + s_{n+h−m·⌈h/m⌉}
 *
 * Start: b from the difference of the first two weeks' means, L at the end of week one, s from week one's
 * deviations around that line (so a series that is exactly trend + weekly pattern is forecast exactly).
 * α, β, γ are chosen from a fixed grid by the smallest sum of squared one-step-ahead errors (ties: the first in
 * grid order), so the same history always gives the same forecast.
 * Short histories: under two weeks the model falls back to seasonal naive (repeat the last week) with at least
 * one week, else to the mean of what there is (0 with no history). Forecasts are never negative.
 * @see Hyndman & Athanasopoulos, Forecasting: Principles and Practice, 3rd ed., §8.3 (Holt-Winters' additive method)
 */

export const SEASON_DAYS = 7;

export interface ForecastModel {
  readonly method: 'holt-winters-additive' | 'seasonal-naive' | 'mean';
  readonly seasonLength: number;
  readonly alpha?: number;
  readonly beta?: number;
  readonly gamma?: number;
  /** Sum of squared one-step-ahead errors over the fitted history (Holt-Winters only). */
  readonly sse?: number;
}

export interface Forecast {
  readonly model: ForecastModel;
  /** Expected values for the `horizon` days after the history, in order. */
  readonly values: number[];
}

const alphas = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
const betas = [0.01, 0.05, 0.1, 0.2];
const gammas = [0.05, 0.1, 0.2, 0.3, 0.5];

interface State {
  level: number;
  trend: number;
  season: number[];
  sse: number;
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}

function fitHoltWinters(
  series: readonly number[],
  m: number,
  alpha: number,
  beta: number,
  gamma: number,
): State {
  const first = mean(series.slice(0, m));
  const trend0 = (mean(series.slice(m, 2 * m)) - first) / m;
  // The line through week one's mean with slope trend0; L sits on it at the last day of week one.
  const middle = (m - 1) / 2;
  let level = first + trend0 * (m - 1 - middle);
  let trend = trend0;
  const season = series.slice(0, m).map((y, i) => y - (first + trend0 * (i - middle)));
  let sse = 0;
  for (let t = m; t < series.length; t++) {
    const y = series[t]!;
    const s = season[t % m]!;
    const predicted = level + trend + s;
    sse += (y - predicted) ** 2;
    const nextLevel = alpha * (y - s) + (1 - alpha) * (level + trend);
    trend = beta * (nextLevel - level) + (1 - beta) * trend;
    level = nextLevel;
    season[t % m] = gamma * (y - level) + (1 - gamma) * s;
  }
  return { level, trend, season, sse };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Forecasts `horizon` days after `series` (daily counts, oldest first). */
export function forecastDaily(series: readonly number[], horizon: number, m = SEASON_DAYS): Forecast {
  const n = series.length;
  if (n >= 2 * m) {
    let best: { state: State; alpha: number; beta: number; gamma: number } | undefined;
    for (const alpha of alphas)
      for (const beta of betas)
        for (const gamma of gammas) {
          const state = fitHoltWinters(series, m, alpha, beta, gamma);
          if (!best || state.sse < best.state.sse - 1e-9) best = { state, alpha, beta, gamma };
        }
    const { state, alpha, beta, gamma } = best!;
    const values = Array.from({ length: horizon }, (_, i) => {
      const h = i + 1;
      const value = state.level + h * state.trend + state.season[(n - 1 + h) % m]!;
      return round2(Math.max(0, value));
    });
    return {
      model: { method: 'holt-winters-additive', seasonLength: m, alpha, beta, gamma, sse: round2(state.sse) },
      values,
    };
  }
  if (n >= m) {
    const lastWeek = series.slice(n - m);
    return {
      model: { method: 'seasonal-naive', seasonLength: m },
      values: Array.from({ length: horizon }, (_, i) => round2(Math.max(0, lastWeek[i % m]!))),
    };
  }
  const level = round2(Math.max(0, mean(series)));
  return { model: { method: 'mean', seasonLength: m }, values: Array.from({ length: horizon }, () => level) };
}
