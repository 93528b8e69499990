/**
 * The settings reader: coerces raw values by the settings table (type, default, bounds) and
 * collects problems instead of throwing at the first one, so one run reports them all.
 */
import {
  type ConfigCommand,
  type ConfigProblem,
  type ConfigWarning,
  fixLine,
  pathRmCommand,
  pathSetCommand,
  qualify,
  setCommand,
  writeValueCommands,
} from "./problems";
import { type DurationSetting, type IntegerSetting, type SettingSpec, settingSpec } from "./settings";
import { closestName, describe, formatDuration, isPlainObject, parsePrometheusDuration } from "./values";

/** A parsed duration: the text as written and its length. */
export interface Duration {
  readonly text: string;
  readonly ms: number;
}

export class SettingsReader {
  readonly problems: ConfigProblem[] = [];
  readonly warnings: ConfigWarning[] = [];

  /**
   * @param values setting values by key: project keys without namespace (`scrapeInterval`),
   *   provider keys with it (`aws:region`). Strings as Pulumi stores them, or parsed values.
   */
  constructor(
    private readonly values: Readonly<Record<string, unknown>>,
    readonly table: readonly SettingSpec[],
  ) {}

  report(setting: string, problem: string, fix: readonly ConfigCommand[]): void {
    this.problems.push({ setting: qualify(setting), problem, fix: fixLine(fix) });
  }

  warn(setting: string, warning: string, fix?: readonly ConfigCommand[]): void {
    this.warnings.push({ setting: qualify(setting), warning, ...(fix ? { fix: fixLine(fix) } : {}) });
  }

  spec(key: string): SettingSpec {
    return settingSpec(this.table, key);
  }

  /** True when the stack sets the key at all, even to an empty value. */
  has(key: string): boolean {
    return Object.hasOwn(this.values, key);
  }

  /** Raw value, with "" and null treated as unset (Pulumi.yaml declares optional strings as ""). */
  raw(key: string): unknown {
    const value = this.values[key];
    return value === "" || value === null ? undefined : value;
  }

  /** A string setting: the trimmed value, else the table's default (undefined when it has none). */
  string(key: string): string | undefined {
    const spec = this.spec(key);
    const value = this.raw(key);
    if (value === undefined) return spec.type === "string" ? spec.default : undefined;
    if (typeof value === "string") return value.trim();
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    this.report(key, `must be a string, got ${describe(value)}`, [setCommand(key, spec.example)]);
    return undefined;
  }

  /** One of the table's choices; a typo gets the closest choice as its fix. */
  choice(key: string): string | undefined {
    const spec = this.spec(key);
    if (spec.type !== "choice") throw new Error(`${key} is not a choice setting`);
    const text = this.string(key) ?? spec.default;
    if (spec.choices.includes(text)) return text;
    const suggestion = closestName(text, spec.choices);
    this.report(
      key,
      `"${text}" is not one of ${spec.choices.join(", ")}${suggestion ? ` (did you mean "${suggestion}"?)` : ""}`,
      [setCommand(key, suggestion ?? spec.default)],
    );
    return undefined;
  }

  integer(key: string): number | undefined {
    const spec = this.spec(key) as IntegerSetting;
    const value = this.raw(key);
    if (value === undefined) return spec.default;
    const parsed = typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
    if (typeof parsed !== "number" || !Number.isInteger(parsed)) {
      this.report(key, `must be a whole number, got ${describe(value)}`, [setCommand(key, spec.example)]);
      return undefined;
    }
    if (parsed < spec.min || parsed > spec.max) {
      const nearest = parsed < spec.min ? spec.min : spec.max;
      this.report(key, `must be from ${spec.min} to ${spec.max}, got ${parsed}`, [
        setCommand(key, String(nearest)),
      ]);
      return undefined;
    }
    return parsed;
  }

  boolean(key: string): boolean | undefined {
    const spec = this.spec(key);
    const fallback = spec.type === "boolean" ? spec.default : false;
    const value = this.raw(key);
    if (value === undefined) return fallback;
    if (typeof value === "boolean") return value;
    if (value === "true" || value === "false") return value === "true";
    this.report(key, `must be true or false, got ${describe(value)}`, [setCommand(key, String(fallback))]);
    return undefined;
  }

  duration(key: string): Duration | undefined {
    const spec = this.spec(key) as DurationSetting;
    const text = this.string(key) ?? spec.default;
    const ms = parsePrometheusDuration(text);
    if (ms === undefined) {
      this.report(
        key,
        `"${text}" is not a Prometheus duration (units y w d h m s ms, largest first, e.g. 30s, 1h30m, 15d)`,
        [setCommand(key, spec.example)],
      );
      return undefined;
    }
    const min = parsePrometheusDuration(spec.min) as number;
    const max = parsePrometheusDuration(spec.max) as number;
    if (ms < min || ms > max) {
      const why = spec.boundsReason ? ` (${spec.boundsReason})` : "";
      this.report(key, `"${text}" is out of range: it must be from ${spec.min} to ${spec.max}${why}`, [
        setCommand(key, formatDuration(ms < min ? min : max)),
      ]);
      return undefined;
    }
    return { text, ms };
  }

  /**
   * A structured value: accepts parsed data or the JSON text Pulumi stores. Undefined when unset
   * or wrong (then reported).
   */
  structured(key: string, expect: "array" | "object"): unknown {
    let value = this.raw(key);
    if (value === undefined) return undefined;
    const example = this.spec(key).example;
    const shape = expect === "array" ? "a list" : "a map";
    const fix = [
      pathRmCommand(key),
      pathSetCommand(expect === "array" ? `${key}[0]` : `${key}.key`, example),
    ];
    if (typeof value === "string") {
      try {
        value = JSON.parse(value);
      } catch {
        this.report(key, `must be ${shape}, got the plain string ${describe(value)}`, fix);
        return undefined;
      }
    }
    if (expect === "array" ? !Array.isArray(value) : !isPlainObject(value)) {
      this.report(key, `must be ${shape}, got ${describe(value)}`, fix);
      return undefined;
    }
    return value;
  }

  /** A list of non-empty strings, trimmed; [] when unset. */
  list(key: string): string[] | undefined {
    const value = this.structured(key, "array");
    if (value === undefined) return this.raw(key) === undefined ? [] : undefined;
    const example = this.spec(key).example;
    const items: string[] = [];
    let ok = true;
    (value as unknown[]).forEach((item, index) => {
      const path = `${key}[${index}]`;
      if ((typeof item === "string" && item.trim() !== "") || typeof item === "number") {
        items.push(String(item).trim());
      } else {
        ok = false;
        this.report(path, `must be a non-empty string, got ${describe(item)}`, [
          pathSetCommand(path, example),
        ]);
      }
    });
    return ok ? items : undefined;
  }

  /**
   * Reports fields of a map entry the reader does not know. A likely typo keeps the value the
   * operator typed under the right name; otherwise the fix removes the field.
   */
  unknownFields(path: string, item: Readonly<Record<string, unknown>>, known: readonly string[]): boolean {
    let ok = true;
    for (const [field, value] of Object.entries(item)) {
      if (known.includes(field)) continue;
      ok = false;
      const suggestion = closestName(field, known);
      const movable = suggestion !== undefined && !Object.hasOwn(item, suggestion);
      const fix: ConfigCommand[] = [pathRmCommand(`${path}.${field}`)];
      if (movable) fix.push(...writeValueCommands(`${path}.${suggestion}`, value));
      this.report(
        `${path}.${field}`,
        `is not a known field${suggestion ? ` (did you mean "${suggestion}"?)` : ""}; known fields: ${known.join(", ")}`,
        fix,
      );
    }
    return ok;
  }
}
