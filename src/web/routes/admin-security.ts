// src/web/routes/admin-security.ts
// /admin/security: the security dashboard, for administrators only (requireAccess('admin'),
// the same rule, MFA included, as every admin page; anyone else gets 403, logged and audited).
// Its filters arrive in the query string and are validated with zod like every other input.

import { Router } from 'express';
import { z } from 'zod';
import type { DashboardSource } from '../../observability/dashboard.js';
import { validate, validated } from '../../security/validation.js';
import type { WebDependencies } from '../dependencies.js';
import { pageContext } from '../page-context.js';
import { AdminDashboardPage } from '../pages/admin-dashboard.js';
import { sendPage } from '../render.js';

/** The event types the filter offers (any lower_snake type is accepted when typed by hand). */
export const dashboardEventTypes: readonly string[] = Object.freeze([
  'sign_in',
  'passkey_sign_in',
  'second_factor',
  'sign_in_throttled',
  'sign_in_unlocked',
  'reauth',
  'sign_out',
  'sign_up',
  'password_changed',
  'password_reset_requested',
  'password_reset_completed',
  'email_changed',
  'totp_enabled',
  'totp_removed',
  'passkey_added',
  'passkey_removed',
  'mfa_disabled',
  'recovery_codes_generated',
  'csrf_rejected',
  'authorization_denied',
  'session_revoked',
  'admin_sessions_ended',
  'user_disabled',
  'user_enabled',
  'role_changed',
  'account_deleted',
]);

const dayMs = 86_400_000;
const blank = z.literal('').transform(() => undefined);
const isoDay = z.iso.date();

export const dashboardQuery = z
  .strictObject({
    type: z.union([blank, z.string().regex(/^[a-z][a-z0-9_.]{0,63}$/)]).optional(),
    outcome: z.union([blank, z.enum(['success', 'failure'])]).optional(),
    from: z.union([blank, isoDay]).optional(),
    to: z.union([blank, isoDay]).optional(),
    page: z.coerce.number().int().min(1).max(20).optional(),
  })
  .refine((query) => query.from === undefined || query.to === undefined || query.from <= query.to, { error: 'The end date is before the start date.', path: ['to'] });

const schemas = { query: dashboardQuery };

export function adminSecurityRoutes(deps: WebDependencies, dashboard: DashboardSource): Router {
  const router = Router();
  router.get('/admin/security', deps.requireAccess('admin', 'page'), validate(schemas), async (req, res) => {
    const { query } = validated(res, schemas);
    const page = query.page ?? 1;
    const snapshot = await dashboard.snapshot({
      type: query.type,
      outcome: query.outcome,
      from: query.from === undefined ? undefined : Date.parse(`${query.from}T00:00:00Z`),
      // Inclusive in the form: the whole last day.
      to: query.to === undefined ? undefined : Date.parse(`${query.to}T00:00:00Z`) + dayMs,
      page,
    });
    sendPage(
      res,
      AdminDashboardPage({
        context: pageContext(req, res, deps.config.siteName),
        snapshot,
        filters: { type: query.type ?? '', outcome: query.outcome ?? '', from: query.from ?? '', to: query.to ?? '', page },
        eventTypes: dashboardEventTypes,
      }),
    );
  });
  return router;
}
