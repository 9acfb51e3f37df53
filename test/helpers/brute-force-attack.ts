// test/helpers/brute-force-attack.ts
// A bounded password-guessing attack on loopback, shared by test/security/brute-force-attack.test.ts
// and scripts/bench-brute-force.mjs. A real server over HTTPS with the production limits; the
// attacker sends `guesses` sign-in attempts against one account, first from one address, then from
// `addresses` addresses through the trusted proxy's X-Forwarded-For; meanwhile the owner's browser,
// which signed in before, signs in again now and then. What counts is how many guesses were
// evaluated: checked against the account's real password hash (the audit trail's wrong_password
// and success entries for that account; refused attempts are recorded with their reason instead).

import { readFile } from 'node:fs/promises';
import https from 'node:https';
import { passwords, startAccountsHarness } from '../web/support/harness.js';

export interface AttackOptions {
  /** Guesses per phase (2,000 in the issue). */
  readonly guesses: number;
  /** Addresses in the distributed phase (50). */
  readonly addresses: number;
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** The owner signs in after every this many guesses. */
  readonly ownerEvery: number;
  /** Hard stop for each phase, whatever is left. */
  readonly phaseTimeoutMs: number;
  /**
   * Where the right password hides among the distributed guesses (index), to show it is refused
   * too. Early in the phase, while the delay that the first phase started is still running.
   */
  readonly rightPasswordAt?: number;
}

export interface PhaseFigures {
  readonly phase: string;
  readonly addresses: number;
  readonly sent: number;
  /** 429 from the rate limiter: refused before any account was looked at. */
  readonly rateLimited: number;
  /** 401 INVALID_CREDENTIALS: wrong, or throttled (indistinguishable from outside). */
  readonly refused: number;
  /** Signed in (never, for the attacker). */
  readonly accepted: number;
  readonly otherStatus: number;
  /** Checked against the real account's hash. */
  readonly evaluated: number;
  /** Reached the account service but refused by the throttle without being checked. */
  readonly throttled: number;
  readonly ownerSignIns: number;
  readonly ownerSucceeded: number;
  readonly durationMs: number;
}

export interface AttackResult {
  readonly phases: PhaseFigures[];
  /** Throttling emails the owner received. */
  readonly emails: number;
  /** The account's state afterwards. */
  readonly finalFailures: { failures: number; untrustedFailures: number; lockedUntil: number } | undefined;
  /** The right password, sent by the attacker in the distributed phase: its status. */
  readonly rightPasswordStatus: number | undefined;
}

const target = 'victim@example.com';
const ownerAddress = '198.51.100.77';

/** The production defaults for per-address limits (the test suite raises them; this must not). */
const productionLimits = {
  PORTCULLIS_RATE_LIMIT_MAX: '300',
  PORTCULLIS_RATE_LIMIT_AUTH_MAX: '20',
  PORTCULLIS_RATE_LIMIT_EMAIL_MAX: '5',
  PORTCULLIS_SIGN_IN_IP_MAX_FAILURES: '30',
};

interface Answer {
  readonly status: number;
  readonly setCookie: readonly string[];
}

export async function runBruteForceAttack(options: AttackOptions): Promise<AttackResult> {
  const harness = await startAccountsHarness({ PORTCULLIS_TRUST_PROXY: '127.0.0.1', ...productionLimits });
  const agent = new https.Agent({ keepAlive: true, maxSockets: options.concurrency + 1 });
  try {
    const server = harness.server;
    const ca = await readFile(server.config.tls.mode === 'self-signed' ? server.config.tls.certFile : '', 'utf8');
    const base = new URL(server.url);
    const user = await server.server.accounts.createUser({ email: target, password: passwords.first, role: 'user', emailVerified: true });

    const post = (body: unknown, headers: Record<string, string>): Promise<Answer> =>
      new Promise((resolve, reject) => {
        const text = JSON.stringify(body);
        const req = https.request(
          {
            host: base.hostname,
            port: base.port,
            method: 'POST',
            path: '/api/v1/auth/sign-in',
            ca,
            servername: 'localhost',
            agent,
            headers: { 'content-type': 'application/json', accept: 'application/json', origin: server.config.publicOrigin, 'content-length': String(Buffer.byteLength(text)), ...headers },
          },
          (res) => {
            res.resume();
            res.on('end', () => {
              resolve({ status: res.statusCode ?? 0, setCookie: res.headers['set-cookie'] ?? [] });
            });
          },
        );
        req.on('error', reject);
        req.end(text);
      });

    // The owner's browser: signed in once before the attack, so it holds a device cookie.
    let ownerCookie = '';
    const ownerSignIn = async (): Promise<boolean> => {
      const answer = await post({ email: target, password: passwords.first }, { 'x-forwarded-for': ownerAddress, ...(ownerCookie === '' ? {} : { cookie: ownerCookie }) });
      const device = answer.setCookie.find((line) => line.startsWith('__Host-r='));
      if (device !== undefined) ownerCookie = device.split(';', 1)[0] ?? '';
      return answer.status === 200;
    };
    if (!(await ownerSignIn())) throw new Error('the owner could not sign in before the attack');

    const evaluatedSoFar = async (): Promise<{ evaluated: number; throttled: number }> => {
      const rows = await server.server.db.selectFrom('audit_events').select(['outcome', 'detail']).where('subject_id', '=', user.id).where('type', '=', 'sign_in').execute();
      let evaluated = 0;
      let throttled = 0;
      for (const row of rows) {
        const reason = (JSON.parse(row.detail ?? '{}') as { reason?: string }).reason;
        if (row.outcome === 'success' || reason === 'wrong_password') evaluated += 1;
        else throttled += 1;
      }
      return { evaluated, throttled };
    };

    let rightPasswordStatus: number | undefined;
    const phase = async (name: string, addressCount: number): Promise<PhaseFigures> => {
      const before = await evaluatedSoFar();
      const started = Date.now();
      const deadline = started + options.phaseTimeoutMs;
      const counts = { sent: 0, rateLimited: 0, refused: 0, accepted: 0, other: 0, ownerSignIns: 0, ownerSucceeded: 0 };
      let next = 0;
      const worker = async () => {
        while (next < options.guesses && Date.now() < deadline) {
          const index = next;
          next += 1;
          const headers: Record<string, string> = addressCount === 1 ? {} : { 'x-forwarded-for': `203.0.113.${(index % addressCount) + 1}` };
          const isRight = addressCount > 1 && index === options.rightPasswordAt;
          const answer = await post({ email: target, password: isRight ? passwords.first : `guess number ${index} of ${name}` }, headers);
          counts.sent += 1;
          if (isRight) rightPasswordStatus = answer.status;
          if (answer.status === 429) counts.rateLimited += 1;
          else if (answer.status === 401) counts.refused += 1;
          else if (answer.status === 200) counts.accepted += 1;
          else counts.other += 1;
          if ((index + 1) % options.ownerEvery === 0) {
            counts.ownerSignIns += 1;
            if (await ownerSignIn()) counts.ownerSucceeded += 1;
          }
        }
      };
      await Promise.all(Array.from({ length: options.concurrency }, () => worker()));
      const after = await evaluatedSoFar();
      return {
        phase: name,
        addresses: addressCount,
        sent: counts.sent,
        rateLimited: counts.rateLimited,
        refused: counts.refused,
        accepted: counts.accepted,
        otherStatus: counts.other,
        // The owner's own successful sign-ins are evaluated too; they are not guesses.
        evaluated: after.evaluated - before.evaluated - counts.ownerSucceeded,
        throttled: after.throttled - before.throttled,
        ownerSignIns: counts.ownerSignIns,
        ownerSucceeded: counts.ownerSucceeded,
        durationMs: Date.now() - started,
      };
    };

    const phases = [await phase('one address', 1), await phase(`${options.addresses} addresses via X-Forwarded-For`, options.addresses)];
    // Background mail: give the last message a moment to arrive.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const emails = harness.smtp.messages.filter((message) => message.to.includes(target) && /slowed down/.test(message.subject)).length;
    return { phases, emails, finalFailures: await server.server.shared.bruteForce.state(user.id), rightPasswordStatus };
  } finally {
    agent.destroy();
    await harness.close();
  }
}
