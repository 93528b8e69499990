/**
 * SLOs: per objective, what is left of the error budget over its window, how fast it burns over
 * each alert window (1 = the rate that spends exactly the budget over the window; the page and
 * ticket thresholds drawn), and the error ratio. Reads only the recording rules of
 * configs/rules/slo.ts, which carry the `slo` label alone.
 */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import { BURN_RATE_ALERTS } from "../../lib/burn-rates";
import type { SloSettings } from "../../lib/stack-config";
import { SLO_RECORDS } from "../rules/slo";
import {
  buildDashboard,
  labelVariable,
  PROMETHEUS,
  panel,
  row,
  stat,
  table,
  thresholdSteps,
  timeseries,
} from "./common";

const SLOS_DASHBOARD_UID = "obs-slos";

const SELECTED = '{slo=~"$slo"}';

function burnRate(window: string): string {
  return `${SLO_RECORDS.errorRatio(window)}${SELECTED} / on(slo) ${SLO_RECORDS.errorBudget}${SELECTED}`;
}

export function slosDashboard(_slos: readonly SloSettings[]): Dashboard {
  const burnPanels = BURN_RATE_ALERTS.flatMap((alert) =>
    alert.windows.map(({ factor, long, short }) =>
      panel(
        timeseries(
          `Burn rate over ${long} and ${short} (${alert.kind} above ${factor}x)`,
          PROMETHEUS,
          [
            { expr: burnRate(long), legend: `{{slo}} ${long}` },
            { expr: burnRate(short), legend: `{{slo}} ${short}` },
          ],
          {
            span: 12,
            min: 0,
            thresholdLine: factor,
            description: `The ${alert.kind} alert fires while both lines stay above ${factor} (x the budget rate).`,
          },
        ),
      ),
    ),
  );
  return buildDashboard({
    uid: SLOS_DASHBOARD_UID,
    title: "SLOs",
    description:
      "Service level objectives: remaining error budget, burn rates over the alert windows and error ratios.",
    variables: [labelVariable("slo", "slo", "SLO", SLO_RECORDS.objective)],
    sections: [
      row("Error budget"),
      panel(
        stat(
          "Error budget remaining",
          [{ expr: `${SLO_RECORDS.budgetRemaining}${SELECTED}`, legend: "{{slo}}" }],
          {
            span: 12,
            unit: "percentunit",
            thresholds: thresholdSteps([
              { value: null, color: "red" },
              { value: 0, color: "orange" },
              { value: 0.25, color: "green" },
            ]),
            description: "Share of the window's error budget not yet spent; below 0: the SLO is missed.",
          },
        ),
      ),
      panel(
        table(
          "Objectives",
          PROMETHEUS,
          [
            {
              expr: `${SLO_RECORDS.objective}${SELECTED}`,
              legend: "Objective",
              instant: true,
              unit: "percentunit",
            },
            {
              expr: `1 - ${SLO_RECORDS.windowErrorRatio}${SELECTED}`,
              legend: "Over the window",
              instant: true,
              unit: "percentunit",
            },
            {
              expr: `1 - ${SLO_RECORDS.errorRatio("1d")}${SELECTED}`,
              legend: "Last day",
              instant: true,
              unit: "percentunit",
            },
          ],
          { span: 12, merge: true, hiddenColumns: ["__name__"] },
        ),
      ),
      row("Burn rates"),
      ...burnPanels,
      row("Error ratio"),
      panel(
        timeseries(
          "Error ratio (5m)",
          PROMETHEUS,
          [{ expr: `${SLO_RECORDS.errorRatio("5m")}${SELECTED}`, legend: "{{slo}}" }],
          { unit: "percentunit", min: 0, description: "Failed events as a share of all events." },
        ),
      ),
    ],
  });
}
