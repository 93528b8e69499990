/**
 * The part of a LogQL log pipeline our dashboards use, applied to lines in the test: line filters
 * (`|= "x"`, `!= "x"`, `|~ "re"`), the `pattern` and `regexp` parsers and label filters
 * (`| name=~"re"`, `| name="x"`). No Loki binary runs here, so this follows Loki's documented
 * semantics (https://grafana.com/docs/loki/v3.7.x/query/log_queries/):
 *
 * - a line filter drops non-matching lines; `|~` is an unanchored RE2 search;
 * - `pattern`: literals are searched left to right, each capture takes the text up to the next
 *   literal (the last one the rest of the line), `<_>` captures nothing; a line that does not
 *   match keeps flowing with no labels extracted;
 * - `regexp`: an unanchored RE2 search whose named groups `(?P<name>...)` become labels;
 * - a label filter regex is anchored at both ends, like Prometheus'.
 *
 * Any other stage is refused, so a dashboard query that grows a stage this does not know fails
 * the test instead of being half-checked. RE2 and JavaScript agree on the syntax used here
 * (`\S`, `(?:...)`, `(?i)` is not used); `(?P<` is rewritten to JavaScript's `(?<`.
 */

export interface LogEntry {
  readonly line: string;
  readonly labels: Readonly<Record<string, string>>;
}

type Stage = (entry: LogEntry) => LogEntry | undefined;

/** A Go/LogQL double-quoted string's value (JSON shares its escapes for the ones we use). */
function unquote(quoted: string): string {
  return JSON.parse(quoted) as string;
}

function re2(source: string): RegExp {
  return new RegExp(source.replace(/\(\?P</g, "(?<"));
}

function patternStage(pattern: string): Stage {
  const parts = pattern.split(/(<[a-zA-Z_][a-zA-Z0-9_]*>)/).filter((part) => part.length > 0);
  return (entry) => {
    const labels: Record<string, string> = {};
    let position = 0;
    for (let index = 0; index < parts.length; index++) {
      const part = parts[index] as string;
      const capture = /^<([a-zA-Z_][a-zA-Z0-9_]*)>$/.exec(part)?.[1];
      if (capture === undefined) {
        if (!entry.line.startsWith(part, position)) return entry;
        position += part.length;
        continue;
      }
      const next = parts[index + 1];
      const end = next === undefined ? entry.line.length : entry.line.indexOf(next, position);
      if (end < 0) return entry;
      if (capture !== "_") labels[capture] = entry.line.slice(position, end);
      position = end;
    }
    return { line: entry.line, labels: { ...entry.labels, ...labels } };
  };
}

const STAGE =
  /^\s*(\|=|!=|\|~|!~|\| pattern|\| regexp|\| ([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|=|!=))\s*("(?:[^"\\]|\\.)*")/;

/** The pipeline of `query` (everything after its stream selector) as stages. */
export function logPipeline(query: string): Stage[] {
  const selectorEnd = query.indexOf("}");
  if (!query.startsWith("{") || selectorEnd < 0) throw new Error(`not a log query: ${query}`);
  let rest = query.slice(selectorEnd + 1);
  const stages: Stage[] = [];
  while (rest.trim().length > 0) {
    const match = STAGE.exec(rest);
    if (!match) throw new Error(`unsupported pipeline stage at: ${rest}`);
    const [whole, operator = "", label, labelOperator, quoted = '""'] = match;
    const value = unquote(quoted);
    if (operator === "|=") stages.push((entry) => (entry.line.includes(value) ? entry : undefined));
    else if (operator === "!=") stages.push((entry) => (entry.line.includes(value) ? undefined : entry));
    else if (operator === "|~") stages.push((entry) => (re2(value).test(entry.line) ? entry : undefined));
    else if (operator === "!~") stages.push((entry) => (re2(value).test(entry.line) ? undefined : entry));
    else if (operator === "| pattern") stages.push(patternStage(value));
    else if (operator === "| regexp") {
      const regex = re2(value);
      stages.push((entry) => {
        const groups = regex.exec(entry.line)?.groups ?? {};
        return { line: entry.line, labels: { ...entry.labels, ...groups } };
      });
    } else if (label !== undefined && labelOperator !== undefined) {
      const anchored = new RegExp(`^(?:${value})$`);
      const test = (actual: string) =>
        labelOperator === "="
          ? actual === value
          : labelOperator === "!="
            ? actual !== value
            : labelOperator === "=~"
              ? anchored.test(actual)
              : !anchored.test(actual);
      stages.push((entry) => (test(entry.labels[label] ?? "") ? entry : undefined));
    }
    rest = rest.slice(whole.length);
  }
  return stages;
}

/** The entries `query`'s pipeline lets through, with the labels its parsers extract. */
export function runLogPipeline(query: string, lines: readonly string[]): LogEntry[] {
  const stages = logPipeline(query);
  const out: LogEntry[] = [];
  for (const line of lines) {
    let entry: LogEntry | undefined = { line, labels: {} };
    for (const stage of stages) {
      if (entry === undefined) break;
      entry = stage(entry);
    }
    if (entry !== undefined) out.push(entry);
  }
  return out;
}
