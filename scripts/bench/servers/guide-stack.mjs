// scripts/bench/servers/guide-stack.mjs: "the guide's stack", written as literally as the guide
// (shared/seed, "Node.js security: advanced techniques") gives it: express, helmet() with its
// defaults, express-session with a custom cookie name and its default MemoryStore (the guide sets
// only name and secret, so resave and saveUninitialized keep their defaults, true), the HTTPS-only
// redirect, express-rate-limit (15 minutes, 100 requests), express-validator on the credentials,
// bcrypt with 10 salt rounds, and the generic 500 handler. It serves the same kinds of endpoints
// as Portcullis: a public page, an authenticated page, a /me-like JSON answer and sign-in.
// BENCH_RATE_LIMIT_MAX raises the limit for the measurements that are not about the 429 path
// (the benchmark's one client address would otherwise be limited after 100 requests).

import bcrypt from 'bcrypt';
import express from 'express';
import { rateLimit } from 'express-rate-limit';
import session from 'express-session';
import { body, validationResult } from 'express-validator';
import helmet from 'helmet';
import { serveHttps } from '../lib/children.mjs';

const saltRounds = 10;
const users = new Map();
users.set(process.env.BENCH_EMAIL, { email: process.env.BENCH_EMAIL, hash: await bcrypt.hash(process.env.BENCH_PASSWORD, saltRounds) });

const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const app = express();
// 4. Secure HTTP headers with Helmet.
app.use(helmet());
// 9. HTTPS only: redirect anything that did not arrive over TLS.
app.use((req, res, next) => {
  if (!req.secure) {
    return res.redirect(`https://${req.headers.host}${req.url}`);
  }
  next();
});
// 5. Rate limiting.
const limiter = rateLimit({
  windowMs: 15 * 60 * 1000, // 15 minutes
  max: Number(process.env.BENCH_RATE_LIMIT_MAX ?? 100), // Limit each IP to 100 requests per windowMs
});
app.use(limiter);
// 3. A custom session cookie name (and, from 9, the Secure attribute).
app.use(
  session({
    name: 'siteSessionId',
    secret: 'complex_secret_key',
    cookie: { secure: true },
  }),
);
app.use(express.json());
app.use(express.urlencoded({ extended: false }));

app.get('/', (_req, res) => {
  res.send('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Welcome</title></head><body><h1>Welcome</h1><p><a href="/login">Sign in</a></p></body></html>');
});

app.get('/account', (req, res) => {
  if (!req.session.user) return res.redirect('/login');
  res.send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Your account</title></head><body><h1>Your account</h1><p>Signed in as ${escapeHtml(req.session.user.email)}</p></body></html>`);
});

app.get('/api/me', (req, res) => {
  if (!req.session.user) return res.status(401).json({ error: 'Unauthorized' });
  res.json({ user: req.session.user });
});

// 10. Input validation with express-validator; 6. bcrypt.
app.post('/login', [body('email').isEmail(), body('password').isLength({ min: 5 })], async (req, res) => {
  const errors = validationResult(req);
  if (!errors.isEmpty()) {
    return res.status(400).json({ errors: errors.array() });
  }
  const user = users.get(req.body.email);
  const ok = user !== undefined && (await bcrypt.compare(req.body.password, user.hash));
  if (!ok) return res.status(401).json({ error: 'Invalid email or password' });
  req.session.user = { email: user.email };
  res.json({ ok: true });
});

// 7. Minimal error details (Express knows an error handler by its four parameters).
app.use((_err, _req, res, _next) => {
  res.status(500).json({ error: 'Internal Server Error' });
});

serveHttps(app);
