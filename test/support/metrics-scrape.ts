import { get } from 'node:http';

/** What a process's metrics port answers on a path: status, content type and body. */
export function httpGet(port: number, path: string, host = '127.0.0.1'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host, port, path, timeout: 5000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, type: String(response.headers['content-type']), body }));
    }).on('error', reject);
  });
}

export async function scrape(port: number): Promise<string> {
  const { status, body } = await httpGet(port, '/metrics');
  if (status !== 200) throw new Error(`/metrics on port ${port} answered ${status}`);
  return body;
}

/** The value of one series, named as the exposition writes it (`name` or `name{label="value"}`); undefined when absent. */
export function sample(exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find((text) => text.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Every name a query may use of what the exposition declares: a histogram's series too (_bucket, _sum, _count). */
export function exportedMetricNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram' || type === 'summary') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

/** Words of PromQL that are not metric names. */
const PROMQL_KEYWORDS = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan',
]);

/**
 * The metric names a PromQL expression reads: identifiers that are neither functions or
 * aggregations (followed by a parenthesis), keywords, label names (inside braces or a
 * `by (...)` list), durations, numbers nor Grafana variables.
 */
export function queriedMetricNames(expression: string): string[] {
  const bare = expression
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ')
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\b\d+(?:\.\d+)?(?:e[+-]?\d+)?[a-z]*\b/gi, ' ');
  const names = [...bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    .filter(({ 0: name, index }) => !bare.slice(index + name.length).trimStart().startsWith('('))
    .map(([name]) => name)
    .filter((name) => !PROMQL_KEYWORDS.has(name.toLowerCase()));
  return [...new Set(names)];
}

interface DashboardPanel {
  readonly title?: string;
  readonly targets?: readonly { readonly expr?: string }[];
  readonly panels?: readonly DashboardPanel[];
}

/** Every query of a Grafana dashboard, with the title of its panel; rows' nested panels included. */
export function dashboardQueries(dashboard: { readonly panels?: readonly DashboardPanel[] }): { panel: string; expr: string }[] {
  const walk = (panels: readonly DashboardPanel[]): { panel: string; expr: string }[] => panels.flatMap((panel) => [
    ...(panel.targets ?? []).flatMap(({ expr }) => (expr ? [{ panel: panel.title ?? '(untitled)', expr }] : [])),
    ...walk(panel.panels ?? []),
  ]);
  return walk(dashboard.panels ?? []);
}
