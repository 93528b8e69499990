/**
 * tsconfig uses moduleResolution "node10", which ignores package.json "exports", so TypeScript
 * cannot see the SDK's subpath entry points (`@grafana/grafana-foundation-sdk/dashboard`, ...).
 * These declarations point the type checker at the same files the exports map gives Node and
 * vitest at run time (dist/<name>/index). Remove this file if tsconfig moves to node16/bundler.
 */
declare module "@grafana/grafana-foundation-sdk/cog" {
  export * from "@grafana/grafana-foundation-sdk/dist/cog";
}
declare module "@grafana/grafana-foundation-sdk/common" {
  export * from "@grafana/grafana-foundation-sdk/dist/common";
}
declare module "@grafana/grafana-foundation-sdk/dashboard" {
  export * from "@grafana/grafana-foundation-sdk/dist/dashboard";
}
declare module "@grafana/grafana-foundation-sdk/logs" {
  export * from "@grafana/grafana-foundation-sdk/dist/logs";
}
declare module "@grafana/grafana-foundation-sdk/loki" {
  export * from "@grafana/grafana-foundation-sdk/dist/loki";
}
declare module "@grafana/grafana-foundation-sdk/prometheus" {
  export * from "@grafana/grafana-foundation-sdk/dist/prometheus";
}
declare module "@grafana/grafana-foundation-sdk/stat" {
  export * from "@grafana/grafana-foundation-sdk/dist/stat";
}
declare module "@grafana/grafana-foundation-sdk/table" {
  export * from "@grafana/grafana-foundation-sdk/dist/table";
}
declare module "@grafana/grafana-foundation-sdk/timeseries" {
  export * from "@grafana/grafana-foundation-sdk/dist/timeseries";
}
declare module "@grafana/grafana-foundation-sdk/text" {
  export * from "@grafana/grafana-foundation-sdk/dist/text";
}
