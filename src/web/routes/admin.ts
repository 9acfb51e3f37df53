// src/web/routes/admin.ts
// /admin/users: administrators only (anyone else gets 403, logged and audited by requireAccess).
// Actions come back to the list page they were taken from.

import { Router, type Request } from 'express';
import { z } from 'zod';
import { AppError, isAppError } from '../../errors/app-error.js';
import { validate, validated } from '../../security/validation.js';
import { currentUser } from '../access.js';
import type { WebDependencies } from '../dependencies.js';
import { pageContext } from '../page-context.js';
import { AdminUsersPage } from '../pages/admin-users.js';
import { sendPage } from '../render.js';
import { returnPathField, safeReturnPath } from '../return-path.js';
import { adminUsersQuery, userIdParam } from '../schemas.js';
import { requestMeta, setFlash } from '../session-state.js';

export const adminPageSize = 20;

const listSchemas = { query: adminUsersQuery };
const actionSchemas = { params: z.strictObject({ id: userIdParam }), body: z.strictObject({ return: returnPathField }) };

/** Only the user list itself is a place to come back to. */
function backToList(value: string | undefined): string {
  const path = safeReturnPath(value, '/admin/users');
  return path === '/admin/users' || path.startsWith('/admin/users?') ? path : '/admin/users';
}

export function adminPageRoutes(deps: WebDependencies): Router {
  const { accounts, sessions, requireAccess } = deps;
  const siteName = deps.config.siteName;
  const router = Router();

  router.get('/admin/users', requireAccess('admin', 'page'), validate(listSchemas), async (req, res) => {
    const { query } = validated(res, listSchemas);
    const search = query.q ?? '';
    const page = query.page ?? 1;
    const { users, total } = await accounts.listUsers({ ...(search === '' ? {} : { search }), page, pageSize: adminPageSize });
    sendPage(res, AdminUsersPage({ context: pageContext(req, res, siteName, { forms: true }), users, total, page, pageSize: adminPageSize, search, here: backToList(req.originalUrl) }));
  });

  /** One action on one account; a refusal the admin can act on becomes a message on the list. */
  const action = (name: string, run: (req: Request, adminId: string, userId: string) => Promise<string>) => {
    router.post(`/admin/users/:id/${name}`, requireAccess('admin', 'page'), validate(actionSchemas), async (req, res) => {
      const { params, body } = validated(res, actionSchemas);
      try {
        setFlash(req, { kind: 'notice', message: await run(req, currentUser(res).id, params.id) });
      } catch (error) {
        if (!isAppError(error) || error.status >= 500) throw error;
        setFlash(req, { kind: 'alert', message: error.publicMessage });
      }
      res.redirect(303, backToList(body.return));
    });
  };

  const refuseSelf = (adminId: string, userId: string) => {
    // Administrators cannot disable or enable themselves from the list: no locking oneself out.
    if (adminId === userId) throw new AppError('FORBIDDEN', { publicMessage: 'You cannot disable or enable your own account.' });
  };

  action('disable', async (req, adminId, userId) => {
    refuseSelf(adminId, userId);
    await accounts.setDisabled(adminId, userId, true, requestMeta(req));
    // Disabled means out now, not at the next request of each session.
    await sessions.revokeAllForUser(userId);
    return 'The account is disabled and signed out everywhere.';
  });

  action('enable', async (req, adminId, userId) => {
    refuseSelf(adminId, userId);
    await accounts.setDisabled(adminId, userId, false, requestMeta(req));
    return 'The account is enabled.';
  });

  action('end-sessions', async (req, adminId, userId) => {
    const ended = await sessions.revokeAllForUser(userId);
    const meta = requestMeta(req);
    await accounts.recordEvent({ type: 'admin_sessions_ended', outcome: 'success', actorId: adminId, subjectId: userId, ip: meta.ip, userAgent: meta.userAgent, detail: { ended } });
    return ended === 1 ? 'One session was ended.' : `${ended} sessions were ended.`;
  });

  action('send-reset', async (req, adminId, userId) => {
    await accounts.sendResetLink(adminId, userId, requestMeta(req));
    return 'A password reset link is on its way.';
  });

  return router;
}
