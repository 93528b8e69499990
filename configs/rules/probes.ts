/**
 * Alerts on the uptime probes the blackbox exporter runs (configs/blackbox.ts): a probe failing,
 * and an https probe's certificate expiring soon.
 */

/** 1 when the last probe succeeded, 0 when not (blackbox exporter). */
export const PROBE_SUCCESS_METRIC = "probe_success";
