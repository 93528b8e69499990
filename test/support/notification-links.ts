/**
 * The links a notification carries, as a person's mail client or Slack would follow them: for
 * HTML, every `href` with its character references decoded; for text, every http(s) URL up to
 * whitespace; for Slack mrkdwn, the target of every `<url|label>` plus any bare URL.
 */

function decodeHtmlAttribute(value: string): string {
  return value
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)))
    .replace(/&#x([0-9a-f]+);/gi, (_, code: string) => String.fromCodePoint(Number.parseInt(code, 16)))
    .replaceAll("&quot;", '"')
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&");
}

export function htmlLinks(html: string): string[] {
  const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((match) => decodeHtmlAttribute(match[1] as string));
  // Any URL written as text outside an href counts too.
  const text = html.replace(/href="[^"]*"/g, "");
  return [...hrefs, ...textLinks(text)];
}

export function textLinks(text: string): string[] {
  return [...text.matchAll(/https?:\/\/[^\s"<>|]+/g)].map((match) => match[0]);
}

/** Slack mrkdwn: `<url|label>` targets, and URLs anywhere else in the text. */
export function slackLinks(text: string): string[] {
  const targets = [...text.matchAll(/<([^|>]+)\|[^>]*>/g)].map((match) => match[1] as string);
  return [...targets, ...textLinks(text.replace(/<[^|>]+\|[^>]*>/g, ""))];
}

/** The Prometheus expression and data source uid a Grafana Explore link opens. */
export function exploreQuery(link: string): { expr?: string; datasource?: string } {
  const panes = JSON.parse(new URL(link).searchParams.get("panes") ?? "{}") as Record<
    string,
    { queries?: { expr?: string; datasource?: { uid?: string } }[] }
  >;
  const query = Object.values(panes)[0]?.queries?.[0];
  return { expr: query?.expr, datasource: query?.datasource?.uid };
}
