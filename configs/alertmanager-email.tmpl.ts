/**
 * Notification templates Alertmanager loads through `templates:` (Go text/html templates, not
 * YAML, so they live here as text). One file holds the email subject and bodies, the Slack title
 * and text, and the PagerDuty description, so every channel words an alert the same way.
 *
 * The Grafana root URL is only known per stack (often only after deploy), and Go templates take
 * no parameters from alertmanager.yml, so it is baked into its own `define` at the top of the file.
 */

import { GRAFANA_ROOT_URL_PLACEHOLDER } from "./grafana";

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
} as const;

/**
 * Stands in for the Grafana URL when it is known only after deploy (render output, reviews): the
 * same placeholder Grafana's own config shows, so reviewers find both with one search.
 */
export const GRAFANA_URL_PLACEHOLDER = GRAFANA_ROOT_URL_PLACEHOLDER;

/** `{{ template "name" . }}`: how alertmanager.yml fields call a template from this file. */
export function callTemplate(name: string): string {
  return `{{ template "${name}" . }}`;
}

/**
 * Everything except the Grafana URL. Subjects start with `[FIRING:n]` or `[RESOLVED]` so both
 * mails sort and filter plainly; bodies list firing and resolved alerts apart, each with its
 * summary, description, labels, runbook and source links.
 */
const NOTIFICATION_TEMPLATES = `{{/* Subject: [FIRING:2] HostUnreachable [prod] or [RESOLVED] HostUnreachable [prod] */}}
{{ define "${TEMPLATE_NAMES.emailSubject}" -}}
[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ with .GroupLabels.alertname }}{{ . }}{{ else }}{{ .CommonLabels.alertname }}{{ end }}{{ with .CommonLabels.environment }} [{{ . }}]{{ end }}
{{- end }}

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
{{- with .GeneratorURL }}
  Source: {{ . }}{{ end }}
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
Alertmanager: {{ .ExternalURL }}
{{- end }}

{{ define "observability.alert.html" -}}
<tr><td style="padding:8px 0;border-top:1px solid #ddd">
<strong>{{ with .Annotations.summary }}{{ . }}{{ else }}{{ .Labels.alertname }}{{ end }}</strong><br>
{{ with .Annotations.description }}{{ . }}<br>{{ end }}
<small>Started {{ .StartsAt.Format "2006-01-02 15:04:05 MST" }}{{ if eq .Status "resolved" }}, resolved {{ .EndsAt.Format "2006-01-02 15:04:05 MST" }}{{ end }}</small><br>
<small>{{ range .Labels.SortedPairs }}<code>{{ .Name }}={{ .Value }}</code> {{ end }}</small><br>
{{ with .Annotations.runbook_url }}<a href="{{ . }}">Runbook</a> · {{ end }}{{ with .GeneratorURL }}<a href="{{ . }}">Source</a>{{ end }}
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
<p><a href="{{ template "${TEMPLATE_NAMES.grafanaUrl}" . }}">Open Grafana</a> · <a href="{{ .ExternalURL }}">Open Alertmanager</a></p>
</body></html>
{{- end }}

{{ define "${TEMPLATE_NAMES.slackTitle}" }}{{ template "${TEMPLATE_NAMES.emailSubject}" . }}{{ end }}

{{ define "${TEMPLATE_NAMES.slackText}" -}}
{{ range .Alerts }}*{{ .Status | toUpper }}* {{ with .Annotations.summary }}{{ . }}{{ else }}{{ .Labels.alertname }}{{ end }}{{ with .Labels.instance }} on {{ . }}{{ end }}
{{ with .Annotations.description }}{{ . }}
{{ end }}{{ with .Annotations.runbook_url }}<{{ . }}|Runbook>
{{ end }}{{ end }}<{{ template "${TEMPLATE_NAMES.grafanaUrl}" . }}|Grafana>
{{- end }}

{{ define "${TEMPLATE_NAMES.pagerdutyDescription}" }}{{ template "${TEMPLATE_NAMES.emailSubject}" . }}{{ end }}
`;

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
    options.grafanaUrl === undefined ? GRAFANA_URL_PLACEHOLDER : checkedGrafanaUrl(options.grafanaUrl);
  return `{{ define "${TEMPLATE_NAMES.grafanaUrl}" }}${grafanaUrl}{{ end }}\n\n${NOTIFICATION_TEMPLATES}`;
}
