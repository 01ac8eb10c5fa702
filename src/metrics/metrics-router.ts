/**
 * GET /metrics in Prometheus text format. It is mounted among the authenticated routers and needs a token with
 * the admin role: the config has no separate metrics listener to bind privately, and lag figures and topic names
 * are operational data. Prometheus sends the token with `authorization: { credentials_file: … }`.
 */
import express from 'express';
import { requireRole } from '../api/auth.ts';
import type { GatewayMetrics } from './metrics.ts';

export function metricsRouter(metrics: Pick<GatewayMetrics, 'registry'>): express.Router {
  const router = express.Router();
  router.get('/metrics', requireRole('admin'), async (_req, res) => {
    const text = await metrics.registry.metrics();
    res.type(metrics.registry.contentType).send(text);
  });
  return router;
}
