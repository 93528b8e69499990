/**
 * Notification templates Alertmanager loads through `templates:` (Go text/html templates, not
 * YAML, so they live here as text). One file holds the email subject and bodies, the Slack title
 * and text, and the PagerDuty description, so every channel words an alert the same way.
 *
 * The Grafana root URL is only known per stack (often only after deploy), and Go templates take
 * no parameters from alertmanager.yml, so it is baked into its own `define` at the top of the file.
 */

import { GRAFANA_DATASOURCE_UIDS, GRAFANA_ROOT_URL_PLACEHOLDER } from "./grafana";

/** File name under the templates directory; alertmanager.yml loads `<templatesDir>/*.tmpl`. */
export const ALERTMANAGER_TEMPLATE_FILE = "notifications.tmpl";

/** Names of the templates alertmanager.yml refers to. */
export const TEMPLATE_NAMES = {
  emailSubject: "observability.email.subject",
  emailHtml: "observability.email.html",
  emailText: "observability.email.text",
  slackTitle: "observability.slack.title",
  slackText: "observability.slack.text",
  pagerdutyDescription: "observability.pagerduty.description",
  grafanaUrl: "observability.grafana.url",
  /** Grafana's alerting view of the stack's Alertmanager (groups and silences). */
  alertmanagerUrl: "observability.alertmanager.url",
  pagerdutyFiring: "observability.pagerduty.firing",
  pagerdutyResolved: "observability.pagerduty.resolved",
} as const;

/** `{{ template "name" . }}`: how alertmanager.yml fields call a template from this file. */
export function callTemplate(name: string): string {
  return `{{ template "${name}" . }}`;
}

/** Where the links in a notification go: every one of them is built from the Grafana URL. */
interface NotificationLinks {
  /** Grafana's root URL as configured (or the placeholder when only known after deploy). */
  readonly grafanaUrl: string;
}

/** The Grafana URL without its trailing slash, for appending paths. */
function grafanaBase(grafanaUrl: string): string {
  return grafanaUrl.replace(/\/+$/, "");
}

/**
 * Grafana's alerting view of the stack's Alertmanager (its data source): alert groups, and the
 * silence editor. Alertmanager's own UI is on the monitor's loopback only, so links go here.
 */
export function grafanaAlertGroupsUrl(grafanaUrl: string): string {
  return `${grafanaBase(grafanaUrl)}/alerting/groups?alertmanager=${GRAFANA_DATASOURCE_UIDS.alertmanager}`;
}

const EXPRESSION_MARKER = "OBSERVABILITY_EXPRESSION";

/**
 * Grafana Explore for one Prometheus expression, as the two percent-encoded halves around the
 * expression: `panes` is JSON, URL-encoded, with the expression as a JSON string inside.
 */
function exploreUrlParts(grafanaUrl: string): { readonly prefix: string; readonly suffix: string } {
  const panes = JSON.stringify({
    a: {
      datasource: GRAFANA_DATASOURCE_UIDS.prometheus,
      queries: [
        {
          refId: "A",
          expr: EXPRESSION_MARKER,
          datasource: { type: "prometheus", uid: GRAFANA_DATASOURCE_UIDS.prometheus },
        },
      ],
      range: { from: "now-1h", to: "now" },
    },
  });
  const [before, after] = encodeURIComponent(panes).split(EXPRESSION_MARKER) as [string, string];
  return {
    prefix: `${grafanaBase(grafanaUrl)}/explore?schemaVersion=1&orgId=1&panes=${before}`,
    suffix: after,
  };
}

/**
 * A Go template expression (for `{{ ... }}`, the alert as dot) giving the Grafana Explore URL of
 * the alert's expression. Prometheus puts the expression in the alert's GeneratorURL already
 * query-escaped (`...?g0.expr=<escaped>&...`); inside the JSON of `panes` it must also be a JSON
 * string, so backslashes, quotes and control characters get their JSON escapes, written in their
 * percent-encoded form. Built as one `printf` value: html/template then treats the whole link as
 * one URL and keeps its percent escapes (text after a literal `?` would be escaped once more).
 */
function exploreUrlExpression(grafanaUrl: string): string {
  const { prefix, suffix } = exploreUrlParts(grafanaUrl);
  let expression = 'reReplaceAll "^.*[?&]g0[.]expr=([^&]*).*$" "$1" .GeneratorURL';
  for (const [from, to] of [
    ["%5C", "%5C%5C"],
    ["%22", "%5C%22"],
    ["%0A", "%5Cn"],
    ["%0D", "%5Cr"],
    ["%09", "%5Ct"],
  ]) {
    expression = `reReplaceAll "${from}" "${to}" (${expression})`;
  }
  return `printf "%s%s%s" "${prefix}" (${expression}) "${suffix}"`;
}

/**
 * A Go template expression (alert as dot) for Grafana's silence editor, prefilled with the
 * alert's name and, when it has one, its instance.
 */
function silenceUrlExpression(grafanaUrl: string): string {
  const base = `${grafanaBase(grafanaUrl).replaceAll("%", "%%")}/alerting/silence/new?alertmanager=${GRAFANA_DATASOURCE_UIDS.alertmanager}&matcher=alertname%%3D%s`;
  return `if .Labels.instance }}{{ printf "${base}&matcher=instance%%3D%s" (urlquery .Labels.alertname) (urlquery .Labels.instance) }}{{ else }}{{ printf "${base}" (urlquery .Labels.alertname) }}{{ end`;
}

/**
 * Everything but the links' base. Subjects start with `[FIRING:n]` or `[RESOLVED]` so both
 * mails sort and filter plainly; bodies list firing and resolved alerts apart, each with its
 * summary, description, labels, runbook, Grafana Explore (its expression) and silence links.
 * Slack text is mrkdwn: every value from labels and annotations is escaped (&, <, >), so a label
 * cannot ping a channel or forge a link.
 */
function notificationTemplates(links: NotificationLinks): string {
  const explore = exploreUrlExpression(links.grafanaUrl);
  const silence = silenceUrlExpression(links.grafanaUrl);
  const alertGroups = grafanaAlertGroupsUrl(links.grafanaUrl);
  return `{{/* Subject: [FIRING:2] HostUnreachable [prod] or [RESOLVED] HostUnreachable [prod] */}}
{{ define "${TEMPLATE_NAMES.emailSubject}" -}}
[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ with .GroupLabels.alertname }}{{ . }}{{ else }}{{ .CommonLabels.alertname }}{{ end }}{{ with .CommonLabels.environment }} [{{ . }}]{{ end }}
{{- end }}

{{ define "${TEMPLATE_NAMES.alertmanagerUrl}" }}${alertGroups}{{ end }}

{{ define "observability.alert.text" -}}
{{ with .Annotations.summary }}{{ . }}{{ else }}{{ .Labels.alertname }}{{ end }}
{{- with .Annotations.description }}
  {{ . }}{{ end }}
  Started: {{ .StartsAt.Format "2006-01-02 15:04:05 MST" }}
{{- if eq .Status "resolved" }}
  Resolved: {{ .EndsAt.Format "2006-01-02 15:04:05 MST" }}{{ end }}
  Labels:{{ range .Labels.SortedPairs }} {{ .Name }}={{ .Value }}{{ end }}
{{- with .Annotations.runbook_url }}
  Runbook: {{ . }}{{ end }}
{{- if match "[?&]g0[.]expr=" .GeneratorURL }}
  Query: {{ ${explore} }}{{ end }}
  Silence: {{ ${silence} }}
{{ end }}

{{ define "${TEMPLATE_NAMES.emailText}" -}}
{{ template "${TEMPLATE_NAMES.emailSubject}" . }}
{{ if gt (len .Alerts.Firing) 0 }}
FIRING ({{ .Alerts.Firing | len }})
{{ range .Alerts.Firing }}
- {{ template "observability.alert.text" . }}{{ end }}{{ end }}
{{- if gt (len .Alerts.Resolved) 0 }}
RESOLVED ({{ .Alerts.Resolved | len }})
{{ range .Alerts.Resolved }}
- {{ template "observability.alert.text" . }}{{ end }}{{ end }}
Grafana: {{ template "${TEMPLATE_NAMES.grafanaUrl}" . }}
Alerts and silences: {{ template "${TEMPLATE_NAMES.alertmanagerUrl}" . }}
{{- end }}

{{ define "observability.alert.html" -}}
<tr><td style="padding:8px 0;border-top:1px solid #ddd">
<strong>{{ with .Annotations.summary }}{{ . }}{{ else }}{{ .Labels.alertname }}{{ end }}</strong><br>
{{ with .Annotations.description }}{{ . }}<br>{{ end }}
<small>Started {{ .StartsAt.Format "2006-01-02 15:04:05 MST" }}{{ if eq .Status "resolved" }}, resolved {{ .EndsAt.Format "2006-01-02 15:04:05 MST" }}{{ end }}</small><br>
<small>{{ range .Labels.SortedPairs }}<code>{{ .Name }}={{ .Value }}</code> {{ end }}</small><br>
{{ with .Annotations.runbook_url }}<a href="{{ . }}">Runbook</a> · {{ end }}{{ if match "[?&]g0[.]expr=" .GeneratorURL }}<a href="{{ ${explore} }}">Query in Grafana</a> · {{ end }}<a href="{{ ${silence} }}">Silence</a>
</td></tr>
{{- end }}

{{ define "${TEMPLATE_NAMES.emailHtml}" -}}
<!DOCTYPE html>
<html><body style="font-family:sans-serif;font-size:14px">
<h2 style="color:{{ if eq .Status "firing" }}#b00020{{ else }}#1b7f3b{{ end }}">{{ template "${TEMPLATE_NAMES.emailSubject}" . }}</h2>
{{ if gt (len .Alerts.Firing) 0 -}}
<h3>FIRING ({{ .Alerts.Firing | len }})</h3>
<table>{{ range .Alerts.Firing }}{{ template "observability.alert.html" . }}{{ end }}</table>
{{- end }}
{{ if gt (len .Alerts.Resolved) 0 -}}
<h3>RESOLVED ({{ .Alerts.Resolved | len }})</h3>
<table>{{ range .Alerts.Resolved }}{{ template "observability.alert.html" . }}{{ end }}</table>
{{- end }}
<p><a href="{{ template "${TEMPLATE_NAMES.grafanaUrl}" . }}">Open Grafana</a> · <a href="{{ template "${TEMPLATE_NAMES.alertmanagerUrl}" . }}">Alerts and silences</a></p>
</body></html>
{{- end }}

{{/* Slack mrkdwn: & < > escaped in every value that comes from labels or annotations. */}}
{{ define "observability.slack.escape" }}{{ . | reReplaceAll "&" "&amp;" | reReplaceAll "<" "&lt;" | reReplaceAll ">" "&gt;" }}{{ end }}

{{/* The title holds only the alert name and the stack name (both checked identifiers). */}}
{{ define "${TEMPLATE_NAMES.slackTitle}" }}{{ template "${TEMPLATE_NAMES.emailSubject}" . }}{{ end }}

{{ define "${TEMPLATE_NAMES.slackText}" -}}
{{ range .Alerts }}*{{ .Status | toUpper }}* {{ with .Annotations.summary }}{{ template "observability.slack.escape" . }}{{ else }}{{ template "observability.slack.escape" .Labels.alertname }}{{ end }}{{ with .Labels.instance }} on {{ template "observability.slack.escape" . }}{{ end }}
{{ with .Annotations.description }}{{ template "observability.slack.escape" . }}
{{ end }}{{ with .Annotations.runbook_url }}<{{ . }}|Runbook> {{ end }}{{ if match "[?&]g0[.]expr=" .GeneratorURL }}<{{ ${explore} }}|Query> {{ end }}<{{ ${silence} }}|Silence>
{{ end }}<{{ template "${TEMPLATE_NAMES.grafanaUrl}" . }}|Grafana> · <{{ template "${TEMPLATE_NAMES.alertmanagerUrl}" . }}|Alerts and silences>
{{- end }}

{{ define "${TEMPLATE_NAMES.pagerdutyDescription}" }}{{ template "${TEMPLATE_NAMES.emailSubject}" . }}{{ end }}

{{ define "${TEMPLATE_NAMES.pagerdutyFiring}" }}{{ range .Alerts.Firing }}{{ template "observability.alert.text" . }}{{ end }}{{ end }}
{{ define "${TEMPLATE_NAMES.pagerdutyResolved}" }}{{ range .Alerts.Resolved }}{{ template "observability.alert.text" . }}{{ end }}{{ end }}
`;
}

/** Grafana URLs reach Go template text verbatim: allow only plain http(s) URLs. */
function checkedGrafanaUrl(grafanaUrl: string): string {
  let parsed: URL;
  try {
    parsed = new URL(grafanaUrl);
  } catch {
    throw new Error(
      `Grafana URL ${JSON.stringify(grafanaUrl)} is not a URL (expected e.g. https://grafana.example.com)`,
    );
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new Error(`Grafana URL ${JSON.stringify(grafanaUrl)} must start with http:// or https://`);
  }
  if (/[\s{}<>"'`]/.test(grafanaUrl)) {
    throw new Error(`Grafana URL ${JSON.stringify(grafanaUrl)} contains characters not allowed in a link`);
  }
  return grafanaUrl;
}

/** The template file's content: the Grafana URL define, then the fixed templates. */
export function renderNotificationTemplates(options: { grafanaUrl?: string } = {}): string {
  const grafanaUrl =
    options.grafanaUrl === undefined ? GRAFANA_ROOT_URL_PLACEHOLDER : checkedGrafanaUrl(options.grafanaUrl);
  return `{{ define "${TEMPLATE_NAMES.grafanaUrl}" }}${grafanaUrl}{{ end }}\n\n${notificationTemplates({ grafanaUrl })}`;
}
