// src/check/exposure.ts
// Things that must not be publicly readable: metrics and server-status pages (practice 8: monitoring
// belongs on a private listener), and .env files, .git, source maps and debug endpoints (practice 7:
// they hand out secrets and internals). A path only counts as exposed when its answer looks like the
// real thing (a signature in the body), so sites that answer every path with 200 raise no false alarm.

import { snippet, type ProbeAnswer, type UrlCheckContext, type UrlCheckGroup } from './context.js';
import { fail, pass, type CheckDefinition, type Finding } from './finding.js';
import { externalScripts, isHtml } from './html.js';

export const exposureChecks = {
  metrics: { practice: 8, id: 'exposed-metrics', title: 'Metrics are not public (/metrics)', severity: 'medium' },
  serverStatus: { practice: 8, id: 'exposed-server-status', title: 'No public server-status page', severity: 'medium' },
  env: { practice: 7, id: 'exposed-env-file', title: 'No public .env file', severity: 'critical' },
  git: { practice: 7, id: 'exposed-git', title: 'No public .git folder', severity: 'high' },
  sourceMaps: { practice: 7, id: 'exposed-source-maps', title: 'No public source maps', severity: 'low' },
  debug: { practice: 7, id: 'exposed-debug-endpoints', title: 'No public debug endpoints', severity: 'high' },
} as const satisfies Record<string, CheckDefinition>;

interface PathProbe {
  readonly path: string;
  /** What the real thing looks like; HTML catch-all pages never match. */
  readonly signature: RegExp;
}

const probesByCheck: readonly { readonly check: CheckDefinition; readonly paths: readonly PathProbe[]; readonly fix: string }[] = [
  {
    check: exposureChecks.metrics,
    paths: [{ path: '/metrics', signature: /^# (?:HELP|TYPE) [a-zA-Z_:][\w:]* |^(?:process_cpu_seconds_total|nodejs_\w+|http_requests?_\w+)[{ ]/m }],
    fix: 'serve metrics on a separate listener bound to a private address (or behind authentication), never on the public site',
  },
  {
    check: exposureChecks.serverStatus,
    paths: [{ path: '/server-status', signature: /Apache Server Status|Total Accesses: \d|^Active connections: \d+/m }],
    fix: 'restrict server-status to localhost or the monitoring network (Apache: Require local; nginx: allow 127.0.0.1; deny all)',
  },
  {
    check: exposureChecks.env,
    paths: [{ path: '/.env', signature: /^(?:export )?[A-Z][A-Z0-9_]{1,64}=\S*$/m }],
    fix: 'remove .env from the served folder and rotate every secret it held; serve only a dedicated public/ folder',
  },
  {
    check: exposureChecks.git,
    paths: [{ path: '/.git/config', signature: /^\[core\]|repositoryformatversion/m }],
    fix: 'never deploy the .git folder into the served tree, or deny dot-paths at the web server (express.static: dotfiles "deny")',
  },
  {
    check: exposureChecks.debug,
    paths: [
      { path: '/debug/vars', signature: /"cmdline"\s*:|"memstats"\s*:/ },
      { path: '/debug/pprof/', signature: /Types of profiles available|\/debug\/pprof\/goroutine/ },
      { path: '/actuator/env', signature: /"activeProfiles"\s*:|"propertySources"\s*:/ },
      { path: '/phpinfo.php', signature: /phpinfo\(\)|PHP Version \d/ },
      { path: '/console', signature: /Werkzeug Debugger|Interactive Console/ },
      { path: '/_profiler/', signature: /Symfony Profiler/ },
    ],
    fix: 'switch off debug endpoints in production builds, or bind them to a private listener',
  },
];

function looksReal(answer: ProbeAnswer, signature: RegExp): boolean {
  const exchange = answer.exchange;
  if (exchange === undefined || exchange.status < 200 || exchange.status >= 300) return false;
  // A signature inside an HTML page is a catch-all page that happens to mention it, except for
  // pages that are HTML by nature (phpinfo, Apache's status page, debug consoles).
  const html = isHtml(exchange.headers['content-type'] ?? '');
  const htmlByNature = /Server Status|phpinfo|PHP Version|Werkzeug|Symfony|profiles available/.test(signature.source);
  return (!html || htmlByNature) && signature.test(exchange.body);
}

function shown(answer: ProbeAnswer): string {
  const exchange = answer.exchange;
  if (exchange === undefined) return `${answer.request.method} ${answer.request.target} → no answer`;
  return `${answer.request.method} ${answer.request.target} → ${exchange.status}`;
}

async function pathFindings(context: UrlCheckContext): Promise<Finding[]> {
  return Promise.all(
    probesByCheck.map(async ({ check, paths, fix }) => {
      const answers = await Promise.all(paths.map(async (probe) => ({ probe, answer: await context.probe({ path: probe.path }) })));
      const exposed = answers.filter(({ probe, answer }) => looksReal(answer, probe.signature));
      if (exposed.length === 0) return pass(check, answers.map(({ answer }) => shown(answer)).join(', '));
      return fail(
        check,
        exposed.map(({ answer }) => `${shown(answer)} ${answer.exchange?.headers['content-type'] ?? ''}: "${snippet(answer.exchange?.body ?? '', 80)}"`).join(' | '),
        fix,
      );
    }),
  );
}

/** Same-origin scripts of the page, their SourceMap headers and sourceMappingURL comments, then the maps. */
async function sourceMapFinding(context: UrlCheckContext): Promise<Finding> {
  if (!isHtml(context.base.headers['content-type'])) return pass(exposureChecks.sourceMaps, 'the page is not HTML, so it names no scripts to look for maps of');
  const origin = context.baseUrl.origin;
  const scripts = externalScripts(context.base.body)
    .scripts.map((script) => {
      try {
        return new URL(script.src, context.baseUrl);
      } catch {
        return undefined;
      }
    })
    .filter((url): url is URL => url !== undefined && url.origin === origin)
    .slice(0, 5);
  if (scripts.length === 0) return pass(exposureChecks.sourceMaps, 'the page loads no script from this site');
  const exposed: string[] = [];
  const looked: string[] = [];
  await Promise.all(
    scripts.map(async (script) => {
      const answer = await context.probe({ path: script.href, maxBodyBytes: 512 * 1024 });
      const candidates = new Set<string>();
      const header = answer.exchange?.headers.sourcemap ?? answer.exchange?.headers['x-sourcemap'];
      if (typeof header === 'string') candidates.add(header);
      const comment = /\/\/[#@]\s*sourceMappingURL=(\S+)\s*$/m.exec(answer.exchange?.body ?? '')?.[1];
      if (comment !== undefined && !comment.startsWith('data:')) candidates.add(comment);
      candidates.add(`${script.pathname}.map`);
      for (const candidate of [...candidates].slice(0, 2)) {
        let mapUrl: URL;
        try {
          mapUrl = new URL(candidate, script);
        } catch {
          continue;
        }
        if (mapUrl.origin !== origin) continue;
        const map = await context.probe({ path: mapUrl.href });
        looked.push(shown(map));
        if (map.exchange !== undefined && map.exchange.status === 200 && /"mappings"\s*:/.test(map.exchange.body) && /"version"\s*:\s*3/.test(map.exchange.body)) {
          exposed.push(`${shown(map)}: ${snippet(map.exchange.body, 60)}`);
          break;
        }
      }
    }),
  );
  if (exposed.length === 0) return pass(exposureChecks.sourceMaps, `no map served for ${scripts.length} script(s): ${looked.join(', ')}`);
  return fail(exposureChecks.sourceMaps, exposed.join(' | '), 'do not deploy .map files (or upload them only to your error tracker), and drop the sourceMappingURL comment from production bundles');
}

export const exposureGroup: UrlCheckGroup = {
  name: 'exposure',
  practice: 7,
  async run(context) {
    const [paths, maps] = await Promise.all([pathFindings(context), sourceMapFinding(context)]);
    return [...paths, maps];
  },
};
